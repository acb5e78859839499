"""A user's messages and calls written back in either app's format, from one consistent read of the
database, a page of rows at a time, attachments streamed from the blob store: constant memory whatever
the size. The same data makes the same bytes (the files' backup stamps and entry times are those of the
newest change), so that a download can be compared and an export repeated.

Files, named as each app names its own so that it finds them for a restore:
- SMS Backup & Restore: `sms-<time>.xml` and `calls-<time>.xml`;
- SMS Import / Export: `messages-<date>.zip` and `calls-<date>.json`.
"""

from __future__ import annotations

import datetime as dt
import io
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import BinaryIO

from sqlalchemy.orm import Session

from phonecloud.core.blobstore import BlobStore
from phonecloud.core.db import Database
from phonecloud.messages import repository
from phonecloud.messages.formats import sms_backup_restore, sms_ie
from phonecloud.messages.formats.records import Call, Message
from phonecloud.messages.rows import call_record, message_record, part_record
from phonecloud.messages.streams import ChunkReader

PAGE = 500
READ_BUFFER = 1 << 20
SMS_BACKUP_RESTORE, SMS_IE = "sms-backup-restore", "sms-ie"
APPS = (SMS_BACKUP_RESTORE, SMS_IE)
_STAMP_NAMESPACE = uuid.UUID("6d3c3f0e-8a56-4f39-9a8e-2f0d3b1c7e51")


@dataclass(frozen=True)
class Snapshot:
    """What is being exported: the owner's counts and the time of the newest change (ms), read with the rows."""

    owner_id: int
    messages: int
    calls: int
    changed_ms: int

    @property
    def changed(self) -> dt.datetime:
        return dt.datetime.fromtimestamp(self.changed_ms / 1000, dt.UTC)

    def stamp(self, holds: str) -> sms_backup_restore.BackupStamp:
        backup_set = uuid.uuid5(_STAMP_NAMESPACE, f"{self.owner_id}:{holds}:{self.messages}:{self.calls}:{self.changed_ms}")
        return sms_backup_restore.BackupStamp(str(backup_set), self.changed_ms)


@dataclass(frozen=True)
class ExportedFile:
    app: str
    holds: str  # messages | calls
    media_type: str

    def filename(self, snapshot: Snapshot) -> str:
        when = snapshot.changed
        if self.app == SMS_BACKUP_RESTORE:
            return f"{'sms' if self.holds == 'messages' else 'calls'}-{when:%Y%m%d%H%M%S}.xml"
        return f"{self.holds}-{when:%Y-%m-%d}.{'zip' if self.holds == 'messages' else 'json'}"


FILES = {
    (SMS_BACKUP_RESTORE, "messages"): ExportedFile(SMS_BACKUP_RESTORE, "messages", "application/xml"),
    (SMS_BACKUP_RESTORE, "calls"): ExportedFile(SMS_BACKUP_RESTORE, "calls", "application/xml"),
    (SMS_IE, "messages"): ExportedFile(SMS_IE, "messages", "application/zip"),
    (SMS_IE, "calls"): ExportedFile(SMS_IE, "calls", "application/json"),
}


class Exporter:
    def __init__(self, db: Database, blobs: BlobStore):
        self.db = db
        self.blobs = blobs

    def snapshot(self, session: Session, owner_id: int) -> Snapshot:
        return Snapshot(owner_id, *repository.last_change(session, owner_id))

    def write(self, session: Session, snapshot: Snapshot, file: ExportedFile, out: BinaryIO) -> int:
        """Write one file of the snapshot (read in `session`) to out; returns how many records it holds."""
        if file.app == SMS_BACKUP_RESTORE and file.holds == "messages":
            return sms_backup_restore.write_messages(self.messages(session, snapshot.owner_id), out,
                                                     count=snapshot.messages, backup=snapshot.stamp("messages"))
        if file.app == SMS_BACKUP_RESTORE:
            return sms_backup_restore.write_calls(self.calls(session, snapshot.owner_id), out, count=snapshot.calls,
                                                  backup=snapshot.stamp("calls"))
        if file.holds == "messages":
            return sms_ie.write_messages(self.messages(session, snapshot.owner_id), out, modified=snapshot.changed)
        return sms_ie.write_calls(self.calls(session, snapshot.owner_id), out)

    @contextmanager
    def consistent_read(self) -> Iterator[Session]:
        """A read transaction that sees one state of the data throughout (PostgreSQL's READ COMMITTED would
        let a count and the rows after it disagree while an import runs)."""
        with self.db.read() as session:
            if self.db.dialect == "postgresql":
                session.connection(execution_options={"isolation_level": "REPEATABLE READ"})
            yield session

    def messages(self, session: Session, owner_id: int) -> Iterator[Message]:
        """The owner's messages oldest first, as records, a page at a time."""
        after = None
        while True:
            rows = list(session.scalars(repository.messages_in_order(owner_id, after, PAGE)))
            parts = repository.parts_of(session, [row.id for row in rows])
            for row in rows:
                yield message_record(row, tuple(part_record(part, attachment, self._open)
                                                for part, attachment in parts.get(row.id, ())))
            if len(rows) < PAGE:
                return
            after = (rows[-1].date_ms, rows[-1].id)

    def calls(self, session: Session, owner_id: int) -> Iterator[Call]:
        after = None
        while True:
            rows = list(session.scalars(repository.calls_in_order(owner_id, after, PAGE)))
            yield from map(call_record, rows)
            if len(rows) < PAGE:
                return
            after = (rows[-1].date_ms, rows[-1].id)

    def _open(self, key: str) -> BinaryIO:
        # Buffered: a read of n bytes gives n bytes until the end, as the writers' base64 pieces need.
        return io.BufferedReader(ChunkReader(self.blobs.get(key)), READ_BUFFER)
