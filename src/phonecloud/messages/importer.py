"""The import job: an uploaded backup file streamed through its format's reader, in constant memory, its
records stored in batches.

- Each batch is one transaction: its messages (or calls), their parts and conversations, the attachments'
  rows with their bytes charged to the quota, and the import's progress (how many records of the file are
  done, and the counts). A run that stops (a crash, a restart) resumes after the last committed batch. The
  transaction ends by locking the import's row and checking that its progress is where this run left it,
  else it rolls back: two runs of one import (a job claimed again after its lease ran out) never both store
  a batch, nor count one another's rows as theirs.
- Rows go in by the driver's executemany (core.db.insert_many), without RETURNING: the ids are asked for
  only for the MMS whose parts refer to them. Batches of 2,000 records, on SQLite sessions that read
  without the memory map (bounded memory, see core/db.py), and the search index filled once a batch
  (repository.index_new_messages): the storing's cost per record, measured in bench/messages.py.
- A record whose identity (formats/identity.py) the owner already has is a duplicate: re-importing the
  same or an overlapping backup, from either app, adds nothing.
- Attachments are written to the blob store before their batch's transaction, each once per owner and
  content, several at a time (each waits on its fsyncs, or its S3 PUT); bytes the transaction does not
  keep (a duplicate, a refusal) are deleted after it.
- A later backup that names people a conversation has no name for names them (conversations.better_named);
  a name once known is kept.
- A damaged or cut file keeps every whole record before the damage; the import then fails with the
  reader's reason and where it stopped. An attachment that does not fit in the quota stops the import at
  its message, with the quota's numbers; the messages before it are kept.
- The uploaded file is kept (and charged) until the import is done, then removed: its every record is
  stored by then, and an export writes it back. A failed import keeps it, so that nothing the server
  acknowledged is lost; deleting the import lets it go.
"""

from __future__ import annotations

import hashlib
import json
import logging
import uuid
import zlib
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor, wait
from dataclasses import dataclass, field

from sqlalchemy import update
from sqlalchemy.orm import Session

from phonecloud.accounts.quota import QuotaLedger
from phonecloud.core.blobstore import BlobNotFound, BlobStore
from phonecloud.core.db import Database, insert_many, utcnow
from phonecloud.core.errors import QuotaExceeded
from phonecloud.jobs.worker import PermanentJobError
from phonecloud.messages import repository
from phonecloud.messages.blobs import attachment_key
from phonecloud.messages.conversations import (Party, better_named, own_numbers, participants_json, participants_key,
                                               parties, people_json, title)
from phonecloud.messages.detect import FORMATS
from phonecloud.messages.formats import FormatError
from phonecloud.messages.formats.blobs import Blob
from phonecloud.messages.formats.identity import call_identity, message_identity
from phonecloud.messages.formats.records import Call, Message
from phonecloud.messages.models import (DONE, FAILED, QUEUED, RUNNING, Attachment, Conversation, MessageImport,
                                        MessagePart, StoredCall, StoredMessage)
from phonecloud.messages.rows import call_row, message_row, part_row, snippet, storable, too_large_number

log = logging.getLogger("phonecloud.messages")

IMPORT_JOB = "messages.import"
IMPORT_ATTEMPTS = 3  # runs that end in an unexpected error before the import is given up as failed
BATCH_RECORDS = 2000
# Attachments of up to 1 MiB stay in memory while their batch waits: this bounds what a batch holds.
BATCH_ATTACHMENT_BYTES = 32 << 20
_COPY_CHUNK = 1 << 20
# Attachments of a batch written at once: each waits on its fsyncs (or an S3 PUT), not on the interpreter.
ATTACHMENT_WRITERS = 4


def job_subject(import_id: uuid.UUID) -> str:
    return f"import:{import_id}"


def import_of(subject: str) -> uuid.UUID:
    try:
        return uuid.UUID(subject.removeprefix("import:"))
    except ValueError:
        raise PermanentJobError(f"not a messages import: {subject!r}") from None


@dataclass
class Tally:
    """What one batch did."""

    imported: int = 0
    duplicates: int = 0
    attachments: int = 0
    skipped: Counter = field(default_factory=Counter)  # reason -> records


class Stopped(Exception):
    """The import cannot go on: why, and where (the file's line and record, where known)."""

    def __init__(self, problem: str, line: int | None = None, record: int | None = None):
        super().__init__(problem)
        self.problem, self.line, self.record = problem, line, record


@dataclass(frozen=True)
class Running:
    """The import being run: whose it is, and which file."""

    import_id: uuid.UUID
    owner_id: int
    holds: str  # messages | calls
    file: object  # the open file the reader reads, whose position tells the progress


class Overtaken(Exception):
    """Another run of the same import stored records past where this one is: this run ends, and the job's
    next run resumes from the progress stored."""


Progress = Callable[[Session, Tally], None]


class ImportService:
    def __init__(self, db: Database, blobs: BlobStore, quota: QuotaLedger):
        self.db = db
        self.blobs = blobs
        self.quota = quota
        self._writers = ThreadPoolExecutor(ATTACHMENT_WRITERS, thread_name_prefix="messages-attachments")

    # -- the job ------------------------------------------------------------------------------------------

    def run(self, subject: str) -> None:
        """The `messages.import` job: read the import's file to its end (or its damage), storing as it goes."""
        started = self._begin(import_of(subject))
        if started is None:
            return
        imported, read_from = started
        format_ = FORMATS[imported.format]
        try:
            with self.blobs.local_file(imported.blob_key) as path, open(path, "rb") as file:
                running = Running(imported.id, imported.owner_id, format_.holds, file)
                records = format_.read(file)
                if format_.may_hold_lone_surrogates:
                    records = map(storable, records)
                self._read(running, records, read_from)
        except Stopped as stop:
            self._fail(imported.id, stop.problem, stop.line, stop.record)
        except BlobNotFound:
            self._fail(imported.id, "the uploaded file is missing from the server's storage; upload it again")
        except Exception as error:
            self._note_error(imported.id, error)
            raise  # the job runs again, from the last batch stored
        else:
            self._done(imported.id)

    def _begin(self, import_id: uuid.UUID) -> tuple[MessageImport, int] | None:
        """The import, now running, and how many of its records are stored; None when there is nothing to do."""
        with self.db.write() as session:
            imported = session.get(MessageImport, import_id)
            if imported is None or imported.state not in (QUEUED, RUNNING) or imported.blob_key is None:
                return None
            imported.attempts += 1
            imported.state = RUNNING
            imported.started_at = imported.started_at or utcnow()
            attempts, last_error = imported.attempts, imported.error
        if attempts > IMPORT_ATTEMPTS:
            self._fail(import_id, f"gave up after {IMPORT_ATTEMPTS} attempts; the last failed with: {last_error}")
            return None
        return imported, imported.records_read

    def _read(self, running: Running, records: Iterator, read_from: int) -> None:
        """Every record after the first `read_from` (stored by an earlier run), a batch at a time."""
        batch: list[tuple[int, Message | Call]] = []
        held = 0
        try:
            for number, record in enumerate(records, 1):
                if number <= read_from:
                    continue
                batch.append((number, record))
                held += sum(part.data.size for part in getattr(record, "parts", ()) if part.data is not None)
                if len(batch) >= BATCH_RECORDS or held >= BATCH_ATTACHMENT_BYTES:
                    self._store(running, batch)
                    batch, held = [], 0
        except FormatError as damage:
            self._store(running, batch)  # the whole records before the damage
            raise Stopped(damage.problem, damage.line, damage.record) from None
        self._store(running, batch)

    def _store(self, running: Running, batch: list[tuple[int, Message | Call]]) -> None:
        """Store a batch in one transaction; when the quota refuses it, record by record up to the one that
        does not fit, where the import stops."""
        if not batch:
            return
        try:
            self._store_batch(running, batch)
        except QuotaExceeded:
            for number, record in batch:
                try:
                    self._store_batch(running, [(number, record)])
                except QuotaExceeded as refusal:
                    raise Stopped(refusal.message, record=number) from None

    def _store_batch(self, running: Running, batch: list[tuple[int, Message | Call]]) -> None:
        first, last, position = batch[0][0], batch[-1][0], running.file.tell()

        def progress(session: Session, tally: Tally) -> None:
            self._progress(session, running.import_id, first, last, position, tally)

        records = [record for _, record in batch]
        if running.holds == "calls":
            self._store_calls(running, records, progress)
        else:
            self._store_messages(running, records, progress)

    # -- calls --------------------------------------------------------------------------------------------

    def _store_calls(self, running: Running, calls: list[Call], progress: Progress) -> None:
        tally = Tally()
        now = utcnow()
        rows, seen = [], set()
        for call in calls:
            if (number_field := too_large_number(call)) is not None:
                tally.skipped[f"a number too large to keep ({number_field})"] += 1
                continue
            identity = call_identity(call)
            if identity in seen:
                tally.duplicates += 1
                continue
            seen.add(identity)
            rows.append(call_row(call, owner_id=running.owner_id, identity=identity, import_id=running.import_id,
                                 imported_at=now))
        with self.db.write(bulk=True) as session:
            added = insert_many(session.connection(), StoredCall.__table__, rows, skip_taken=("owner_id", "identity"))
            if added != len(rows):  # some were stored meanwhile by another import; or the driver cannot say
                added = len(repository.stored_by_import(session, StoredCall, running.owner_id, running.import_id,
                                                        [row["identity"] for row in rows]))
            tally.imported += added
            tally.duplicates += len(rows) - added
            progress(session, tally)

    # -- messages -----------------------------------------------------------------------------------------

    def _store_messages(self, running: Running, messages: list[Message], progress: Progress) -> None:
        tally = Tally()
        candidates: dict[str, Message] = {}  # identity -> message, each once
        for message in messages:
            if (number_field := too_large_number(message)) is not None:
                tally.skipped[f"a number too large to keep ({number_field})"] += 1
            elif (identity := message_identity(message)) in candidates:
                tally.duplicates += 1
            else:
                candidates[identity] = message
        with self.db.read(bulk=True) as session:  # what is there already, so that no byte of it is written again
            known = repository.known_identities(session, StoredMessage, running.owner_id, list(candidates))
            own = repository.own_addresses(session, running.owner_id)
            fresh = {identity: message for identity, message in candidates.items() if identity not in known}
            stored = repository.attachment_ids(session, running.owner_id, _contents(fresh.values()))
        tally.duplicates += len(candidates) - len(fresh)
        written = self._write_attachments(running.owner_id, {
            data.sha256: data for data in _attachments(fresh.values()) if data.sha256 not in stored})
        try:
            with self.db.write(bulk=True) as session:
                kept = self._insert_messages(session, running, fresh, own, written, tally)
                progress(session, tally)
        except BaseException:
            self.blobs.delete_unreferenced(row["blob_key"] for row in written.values())
            raise
        self.blobs.delete_unreferenced(row["blob_key"] for sha256, row in written.items() if sha256 not in kept)

    def _write_attachments(self, owner_id: int, contents: dict[str, Blob]) -> dict[str, dict]:
        """SHA-256 -> the row (not yet inserted) of each attachment, its bytes committed to the blob store,
        several at a time. When one fails, those written are deleted and its error raised."""
        futures = {sha256: self._writers.submit(self._write_attachment, owner_id, data)
                   for sha256, data in contents.items()}
        wait(futures.values())
        written = {sha256: future.result() for sha256, future in futures.items() if future.exception() is None}
        failed = [future.exception() for future in futures.values() if future.exception() is not None]
        if failed:
            self.blobs.delete_unreferenced(row["blob_key"] for row in written.values())
            raise failed[0]
        return written

    def _write_attachment(self, owner_id: int, data: Blob) -> dict:
        """An attachment's bytes committed to the blob store (hashed on the way); its row, not yet inserted."""
        sha1, crc32 = hashlib.sha1(), 0
        with self.blobs.writer() as writer:
            for chunk in data.chunks(_COPY_CHUNK):
                sha1.update(chunk)
                crc32 = zlib.crc32(chunk, crc32)
                writer.write(chunk)
            key = attachment_key(owner_id, sha1.hexdigest())
            writer.commit(key)
        return dict(id=uuid.uuid4(), owner_id=owner_id, sha256=data.sha256, sha1=sha1.hexdigest(), crc32=crc32,
                    size_bytes=data.size, blob_key=key, created_at=utcnow())

    def _insert_messages(self, session: Session, running: Running, fresh: dict[str, Message], own: set[str],
                         written: dict[str, dict], tally: Tally) -> set[str]:
        """The batch's new messages with their conversations, parts and attachments, in the caller's
        transaction; returns the SHA-256 of the attachments whose rows were inserted (their bytes charged)."""
        owner_id = running.owner_id
        learned = set().union(*map(own_numbers, fresh.values())) - own
        repository.add_own_addresses(session, owner_id, learned)
        people = {identity: parties(message, own | learned) for identity, message in fresh.items()}
        conversation_of = self._conversations(session, owner_id, fresh, people)
        now = utcnow()
        rows = [message_row(message, owner_id=owner_id, conversation_id=conversation_of[identity], identity=identity,
                            import_id=running.import_id, imported_at=now) for identity, message in fresh.items()]
        indexed_up_to = repository.last_message_id(session)
        added = insert_many(session.connection(), StoredMessage.__table__, rows, skip_taken=("owner_id", "identity"))
        repository.index_new_messages(session, indexed_up_to)
        if added == len(rows):
            new = fresh
            inserted = repository.stored_by_import(session, StoredMessage, owner_id, running.import_id,
                                                   [identity for identity, message in fresh.items() if message.parts])
        else:  # an import running at the same time stored some first (or the driver cannot say how many)
            inserted = repository.stored_by_import(session, StoredMessage, owner_id, running.import_id, list(fresh))
            new = {identity: fresh[identity] for identity in inserted}
        tally.imported += len(new)
        tally.duplicates += len(fresh) - len(new)
        needed = _contents(new.values())
        kept = {sha256 for (sha256,) in repository.insert_new(
            session, Attachment, [written[sha256] for sha256 in needed if sha256 in written], ("owner_id", "sha256"),
            (Attachment.sha256,))}
        charged = sum(written[sha256]["size_bytes"] for sha256 in kept)
        if charged:
            self.quota.charge(session, owner_id, charged)
        attachment_ids = repository.attachment_ids(session, owner_id, needed)
        parts = [part_row(part, message_id=inserted[identity], owner_id=owner_id, position=position,
                          attachment_id=attachment_ids[part.data.sha256] if part.data is not None else None)
                 for identity, message in new.items() for position, part in enumerate(message.parts)]
        insert_many(session.connection(), MessagePart.__table__, parts)
        tally.attachments += sum(1 for part in parts if part["attachment_id"] is not None)
        self._note_conversations(session, {identity: conversation_of[identity] for identity in new}, new)
        return kept

    @staticmethod
    def _conversations(session: Session, owner_id: int, fresh: dict[str, Message],
                       people: dict[str, list]) -> dict[str, uuid.UUID]:
        """identity -> conversation id of each new message; conversations not met before are made."""
        key_of: dict[tuple[str, ...], str] = {}  # normalised addresses -> participants key, made once a batch
        keys = {}
        for identity, found in people.items():
            normalised = tuple(party.normalised for party in found)
            keys[identity] = key_of.get(normalised) or key_of.setdefault(normalised, participants_key(found))
        existing = repository.conversations_by_key(session, owner_id, list(set(keys.values())))
        made: dict[str, dict] = {}
        renamed: dict[str, list[Party]] = {}  # key -> the people of an existing conversation, better named
        known: dict[str, list[dict]] = {}  # key -> an existing conversation's people, read once a batch
        for identity, key in keys.items():
            found = people[identity]
            if key in existing:
                if any(party.name for party in found):
                    if key not in known:
                        known[key] = json.loads(existing[key][1])
                    stored = known[key]
                    if (named := better_named(stored, found)) is not None:
                        renamed[key], known[key] = named, people_json(named)
            elif key not in made:
                made[key] = dict(id=uuid.uuid4(), owner_id=owner_id, participants_key=key,
                                 participants=participants_json(found), title=title(found), message_count=0,
                                 last_message_ms=fresh[identity].date_ms, snippet="", created_at=utcnow())
        repository.rename_conversations(session, [(existing[key][0], participants_json(named), title(named))
                                                  for key, named in renamed.items()])
        repository.insert_new(session, Conversation, list(made.values()), ("owner_id", "participants_key"),
                              (Conversation.id,))
        existing = repository.conversations_by_key(session, owner_id, list(set(keys.values())))
        return {identity: existing[key][0] for identity, key in keys.items()}

    @staticmethod
    def _note_conversations(session: Session, conversation_of: dict[str, uuid.UUID],
                            new: dict[str, Message]) -> None:
        grouped: dict[uuid.UUID, list[Message]] = defaultdict(list)
        for identity, conversation_id in conversation_of.items():
            grouped[conversation_id].append(new[identity])
        changes = []
        for conversation_id, messages in grouped.items():
            newest = max(messages, key=lambda message: message.date_ms)
            changes.append((conversation_id, len(messages), newest.date_ms, snippet(newest)))
        repository.note_newest(session, changes)

    # -- the import's row ---------------------------------------------------------------------------------

    @staticmethod
    def _progress(session: Session, import_id: uuid.UUID, first: int, records_read: int, bytes_read: int,
                  tally: Tally) -> None:
        imported = session.get(MessageImport, import_id, with_for_update=True)
        if imported.records_read != first - 1:
            raise Overtaken(f"import {import_id} is at record {imported.records_read}, this run at {first - 1}")
        reasons = Counter(json.loads(imported.skipped_reasons))
        reasons.update(tally.skipped)
        imported.records_read, imported.bytes_read = records_read, bytes_read
        imported.imported += tally.imported
        imported.duplicates += tally.duplicates
        imported.attachments += tally.attachments
        imported.skipped += sum(tally.skipped.values())
        imported.skipped_reasons = json.dumps(dict(reasons), ensure_ascii=False)

    def _done(self, import_id: uuid.UUID) -> None:
        """Every record is stored: the uploaded file goes, and its bytes leave the quota."""
        with self.db.write() as session:
            imported = session.get(MessageImport, import_id, with_for_update=True)
            key = imported.blob_key
            imported.state, imported.finished_at, imported.blob_key = DONE, utcnow(), None
            imported.bytes_read, imported.error = imported.size_bytes, None
            self.quota.release(session, imported.owner_id, imported.size_bytes)
        self.blobs.delete_unreferenced([key])
        log.info("messages import %s done", import_id)

    def _fail(self, import_id: uuid.UUID, problem: str, line: int | None = None, record: int | None = None) -> None:
        """The import ends failed, saying why and where; the uploaded file stays (see the module's docstring)."""
        with self.db.write() as session:
            session.execute(update(MessageImport).where(MessageImport.id == import_id).values(
                state=FAILED, finished_at=utcnow(), error=problem[:4000], error_line=line, error_record=record))
        log.info("messages import %s failed: %s (line %s, record %s)", import_id, problem, line, record)

    def _note_error(self, import_id: uuid.UUID, error: Exception) -> None:
        with self.db.write() as session:
            session.execute(update(MessageImport).where(MessageImport.id == import_id).values(
                error=f"{type(error).__name__}: {error}"[:4000]))



def _attachments(messages: Iterable[Message]) -> Iterator[Blob]:
    for message in messages:
        for part in message.parts:
            if part.data is not None:
                yield part.data


def _contents(messages: Iterable[Message]) -> set[str]:
    return {data.sha256 for data in _attachments(messages)}
