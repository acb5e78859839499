"""The general intake: a plain or resumable upload finishes into a named destination (a gallery asset today;
a message backup, a contacts file, a Takeout archive next) instead of into one domain by name.

A destination checks what is declared before a byte is read, says from the first bytes whether it takes the
content, and turns the whole staged stream into its item. Kinds register theirs (DataKind.destinations);
the uploads routes and the resumable-upload service only ever speak to this interface.
"""

from __future__ import annotations

import datetime as dt
import errno
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, Protocol

from sqlalchemy.orm import Session

from phonecloud.accounts.models import User
from phonecloud.accounts.quota import QuotaLedger
from phonecloud.accounts.service import Principal
from phonecloud.core.blobstore import BlobStore
from phonecloud.core.db import Database
from phonecloud.core.dates import bounded
from phonecloud.core.errors import BadRequest, InsufficientStorage, TooLarge
from phonecloud.core.names import MAX_FILENAME_CHARS
from phonecloud.jobs.queue import JobQueue
from phonecloud.uploads.staged import StagedUpload

_HEX = set("0123456789abcdefABCDEF")


@dataclass(frozen=True)
class IntakeMeta:
    """What a client declares with its bytes."""

    filename: str
    file_modified_at: dt.datetime
    declared_size: int | None = None
    declared_sha1: str | None = None


def too_large(size: int, max_upload_bytes: int) -> TooLarge:
    return TooLarge(f"a file of {size} bytes exceeds the server's limit of {max_upload_bytes} bytes",
                    limit=max_upload_bytes, file_size=size)


def check_declared(meta: IntakeMeta, max_upload_bytes: int) -> None:
    """Refuse what a client declared with its bytes, whatever the destination: a name, a time, a size and a
    SHA-1 that cannot be right."""
    bounded(meta.file_modified_at, "modified_at")
    if not meta.filename or len(meta.filename) > MAX_FILENAME_CHARS:
        raise BadRequest(f"filename must be 1 to {MAX_FILENAME_CHARS} characters")
    if meta.declared_size is not None and meta.declared_size <= 0:
        raise BadRequest("declared size must be a positive number of bytes")
    if meta.declared_size is not None and meta.declared_size > max_upload_bytes:
        raise too_large(meta.declared_size, max_upload_bytes)
    if meta.declared_sha1 is not None and (len(meta.declared_sha1) != 40 or not set(meta.declared_sha1) <= _HEX):
        raise BadRequest("sha1 must be 40 hexadecimal digits")


@dataclass(frozen=True)
class Finished:
    item_id: uuid.UUID
    created: bool  # False: the same bytes were stored already, as item_id
    item: Any = None  # the destination's own object (a gallery asset)


class Prepaid(Protocol):
    """An upload whose size the quota already holds (a resumable upload's reservation): the item is not
    charged again, and the uploader settles its own records in the same transaction as the item."""

    def settle(self, session: Session, item_id: uuid.UUID, created: bool) -> None: ...


class Destination(Protocol):
    name: str

    def check(self, principal: Principal, meta: IntakeMeta) -> None:
        """Refuse before any byte is read: a bad declaration, or the kind's intake gate."""

    def identify(self, head: bytes) -> Any:
        """From the first bytes: what the content is, or an error when this destination does not take it."""

    def stage(self, principal: Principal, meta: IntakeMeta, expected_size: int | None = None) -> StagedUpload:
        """Staging for a plain upload (bounded by the owner's free quota)."""

    def finish(self, principal: Principal, staged: StagedUpload, meta: IntakeMeta, last_chunks: list[bytes] = (),
               prepaid: Prepaid | None = None) -> Finished:
        """Store a fully received upload as this destination's item; the staging is let go either way."""


class KindIntake:
    """What every kind's destination shares: its services, the server's upload limit, the kind's intake gate
    (plans, feature retirement) and the checks of what a client declares."""

    def __init__(self, db: Database, blobs: BlobStore, quota: QuotaLedger, jobs: JobQueue, max_upload_bytes: int,
                 gate: Callable[[Principal], None]):
        self.db = db
        self.blobs = blobs
        self.quota = quota
        self.jobs = jobs
        self.max_upload_bytes = max_upload_bytes
        self.gate = gate

    def check(self, principal: Principal, meta: IntakeMeta) -> None:
        self.gate(principal)
        check_declared(meta, self.max_upload_bytes)

    def too_large(self, size: int) -> TooLarge:
        return too_large(size, self.max_upload_bytes)

    @staticmethod
    def _commit_blob(staged: StagedUpload, key: str) -> None:
        """The staged bytes durably under key; a full disk is the server's 507, not the client's fault."""
        try:
            staged.commit(key)
        except OSError as error:
            if error.errno in (errno.ENOSPC, errno.EDQUOT):
                raise InsufficientStorage("the server's storage is full; nothing was stored") from error
            raise


class WholeFileIntake(KindIntake):
    """A destination that keeps each upload as a file of its own until a job has read it (a messages backup, a
    Takeout part): never a duplicate of anything, so its whole size must fit in the free quota."""

    def check_room(self, principal: Principal, size: int) -> None:
        """Refuse, before any byte is read, a declared size that cannot fit (the final charge is atomic)."""
        if size > self.max_upload_bytes:
            raise self.too_large(size)
        with self.db.read() as session:
            user = session.get(User, principal.user_id)
        if user.used_bytes + size > self.quota.limit(user):
            raise self.quota.exceeded(user, size)

    def stage(self, principal: Principal, meta: IntakeMeta, expected_size: int | None = None) -> StagedUpload:
        expected = expected_size if expected_size is not None else meta.declared_size
        allowance = self.quota.allowance(principal.user_id, principal.room_bytes, expected, lambda: None)
        return StagedUpload(self.blobs, self.max_upload_bytes, self.identify, allowance)

    def keep_file(self, principal: Principal, staged: StagedUpload, meta: IntakeMeta, last_chunks: list[bytes],
                  prepaid: Prepaid | None, item_id: uuid.UUID, key: str, make_row: Callable[[StagedUpload], Any],
                  also: Callable[[Session], None] = lambda session: None) -> Finished:
        """The whole upload committed as the blob `key`, then its row (make_row) written and its size charged
        in one transaction with also(session): all or nothing."""
        try:
            staged.feed(list(last_chunks))
            staged.finish(meta.declared_size, meta.declared_sha1)
            self._commit_blob(staged, key)
        finally:
            staged.abort()
        row = make_row(staged)
        try:
            with self.db.write() as session:
                if prepaid is None:
                    self.quota.charge(session, principal.user_id, staged.size)
                session.add(row)
                session.flush()
                also(session)
                if prepaid is not None:
                    prepaid.settle(session, item_id, created=True)
        except BaseException:
            self.blobs.delete(key)
            raise
        return Finished(item_id, True, row)


class Intake:
    """The destinations by name, and the one an upload that names none goes to."""

    def __init__(self, default: str):
        self.default = default
        self._destinations: dict[str, Destination] = {}

    def add(self, destinations: Iterable[Destination]) -> None:
        for destination in destinations:
            self._destinations[destination.name] = destination

    def destination(self, name: str | None) -> Destination:
        found = self._destinations.get(name or self.default)
        if found is None:
            raise BadRequest(f"no upload destination {name!r}: this server takes {', '.join(sorted(self._destinations))}")
        return found
