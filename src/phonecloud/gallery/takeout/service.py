"""Takeout imports on the server: parts taken into an import, the import's job, its progress and report, and
what the gallery kind's hooks need of them (usage, account deletion). Plain Python.

- A part is charged to the quota from its upload until the import that reads it is done: then its bytes go
  (the photos it held are charged as the gallery's). A failed import keeps its parts, to be tried again (after
  making room) or deleted.
- The job is idempotent: a run cut short (a crash, a restart) runs again, and what the first run stored is
  found by its SHA-1 and counted as already there, albums by their title.
- Parts the administrator names on the server's disk (`phonecloud admin import-takeout`) are read where they
  are and never deleted; each must be a zip part or a folder (of zip parts, or an unzipped Takeout).
"""

from __future__ import annotations

import json
import logging
import uuid
from pathlib import Path

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from phonecloud.accounts.models import User
from phonecloud.accounts.quota import QuotaLedger
from phonecloud.accounts.service import Principal, Standing
from phonecloud.core.blobstore import BlobNotFound, BlobStore
from phonecloud.core.db import Database, utcnow
from phonecloud.core.errors import BadRequest, Conflict, NotFound
from phonecloud.core.kinds import Purged, Record
from phonecloud.gallery.context import Gallery
from phonecloud.gallery.takeout.library import GalleryOnServer, ProgressRecorder, ServerImportRun
from phonecloud.gallery.takeout.models import DONE, FAILED, QUEUED, RUNNING, TakeoutImport, TakeoutPart
from phonecloud.jobs.queue import JobQueue
from phonecloud.portability.archive import ArchivePart, UnsafeArchive

log = logging.getLogger("phonecloud.takeout")

IMPORT_JOB = "takeout.import"
IMPORT_ATTEMPTS = 3  # runs that end in an unexpected error before the import is given up as failed
MAX_PARTS = 1000
TRANSFERS = 4  # files stored at once: each waits on its fsyncs (or an S3 PUT), not on the interpreter
MAX_FAILURES_KEPT = 1000  # of the report's skips and failures (the counts are whole)


def job_subject(import_id: uuid.UUID) -> str:
    return f"takeout:{import_id}"


class TakeoutImports:
    def __init__(self, db: Database, blobs: BlobStore, quota: QuotaLedger, jobs: JobQueue, gallery: Gallery):
        self.db, self.blobs, self.quota, self.jobs, self.gallery = db, blobs, quota, jobs, gallery

    # -- parts -------------------------------------------------------------------------------------------

    def free_parts(self, principal: Principal) -> list[TakeoutPart]:
        """The caller's uploaded parts that no import has taken yet, oldest first."""
        with self.db.read() as session:
            return list(session.scalars(select(TakeoutPart).where(
                TakeoutPart.owner_id == principal.user_id, TakeoutPart.import_id.is_(None))
                .order_by(TakeoutPart.created_at, TakeoutPart.id)))

    def delete_part(self, principal: Principal, part_id: uuid.UUID) -> None:
        """A part no import has taken: its bytes go, and their charge."""
        with self.db.write() as session:
            part = session.scalar(select(TakeoutPart).where(TakeoutPart.id == part_id,
                                                            TakeoutPart.owner_id == principal.user_id))
            if part is None:
                raise NotFound(f"no Takeout part {part_id}")
            if part.import_id is not None:
                raise Conflict(f"Takeout part {part_id} belongs to import {part.import_id}: delete the import")
            key = self._forget_parts(session, [part])[0]
        self.blobs.delete_unreferenced(key)

    # -- imports -----------------------------------------------------------------------------------------

    def start(self, principal: Principal, part_ids: list[uuid.UUID]) -> TakeoutImport:
        """An import of these parts (the caller's, taken by no other import), queued."""
        wanted = list(dict.fromkeys(part_ids))
        if not 1 <= len(wanted) <= MAX_PARTS:
            raise BadRequest(f"an import reads 1 to {MAX_PARTS} parts", field="parts")
        self.gallery.intake.gate(principal)  # where its photos go must take them now
        with self.db.write() as session:
            parts = {part.id: part for part in session.scalars(select(TakeoutPart).where(
                TakeoutPart.id.in_(wanted), TakeoutPart.owner_id == principal.user_id).with_for_update())}
            for part_id in wanted:
                if part_id not in parts:
                    raise NotFound(f"no Takeout part {part_id}", field="parts")
                if parts[part_id].import_id is not None:
                    raise Conflict(f"Takeout part {part_id} is read by import {parts[part_id].import_id} already")
            imported = self._queue(session, principal.user_id)
            for part in parts.values():
                part.import_id = imported.id
        self.jobs.wake()
        return imported

    def start_from_paths(self, user_id: int, paths: list[Path]) -> TakeoutImport:
        """An import of zip parts and folders on the server's disk (the administrator's), queued."""
        if not 1 <= len(paths) <= MAX_PARTS:
            raise BadRequest(f"an import reads 1 to {MAX_PARTS} parts")
        for path in paths:
            if not path.is_absolute() or not (path.is_dir() or path.is_file()):
                raise BadRequest(f"{path}: not a file or folder on this server (give its absolute path)")
        with self.db.write() as session:
            imported = self._queue(session, user_id)
            for path in paths:
                session.add(TakeoutPart(owner_id=user_id, import_id=imported.id, filename=path.name, path=str(path),
                                        size_bytes=path.stat().st_size if path.is_file() else 0,
                                        created_at=utcnow()))
        self.jobs.wake()
        return imported

    @staticmethod
    def _queue(session: Session, user_id: int) -> TakeoutImport:
        imported = TakeoutImport(id=uuid.uuid4(), owner_id=user_id, state=QUEUED, attempts=0, files_total=0,
                                 files_done=0, bytes_total=0, bytes_done=0, created_at=utcnow())
        session.add(imported)
        session.flush()
        JobQueue.enqueue_in(session, IMPORT_JOB, job_subject(imported.id), max_attempts=IMPORT_ATTEMPTS + 1,
                            owner_id=user_id)
        return imported

    def get(self, principal: Principal, import_id: uuid.UUID) -> tuple[TakeoutImport, list[TakeoutPart]]:
        with self.db.read() as session:
            imported = self._owned(session, principal.user_id, import_id)
            return imported, self._parts_of(session, import_id)

    def list(self, principal: Principal) -> list[tuple[TakeoutImport, list[TakeoutPart]]]:
        """The caller's imports, newest first."""
        with self.db.read() as session:
            imports = list(session.scalars(select(TakeoutImport).where(TakeoutImport.owner_id == principal.user_id)
                                           .order_by(TakeoutImport.created_at.desc(), TakeoutImport.id)))
            return [(imported, self._parts_of(session, imported.id)) for imported in imports]

    def retry(self, principal: Principal, import_id: uuid.UUID) -> TakeoutImport:
        """A failed import queued again over its kept parts (after room was made, a fault fixed)."""
        with self.db.write() as session:
            imported = self._owned(session, principal.user_id, import_id)
            if imported.state != FAILED:
                raise Conflict(f"import {import_id} is {imported.state}: only a failed import is tried again",
                               state=imported.state)
            imported.state, imported.attempts, imported.error, imported.finished_at = QUEUED, 0, None, None
            JobQueue.requeue_in(session, IMPORT_JOB, job_subject(import_id), max_attempts=IMPORT_ATTEMPTS + 1,
                                owner_id=principal.user_id)
        self.jobs.wake()
        return imported

    def delete(self, principal: Principal, import_id: uuid.UUID) -> None:
        """Forget a finished import, and the parts a failed one kept; the photos it imported stay."""
        with self.db.write() as session:
            imported = self._owned(session, principal.user_id, import_id)
            if imported.state in (QUEUED, RUNNING):
                raise Conflict(f"import {import_id} is {imported.state}: wait for it to finish", state=imported.state)
            keys = self._forget_parts(session, self._parts_of(session, import_id))
            session.flush()  # the parts first: the import's deletion would cascade to them
            session.delete(imported)
        self.blobs.delete_unreferenced(keys)

    @staticmethod
    def _owned(session: Session, user_id: int, import_id: uuid.UUID) -> TakeoutImport:
        found = session.scalar(select(TakeoutImport).where(TakeoutImport.id == import_id,
                                                           TakeoutImport.owner_id == user_id))
        if found is None:
            raise NotFound(f"no Takeout import {import_id}")
        return found

    @staticmethod
    def _parts_of(session: Session, import_id: uuid.UUID) -> list[TakeoutPart]:
        return list(session.scalars(select(TakeoutPart).where(TakeoutPart.import_id == import_id)
                                    .order_by(TakeoutPart.filename, TakeoutPart.id)))

    def _let_go(self, session: Session, parts: list[TakeoutPart]) -> list[str]:
        """Release what the parts' uploads charged (the rows stay, saying what was read); their blob keys, to
        delete after the commit."""
        keys = []
        for part in parts:
            if part.blob_key is not None:
                self.quota.release(session, part.owner_id, part.size_bytes)
                keys.append(part.blob_key)
                part.blob_key = None
        return keys

    def _forget_parts(self, session: Session, parts: list[TakeoutPart]) -> list[str]:
        keys = self._let_go(session, parts)
        for part in parts:
            session.delete(part)
        return keys

    # -- the job ------------------------------------------------------------------------------------------

    def run(self, subject: str) -> None:
        """The `takeout.import` job: every part read in place, each photo and video stored once."""
        import_id = uuid.UUID(subject.removeprefix("takeout:"))
        begun = self._begin(import_id)
        if begun is None:
            return
        parts, principal = begun
        recorder = ProgressRecorder(lambda *counts: self._progress(import_id, *counts))
        try:
            sources = [self._source(part) for part in parts]
            run = ServerImportRun(GalleryOnServer(self.gallery, principal), None, TRANSFERS, recorder)
            summary = run.run(sources).as_dict()
        except UnsafeArchive as error:
            self._fail(import_id, str(error))
        except BlobNotFound:
            self._fail(import_id, "an uploaded part is missing from the server's storage; upload it again")
        except Exception as error:
            with self.db.write() as session:
                session.execute(update(TakeoutImport).where(TakeoutImport.id == import_id).values(error=str(error)))
            raise  # the job runs again; what this run stored is found again by its SHA-1
        else:
            recorder.flush(force=True)
            self._done(import_id, summary)

    def _begin(self, import_id: uuid.UUID) -> tuple[list[TakeoutPart], Principal] | None:
        with self.db.write() as session:
            imported = session.get(TakeoutImport, import_id)
            if imported is None or imported.state not in (QUEUED, RUNNING):
                return None
            imported.attempts += 1
            imported.state = RUNNING
            imported.started_at = imported.started_at or utcnow()
            imported.files_total = imported.files_done = imported.bytes_total = imported.bytes_done = 0
            attempts, last_error = imported.attempts, imported.error
            parts = self._parts_of(session, import_id)
            user = session.get(User, imported.owner_id)
            principal = Principal(user.id, user.email, user.is_admin, standing=Standing.of(user))
        if attempts > IMPORT_ATTEMPTS:
            self._fail(import_id, f"gave up after {IMPORT_ATTEMPTS} attempts; the last failed with: {last_error}")
            return None
        return parts, principal

    def _source(self, part: TakeoutPart) -> Path | ArchivePart:
        if part.path is not None:
            return Path(part.path)
        self.blobs.size(part.blob_key)  # BlobNotFound now, not inside the reader
        return ArchivePart(part.filename, lambda key=part.blob_key: self.blobs.open_seekable(key))

    def _progress(self, import_id: uuid.UUID, files_total: int, files_done: int, bytes_total: int,
                  bytes_done: int) -> None:
        with self.db.write() as session:
            session.execute(update(TakeoutImport).where(TakeoutImport.id == import_id, TakeoutImport.state == RUNNING)
                            .values(files_total=files_total, files_done=files_done, bytes_total=bytes_total,
                                    bytes_done=bytes_done))

    def _done(self, import_id: uuid.UUID, summary: dict) -> None:
        """The report kept, the parts' uploaded bytes let go (the photos are the gallery's now)."""
        summary["failures"] = summary["failures"][:MAX_FAILURES_KEPT]
        with self.db.write() as session:
            imported = session.get(TakeoutImport, import_id)
            if imported is None or imported.state != RUNNING:
                return
            imported.state, imported.finished_at, imported.error = DONE, utcnow(), None
            imported.report = json.dumps(summary)
            keys = self._let_go(session, self._parts_of(session, import_id))
        self.blobs.delete_unreferenced(keys)

    def _fail(self, import_id: uuid.UUID, why: str) -> None:
        with self.db.write() as session:
            session.execute(update(TakeoutImport).where(TakeoutImport.id == import_id).values(
                state=FAILED, error=why, finished_at=utcnow()))

    # -- the gallery kind's hooks ----------------------------------------------------------------------------

    @staticmethod
    def waiting_bytes(session: Session, user_id: int) -> int:
        """The bytes of uploaded parts the user is charged for."""
        return session.scalar(select(func.coalesce(func.sum(TakeoutPart.size_bytes), 0)).where(
            TakeoutPart.owner_id == user_id, TakeoutPart.blob_key.is_not(None)))

    @staticmethod
    def waiting_bytes_by_owner(session: Session) -> dict[int, int]:
        rows = session.execute(select(TakeoutPart.owner_id, func.sum(TakeoutPart.size_bytes))
                               .where(TakeoutPart.blob_key.is_not(None)).group_by(TakeoutPart.owner_id))
        return dict(rows.all())

    @staticmethod
    def rows_of_owner(session: Session, user_id: int) -> int:
        parts = session.scalar(select(func.count()).select_from(TakeoutPart).where(TakeoutPart.owner_id == user_id))
        imports = session.scalar(select(func.count()).select_from(TakeoutImport)
                                 .where(TakeoutImport.owner_id == user_id))
        return (parts or 0) + (imports or 0)

    def purge_user(self, user_id: int, record: Record) -> None:
        """Every part (bytes and charge) and import of the user, in one transaction."""
        with self.db.write() as session:
            parts = list(session.scalars(select(TakeoutPart).where(TakeoutPart.owner_id == user_id)))
            sizes = sum(part.size_bytes for part in parts if part.blob_key)
            keys = self._forget_parts(session, parts)
            session.flush()  # the parts first: the imports' deletion would cascade to them
            imports = session.execute(TakeoutImport.__table__.delete().where(TakeoutImport.owner_id == user_id))
            record(Purged(rows=len(parts) + imports.rowcount, blobs=len(keys), bytes=sizes), session)
        self.blobs.delete_unreferenced(keys)

