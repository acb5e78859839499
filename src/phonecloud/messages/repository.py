"""Queries of the messages tables; every one is scoped to an owner, except those that work across owners by
purpose (usage per owner, scrub, recovery), which say so."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterable, Sequence

from sqlalchemy import Integer, Select, bindparam, column, delete, func, select, text, tuple_, update
from sqlalchemy.orm import Session

from phonecloud.accounts.models import User
from phonecloud.core.db import dialect_insert, one_of
from phonecloud.core.kinds import BlobCheck, ScrubItem
from phonecloud.messages.models import (QUEUED, RUNNING, Attachment, Conversation, MessageImport, MessagePart,
                                        OwnAddress, StoredCall, StoredMessage)

_WORD = re.compile(r"\w+")
MAX_SEARCH_WORDS = 16


def _dialect(session: Session) -> str:
    return session.get_bind().dialect.name


# -- storing an import's records ----------------------------------------------------------------------------

def known_identities(session: Session, table, owner_id: int, identities: Sequence[str]) -> set[str]:
    """Of these identities, those the owner already has (messages or calls: `table`)."""
    if not identities:
        return set()
    wanted = one_of(_dialect(session), table.identity, list(identities))
    return set(session.scalars(select(table.identity).where(table.owner_id == owner_id, wanted)))


def insert_new(session: Session, table, rows: list[dict], key: Sequence[str], returning) -> list[tuple]:
    """INSERT the rows; those whose unique `key` is taken already are left out. Returns `returning` of the
    rows inserted. One statement for all rows (executemany: compiled once, sent in large batches)."""
    if not rows:
        return []
    statement = (dialect_insert(_dialect(session), table.__table__)
                 .on_conflict_do_nothing(index_elements=list(key)).returning(*returning))
    return [tuple(row) for row in session.connection().execute(statement, rows)]


def last_message_id(session: Session) -> int | None:
    """On SQLite, the highest message id so far: the rows a write transaction inserts after it are its own, as
    SQLite has one writer at a time and gives new rows higher ids. None on PostgreSQL, whose search index is
    a generated column that needs no step of its own."""
    if _dialect(session) != "sqlite":
        return None
    return session.scalar(select(func.max(StoredMessage.id))) or 0


def index_new_messages(session: Session, after: int | None) -> None:
    """On SQLite, add the messages after `after` (last_message_id) to the search index, in one statement:
    an FTS5 insert per row, from a trigger, would write the index out once per message (migration m0002)."""
    if after is not None:
        session.connection().exec_driver_sql(
            "INSERT INTO message_search(rowid, search_text) SELECT id, search_text FROM messages WHERE id > ?",
            (after,))


def stored_by_import(session: Session, table, owner_id: int, import_id: uuid.UUID,
                     identities: Sequence[str]) -> dict[str, int]:
    """identity -> row id, of these identities' rows (messages or calls: `table`) that this import stored."""
    if not identities:
        return {}
    rows = session.execute(select(table.identity, table.id).where(
        table.owner_id == owner_id, table.import_id == import_id,
        one_of(_dialect(session), table.identity, list(identities))))
    return {identity: row_id for identity, row_id in rows}


def own_addresses(session: Session, owner_id: int) -> set[str]:
    return set(session.scalars(select(OwnAddress.address).where(OwnAddress.owner_id == owner_id)))


def add_own_addresses(session: Session, owner_id: int, addresses: Iterable[str]) -> None:
    insert_new(session, OwnAddress, [{"owner_id": owner_id, "address": address} for address in addresses],
               ("owner_id", "address"), (OwnAddress.address,))


def conversations_by_key(session: Session, owner_id: int, keys: Sequence[str]) -> dict[str, tuple[uuid.UUID, str]]:
    """participants key -> (conversation id, its participants JSON), of these keys' conversations that exist."""
    if not keys:
        return {}
    rows = session.execute(select(Conversation.participants_key, Conversation.id, Conversation.participants).where(
        Conversation.owner_id == owner_id, Conversation.participants_key.in_(list(keys))))
    return {key: (conversation_id, participants) for key, conversation_id, participants in rows}


def rename_conversations(session: Session, changes: list[tuple[uuid.UUID, str, str]]) -> None:
    """For each (conversation id, participants JSON, title): the conversation's people as now known."""
    if changes:
        table = Conversation.__table__
        session.connection().execute(
            update(table).where(table.c.id == bindparam("conversation"))
            .values(participants=bindparam("people"), title=bindparam("named")),
            [{"conversation": conversation, "people": people, "named": named}
             for conversation, people, named in changes])


def note_newest(session: Session, changes: list[tuple[uuid.UUID, int, int, str]]) -> None:
    """For each (conversation id, messages added, newest time, its snippet): count the messages in, and make
    the newest the conversation's last message when it is newer than the one it has (conditional, so that
    two imports at once keep the newest). Two statements, whatever the number of conversations."""
    if not changes:
        return
    table = Conversation.__table__
    connection = session.connection()
    connection.execute(update(table).where(table.c.id == bindparam("conversation"))
                       .values(message_count=table.c.message_count + bindparam("added")),
                       [{"conversation": conversation, "added": added} for conversation, added, _, _ in changes])
    connection.execute(update(table).where(table.c.id == bindparam("conversation"),
                                           table.c.last_message_ms <= bindparam("newest"))
                       .values(last_message_ms=bindparam("newest"), snippet=bindparam("text")),
                       [{"conversation": conversation, "newest": newest, "text": text}
                        for conversation, _, newest, text in changes])


def attachment_ids(session: Session, owner_id: int, sha256s: Iterable[str]) -> dict[str, uuid.UUID]:
    """SHA-256 -> attachment id, of the owner's attachments with these contents."""
    wanted = list(set(sha256s))
    if not wanted:
        return {}
    rows = session.execute(select(Attachment.sha256, Attachment.id).where(
        Attachment.owner_id == owner_id, one_of(_dialect(session), Attachment.sha256, wanted)))
    return {sha256: attachment_id for sha256, attachment_id in rows}


# -- reading ------------------------------------------------------------------------------------------------

def owned(session: Session, model, owner_id: int, object_id) -> object | None:
    return session.scalar(select(model).where(model.id == object_id, model.owner_id == owner_id))


def conversations_page(owner_id: int, after: tuple[int, uuid.UUID] | None, limit: int) -> Select:
    """Newest first by (last message's time, id): keyset pagination, each page costs what the first does."""
    query = select(Conversation).where(Conversation.owner_id == owner_id)
    if after is not None:
        query = query.where(tuple_(Conversation.last_message_ms, Conversation.id) < tuple_(*after))
    return query.order_by(Conversation.last_message_ms.desc(), Conversation.id.desc()).limit(limit)


def thread_page(conversation_id: uuid.UUID, after: tuple[int, int] | None, limit: int) -> Select:
    """A conversation's messages, newest first by (date, id)."""
    query = select(StoredMessage).where(StoredMessage.conversation_id == conversation_id)
    if after is not None:
        query = query.where(tuple_(StoredMessage.date_ms, StoredMessage.id) < tuple_(*after))
    return query.order_by(StoredMessage.date_ms.desc(), StoredMessage.id.desc()).limit(limit)


def calls_page(owner_id: int, after: tuple[int, int] | None, limit: int) -> Select:
    query = select(StoredCall).where(StoredCall.owner_id == owner_id)
    if after is not None:
        query = query.where(tuple_(StoredCall.date_ms, StoredCall.id) < tuple_(*after))
    return query.order_by(StoredCall.date_ms.desc(), StoredCall.id.desc()).limit(limit)


def imports_page(owner_id: int, after: tuple, limit: int) -> Select:
    query = select(MessageImport).where(MessageImport.owner_id == owner_id)
    if after is not None:
        query = query.where(tuple_(MessageImport.created_at, MessageImport.id) < tuple_(*after))
    return query.order_by(MessageImport.created_at.desc(), MessageImport.id.desc()).limit(limit)


def search_words(query: str) -> list[str]:
    """The words of a search, as both engines' indexes cut text (letters and digits)."""
    return _WORD.findall(query)[:MAX_SEARCH_WORDS]


def search_page(session: Session, owner_id: int, words: list[str], after: tuple[int, int] | None,
                limit: int) -> Select:
    """The owner's messages holding every word (each also as the start of a longer one), newest first,
    found through the engine's own full-text index: FTS5 on SQLite, the GIN-indexed tsvector on PostgreSQL."""
    if _dialect(session) == "postgresql":
        matches = text("messages.search_vector @@ to_tsquery('simple', :terms)").bindparams(
            terms=" & ".join(f"{word}:*" for word in words))
    else:
        matching = text("SELECT rowid FROM message_search WHERE message_search MATCH :terms").bindparams(
            terms=" AND ".join('"' + word + '"*' for word in words)).columns(column("rowid", Integer))
        matches = StoredMessage.id.in_(matching)
    query = select(StoredMessage).where(StoredMessage.owner_id == owner_id, matches)
    if after is not None:
        query = query.where(tuple_(StoredMessage.date_ms, StoredMessage.id) < tuple_(*after))
    return query.order_by(StoredMessage.date_ms.desc(), StoredMessage.id.desc()).limit(limit)


def _parts_with_attachments() -> Select:
    """Parts, each with its attachment (None for a part without bytes)."""
    return select(MessagePart, Attachment).outerjoin(Attachment, Attachment.id == MessagePart.attachment_id)


def parts_of(session: Session, message_ids: Sequence[int]) -> dict[int, list[tuple[MessagePart, Attachment | None]]]:
    """message id -> its parts in order, each with its attachment (None for a part without bytes)."""
    found: dict[int, list] = {}
    if not message_ids:
        return found
    rows = session.execute(_parts_with_attachments().where(MessagePart.message_id.in_(list(message_ids)))
                           .order_by(MessagePart.message_id, MessagePart.position))
    for part, attachment in rows:
        found.setdefault(part.message_id, []).append((part, attachment))
    return found


def titles(session: Session, conversation_ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, str]:
    wanted = list(set(conversation_ids))
    if not wanted:
        return {}
    return dict(session.execute(select(Conversation.id, Conversation.title).where(Conversation.id.in_(wanted))).all())


def owned_part(session: Session, owner_id: int, part_id: uuid.UUID) -> tuple[MessagePart, Attachment | None] | None:
    row = session.execute(_parts_with_attachments()
                          .where(MessagePart.id == part_id, MessagePart.owner_id == owner_id)).first()
    return (row[0], row[1]) if row else None


def counts(session: Session, owner_id: int) -> tuple[int, int]:
    """(messages, calls) the owner keeps."""
    messages = session.scalar(select(func.count()).select_from(StoredMessage).where(StoredMessage.owner_id == owner_id))
    calls = session.scalar(select(func.count()).select_from(StoredCall).where(StoredCall.owner_id == owner_id))
    return messages or 0, calls or 0


def last_change(session: Session, owner_id: int) -> tuple[int, int, int]:
    """(messages, calls, when the newest of them was imported in ms): what names the owner's data as it is."""
    newest = [session.scalar(select(func.max(table.imported_at)).where(table.owner_id == owner_id))
              for table in (StoredMessage, StoredCall)]
    moments = [moment for moment in newest if moment is not None]
    return (*counts(session, owner_id), int(max(moments).timestamp() * 1000) if moments else 0)


def messages_in_order(owner_id: int, after: tuple[int, int] | None, limit: int) -> Select:
    """The owner's messages oldest first by (date, id), as the apps write them."""
    query = select(StoredMessage).where(StoredMessage.owner_id == owner_id)
    if after is not None:
        query = query.where(tuple_(StoredMessage.date_ms, StoredMessage.id) > tuple_(*after))
    return query.order_by(StoredMessage.date_ms, StoredMessage.id).limit(limit)


def thread_in_order(conversation_id: uuid.UUID, after: tuple[int, int] | None, limit: int) -> Select:
    """A conversation's messages oldest first, as people read them."""
    query = select(StoredMessage).where(StoredMessage.conversation_id == conversation_id)
    if after is not None:
        query = query.where(tuple_(StoredMessage.date_ms, StoredMessage.id) > tuple_(*after))
    return query.order_by(StoredMessage.date_ms, StoredMessage.id).limit(limit)


def calls_in_order(owner_id: int, after: tuple[int, int] | None, limit: int) -> Select:
    query = select(StoredCall).where(StoredCall.owner_id == owner_id)
    if after is not None:
        query = query.where(tuple_(StoredCall.date_ms, StoredCall.id) > tuple_(*after))
    return query.order_by(StoredCall.date_ms, StoredCall.id).limit(limit)


def imports_in_progress(session: Session, owner_id: int) -> int:
    return session.scalar(select(func.count()).select_from(MessageImport).where(
        MessageImport.owner_id == owner_id, MessageImport.state.in_([QUEUED, RUNNING]))) or 0


# -- usage ---------------------------------------------------------------------------------------------------

def _kept_files():
    return select(MessageImport.owner_id, MessageImport.size_bytes).where(MessageImport.blob_key.is_not(None))


def usage(session: Session, owner_id: int) -> tuple[int, int]:
    """(items, bytes): messages and calls; the attachments' bytes and those of uploaded files still kept."""
    messages, calls = counts(session, owner_id)
    attachments = session.scalar(select(func.coalesce(func.sum(Attachment.size_bytes), 0))
                                 .where(Attachment.owner_id == owner_id)) or 0
    files = session.scalar(select(func.coalesce(func.sum(MessageImport.size_bytes), 0)).where(
        MessageImport.owner_id == owner_id, MessageImport.blob_key.is_not(None))) or 0
    return messages + calls, attachments + files


def usage_by_owner(session: Session) -> dict[int, tuple[int, int]]:
    """Every owner's (items, bytes), across owners: for the quota's repair and the admin console."""
    totals: dict[int, list[int]] = {}
    for table in (StoredMessage, StoredCall):
        for owner_id, count in session.execute(select(table.owner_id, func.count()).group_by(table.owner_id)):
            totals.setdefault(owner_id, [0, 0])[0] += count
    for owner_id, size in session.execute(select(Attachment.owner_id, func.sum(Attachment.size_bytes))
                                          .group_by(Attachment.owner_id)):
        totals.setdefault(owner_id, [0, 0])[1] += size
    files = _kept_files().subquery()
    for owner_id, size in session.execute(select(files.c.owner_id, func.sum(files.c.size_bytes))
                                          .group_by(files.c.owner_id)):
        totals.setdefault(owner_id, [0, 0])[1] += size
    return {owner_id: (items, size) for owner_id, (items, size) in totals.items()}


# -- account deletion ----------------------------------------------------------------------------------------

OWNED_TABLES = (StoredCall, MessagePart, StoredMessage, Conversation, OwnAddress, MessageImport, Attachment)


def rows_of_owner(session: Session, owner_id: int) -> int:
    return sum(session.scalar(select(func.count()).select_from(table).where(table.owner_id == owner_id)) or 0
               for table in OWNED_TABLES)


def delete_all(session: Session, table, owner_id: int) -> int:
    return session.execute(delete(table).where(table.owner_id == owner_id)).rowcount


def delete_batch(session: Session, table, owner_id: int, limit: int) -> int:
    """Delete up to `limit` of the owner's rows of `table` (by a primary-key sub-select: both engines)."""
    key = table.__table__.primary_key.columns.values()[0]
    batch = select(key).where(table.owner_id == owner_id).limit(limit)
    return session.execute(delete(table).where(key.in_(batch.scalar_subquery()))).rowcount


# -- scrub ---------------------------------------------------------------------------------------------------

ATTACHMENT_ITEM, FILE_ITEM = "attachment", "backup-file"


def scrub_totals(session: Session) -> tuple[int, int]:
    """(items, bytes) the scrub reads, across owners: attachments, and uploaded files still kept."""
    attachments = session.execute(select(func.count(), func.coalesce(func.sum(Attachment.size_bytes), 0))).one()
    files = session.execute(select(func.count(), func.coalesce(func.sum(MessageImport.size_bytes), 0))
                            .where(MessageImport.blob_key.is_not(None))).one()
    return attachments[0] + files[0], attachments[1] + files[1]


def scrub_page(session: Session, after: str | None, limit: int = 500) -> list[ScrubItem]:
    """The next items by (kind, id): attachments, then kept files; each checked against its SHA-1."""
    kind, _, last = (after or f"{ATTACHMENT_ITEM}:").partition(":")
    items: list[ScrubItem] = []
    if kind == ATTACHMENT_ITEM:
        query = (select(Attachment.id, User.email, Attachment.blob_key, Attachment.size_bytes, Attachment.sha1)
                 .join(User, User.id == Attachment.owner_id).order_by(Attachment.id).limit(limit))
        if last:
            query = query.where(Attachment.id > uuid.UUID(last))
        items = [ScrubItem(f"{ATTACHMENT_ITEM}:{item_id}", email, (BlobCheck("attachment", key, size, sha1),))
                 for item_id, email, key, size, sha1 in session.execute(query)]
        if items:
            return items
        last = ""
    query = (select(MessageImport.id, User.email, MessageImport.blob_key, MessageImport.size_bytes, MessageImport.sha1)
             .join(User, User.id == MessageImport.owner_id).where(MessageImport.blob_key.is_not(None))
             .order_by(MessageImport.id).limit(limit))
    if last:
        query = query.where(MessageImport.id > uuid.UUID(last))
    return [ScrubItem(f"{FILE_ITEM}:{item_id}", email, (BlobCheck("backup file", key, size, sha1),))
            for item_id, email, key, size, sha1 in session.execute(query)]
