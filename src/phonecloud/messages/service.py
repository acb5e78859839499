"""Reading a user's messages: conversations, a conversation's messages, attachments, calls, search, the
imports, and the exports in either app's format. Every object is looked up with its owner; another
user's id is answered exactly as an id that never existed. Plain Python, no HTTP."""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import json
import logging
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import partial
from typing import Any

from sqlalchemy.orm import Session

from phonecloud.accounts.quota import QuotaLedger
from phonecloud.accounts.service import Principal
from phonecloud.core.blobstore import BlobNotFound, BlobStore
from phonecloud.core.db import Database
from phonecloud.core.errors import BadRequest, Conflict, Gone, NotFound
from phonecloud.messages import repository
from phonecloud.messages.exporter import FILES, Exporter, ExportedFile
from phonecloud.messages.models import (QUEUED, RUNNING, Attachment, Conversation, MessageImport, MessagePart,
                                        StoredMessage)
from phonecloud.messages.streams import piped

log = logging.getLogger("phonecloud.messages")
MAX_PAGE = 1000
_READ_CHUNK = 1 << 20


@dataclass(frozen=True)
class Page:
    items: list
    next_cursor: str | None


@dataclass(frozen=True)
class Thread:
    """Messages with their parts (and each part's attachment, or None), in the order asked for."""

    messages: list[StoredMessage]
    parts: dict[int, list[tuple[MessagePart, Attachment | None]]]
    titles: dict[uuid.UUID, str]  # conversation id -> title, for search results
    next_cursor: str | None


@dataclass(frozen=True)
class Download:
    filename: str
    media_type: str
    chunks: Iterator[bytes]


# -- cursors: the last item's position, passed back unchanged ----------------------------------------------

def encode_cursor(*values: Any) -> str:
    text = json.dumps([value.isoformat() if isinstance(value, dt.datetime) else str(value) for value in values])
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def decode_cursor(cursor: str | None, *types: Callable[[str], Any]) -> tuple | None:
    if not cursor:
        return None
    try:
        values = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        if not isinstance(values, list) or len(values) != len(types):
            raise ValueError("not a cursor")
        return tuple(kind(value) for kind, value in zip(types, values))
    except (ValueError, TypeError, UnicodeDecodeError, binascii.Error):
        raise BadRequest("invalid cursor: pass back the next_cursor of a previous page unchanged") from None


def _ms(text: str) -> int:
    value = int(text)
    if not -(1 << 63) <= value < 1 << 63:
        raise ValueError("out of range")
    return value


def _moment(text: str) -> dt.datetime:
    moment = dt.datetime.fromisoformat(text)
    if moment.tzinfo is None:
        raise ValueError("no time zone")
    return moment


def missing(attachment: Attachment) -> Gone:
    """The error for an attachment whose row is there but whose bytes are not (logged: the admin's to mend)."""
    log.error("attachment %s (%s) is missing from storage", attachment.id, attachment.blob_key)
    return Gone("the bytes of this attachment are missing from the server's storage; tell the server's "
                "administrator")


def _page_limit(limit: int) -> None:
    if not 1 <= limit <= MAX_PAGE:
        raise BadRequest(f"limit must be between 1 and {MAX_PAGE}")


class MessagesService:
    def __init__(self, db: Database, blobs: BlobStore, quota: QuotaLedger):
        self.db = db
        self.blobs = blobs
        self.quota = quota
        self.exporter = Exporter(db, blobs)

    # -- conversations and their messages ------------------------------------------------------------------

    def _page(self, query, cursor: str | None, limit: int, kinds: tuple, position: Callable[[Any], tuple]) -> Page:
        """A page of query(after, limit + 1) (after: the cursor decoded into kinds), and the cursor after it:
        the position of its last row."""
        _page_limit(limit)
        after = decode_cursor(cursor, *kinds)
        with self.db.read() as session:
            rows = list(session.scalars(query(after, limit + 1)))
        more, rows = len(rows) > limit, rows[:limit]
        return Page(rows, encode_cursor(*position(rows[-1])) if more else None)

    def conversations(self, principal: Principal, cursor: str | None, limit: int) -> Page:
        """Newest first, by their last message."""
        return self._page(partial(repository.conversations_page, principal.user_id), cursor, limit, (_ms, uuid.UUID),
                          lambda row: (row.last_message_ms, row.id))

    def conversation(self, principal: Principal, conversation_id: uuid.UUID) -> Conversation:
        with self.db.read() as session:
            return self._owned_conversation(session, principal, conversation_id)

    @staticmethod
    def _owned_conversation(session: Session, principal: Principal, conversation_id: uuid.UUID) -> Conversation:
        found = repository.owned(session, Conversation, principal.user_id, conversation_id)
        if found is None:
            raise NotFound(f"no conversation {conversation_id}")
        return found

    def thread(self, principal: Principal, conversation_id: uuid.UUID, cursor: str | None, limit: int) -> Thread:
        """A conversation's messages, newest first."""
        _page_limit(limit)
        after = decode_cursor(cursor, _ms, int)
        with self.db.read() as session:
            conversation = self._owned_conversation(session, principal, conversation_id)
            rows = list(session.scalars(repository.thread_page(conversation.id, after, limit + 1)))
            return self._thread(session, rows, limit, {conversation.id: conversation.title})

    def search(self, principal: Principal, query: str, cursor: str | None, limit: int) -> Thread:
        """The messages holding every word of the query (a word also matches the start of a longer one),
        newest first, through the database's own full-text index."""
        _page_limit(limit)
        words = repository.search_words(query)
        if not words:
            raise BadRequest("q has no word to search for: give letters or digits", field="q")
        after = decode_cursor(cursor, _ms, int)
        with self.db.read() as session:
            rows = list(session.scalars(repository.search_page(session, principal.user_id, words, after, limit + 1)))
            return self._thread(session, rows, limit, None)

    @staticmethod
    def _thread(session: Session, rows: list[StoredMessage], limit: int,
                titles: dict[uuid.UUID, str] | None) -> Thread:
        more, rows = len(rows) > limit, rows[:limit]
        parts = repository.parts_of(session, [row.id for row in rows])
        if titles is None:
            titles = repository.titles(session, [row.conversation_id for row in rows])
        return Thread(rows, parts, titles, encode_cursor(rows[-1].date_ms, rows[-1].id) if more else None)

    # -- attachments -------------------------------------------------------------------------------------

    def part(self, principal: Principal, part_id: uuid.UUID) -> tuple[MessagePart, Attachment]:
        """An MMS part that has bytes, the caller's."""
        with self.db.read() as session:
            found = repository.owned_part(session, principal.user_id, part_id)
        if found is None:
            raise NotFound(f"no message part {part_id}")
        part, attachment = found
        if attachment is None:
            raise NotFound(f"message part {part_id} has no data (its text is in the message)")
        return part, attachment

    def read_attachment(self, attachment: Attachment, start: int, end: int) -> Iterator[bytes]:
        try:
            return self.blobs.get(attachment.blob_key, start, end, chunk_size=_READ_CHUNK)
        except BlobNotFound:
            raise missing(attachment) from None

    # -- calls -------------------------------------------------------------------------------------------

    def calls(self, principal: Principal, cursor: str | None, limit: int) -> Page:
        """The call log, newest first."""
        return self._page(partial(repository.calls_page, principal.user_id), cursor, limit, (_ms, int),
                          lambda row: (row.date_ms, row.id))

    # -- imports -----------------------------------------------------------------------------------------

    def imports(self, principal: Principal, cursor: str | None, limit: int) -> Page:
        """The caller's imports, newest first."""
        return self._page(partial(repository.imports_page, principal.user_id), cursor, limit, (_moment, uuid.UUID),
                          lambda row: (row.created_at, row.id))

    def get_import(self, principal: Principal, import_id: uuid.UUID) -> MessageImport:
        with self.db.read() as session:
            found = repository.owned(session, MessageImport, principal.user_id, import_id)
        if found is None:
            raise NotFound(f"no import {import_id}")
        return found

    def delete_import(self, principal: Principal, import_id: uuid.UUID) -> None:
        """Forget an import, and the uploaded file a failed one kept (its bytes leave the quota). What it
        imported stays. One still being read cannot be deleted."""
        with self.db.write() as session:
            found = repository.owned(session, MessageImport, principal.user_id, import_id)
            if found is None:
                raise NotFound(f"no import {import_id}")
            if found.state in (QUEUED, RUNNING):
                raise Conflict(f"import {import_id} is still {found.state}; wait for its result", state=found.state)
            key = found.blob_key
            if key is not None:
                self.quota.release(session, found.owner_id, found.size_bytes)
            session.delete(found)
        if key is not None:
            self.blobs.delete(key)

    # -- exports -----------------------------------------------------------------------------------------

    def export(self, principal: Principal, app: str, holds: str) -> Download:
        """One file of the caller's messages or calls in an app's format, written as it is sent."""
        file: ExportedFile = FILES[(app, holds)]
        with self.db.read() as session:
            named = self.exporter.snapshot(session, principal.user_id)

        return Download(file.filename(named), file.media_type,
                        piped(lambda out: self.write_export(principal.user_id, app, holds, out)))

    def write_export(self, owner_id: int, app: str, holds: str, out) -> None:
        """The owner's messages or calls in an app's format, written to out (in the writer's thread, reading
        one consistent snapshot for as long as it writes)."""
        with self.exporter.consistent_read() as reading:
            self.exporter.write(reading, self.exporter.snapshot(reading, owner_id), FILES[(app, holds)], out)
