"""Moves of a library to another service, started from the web app: plain Python over the client's
migration engine (client/migrate), the library read by the gallery's own services (library.py) and every
item's outcome recorded in the database (record.py).

- One move at a time per user may be queued, running or paused.
- Pausing asks the running job to stop between two slices of items (each slice's items are sent and
  verified first); a queued move pauses at once. Resuming queues it again: what arrived is in the record and
  is not sent again, and what a killed run sent without recording it is found on the target (by checksum,
  or path and size) and recorded then.
- The target's credentials are kept while the move may run (queued, running, paused) and deleted when it
  ends: done (the report lists every failure with its reason) or failed (the target cannot be reached or
  refuses the key: the reason says which). Running it again is a new move to the same place, which takes over
  the earlier moves' record: only what is missing or failed is sent, and their albums are filled again.
- A job cut short (a crash, a restart) runs again from its record, up to MOVE_ATTEMPTS times.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import secrets
import shutil
import uuid
from collections.abc import Callable
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from phonecloud.accounts.models import User
from phonecloud.accounts.service import Principal
from phonecloud.client.errors import ServerError
from phonecloud.client.migrate.engine import Migration
from phonecloud.core.blobstore import BlobStore
from phonecloud.core.db import Database, utcnow
from phonecloud.core.errors import BadRequest, Conflict, NotFound
from phonecloud.core.kinds import PortableFile, Purged, Record
from phonecloud.gallery.moving.library import LibraryOnServer
from phonecloud.gallery.moving.models import (DONE, FAILED, PAUSED, QUEUED, RUNNING, LibraryMove, MovedAlbum,
                                              MovedItem)
from phonecloud.gallery.moving.record import MoveRecord
from phonecloud.gallery.moving.targets import Target, check_public, destination_for
from phonecloud.gallery.takeout.library import ProgressRecorder
from phonecloud.jobs.models import QUEUED as JOB_QUEUED, RUNNING as JOB_RUNNING, Job
from phonecloud.jobs.queue import JobQueue
from phonecloud.jobs.worker import DeferJob

log = logging.getLogger("phonecloud.moving")

MOVE_JOB = "gallery.move"
MOVE_ATTEMPTS = 3
MAX_FAILURES_KEPT = 1000  # of the report's failures and skips (the counts are whole)
ACTIVE = (QUEUED, RUNNING, PAUSED)
PACIFIC = ZoneInfo("America/Los_Angeles")  # where Google's daily quotas start again


def job_subject(move_id: uuid.UUID) -> str:
    return f"move:{move_id}"


class LibraryMoves:
    def __init__(self, db: Database, blobs: BlobStore, jobs: JobQueue, workdir: Path, base_url: str,
                 portable_files: Callable[[int], list[PortableFile]], google_client: Path | None = None,
                 private_allowed: bool = False):
        self.db, self.blobs, self.jobs, self.workdir, self.base_url = db, blobs, jobs, workdir, base_url
        self.portable_files, self.google_client, self.private_allowed = portable_files, google_client, private_allowed

    # -- what the user asks ----------------------------------------------------------------------------

    def start(self, principal: Principal, target: Target) -> LibraryMove:
        with self.db.write() as session:
            # The user's row locked: two starts at once (PostgreSQL) see each other's move, one after the other.
            session.execute(select(User.id).where(User.id == principal.user_id).with_for_update())
            going = session.scalar(select(LibraryMove).where(LibraryMove.owner_id == principal.user_id,
                                                             LibraryMove.state.in_(ACTIVE)).limit(1))
            if going is not None:
                raise Conflict(f"a move to {going.label} is {going.state}: let it finish, or delete it first",
                               state=going.state)
            move = LibraryMove(id=uuid.uuid4(), owner_id=principal.user_id, target=target.kind, label=target.label,
                               target_digest=target.digest, credentials=json.dumps(target.credentials), state=QUEUED,
                               pause_requested=False, attempts=0, files_total=0, files_done=0, bytes_total=0,
                               bytes_done=0, created_at=utcnow())
            session.add(move)
            session.flush()
            self._take_over_record(session, move)
            JobQueue.enqueue_in(session, MOVE_JOB, job_subject(move.id), max_attempts=MOVE_ATTEMPTS + 1,
                                owner_id=principal.user_id)
        self.jobs.wake()
        return move

    def list(self, principal: Principal) -> list[LibraryMove]:
        with self.db.read() as session:
            return list(session.scalars(select(LibraryMove).where(LibraryMove.owner_id == principal.user_id)
                                        .order_by(LibraryMove.created_at.desc(), LibraryMove.id)))

    def get(self, principal: Principal, move_id: uuid.UUID) -> LibraryMove:
        with self.db.read() as session:
            return self._owned(session, principal.user_id, move_id)

    def pause(self, principal: Principal, move_id: uuid.UUID) -> LibraryMove:
        with self.db.write() as session:
            move = self._owned(session, principal.user_id, move_id, lock=True)
            if move.state == QUEUED:
                move.state = PAUSED
            elif move.state == RUNNING:
                move.pause_requested = True
            elif move.state != PAUSED:
                raise Conflict(f"move {move_id} is {move.state}: only a queued or running move pauses",
                               state=move.state)
            return move

    def resume(self, principal: Principal, move_id: uuid.UUID) -> LibraryMove:
        with self.db.write() as session:
            move = self._owned(session, principal.user_id, move_id, lock=True)
            if move.state == RUNNING and move.pause_requested:
                move.pause_requested = False  # asked to pause, then to go on before it stopped
                return move
            if move.state != PAUSED:
                raise Conflict(f"move {move_id} is {move.state}: only a paused move resumes", state=move.state)
            move.state, move.pause_requested, move.attempts, move.error = QUEUED, False, 0, None
            JobQueue.requeue_in(session, MOVE_JOB, job_subject(move_id), max_attempts=MOVE_ATTEMPTS + 1,
                                owner_id=principal.user_id)
        self.jobs.wake()
        return move

    def delete(self, principal: Principal, move_id: uuid.UUID) -> None:
        """Forget a move that is not running (with its record and credentials); what arrived stays there. A
        move whose job is over without saying so (a job given up) is not running, whatever its state says."""
        with self.db.write() as session:
            move = self._owned(session, principal.user_id, move_id, lock=True)
            if move.state in (QUEUED, RUNNING) and self._job_alive(session, move_id):
                raise Conflict(f"move {move_id} is {move.state}: pause it first", state=move.state)
            self._forget(session, [move_id])
        self._sweep([move_id])

    @staticmethod
    def _job_alive(session: Session, move_id: uuid.UUID) -> bool:
        return session.scalar(select(func.count()).select_from(Job).where(
            Job.kind == MOVE_JOB, Job.subject == job_subject(move_id), Job.status.in_([JOB_QUEUED, JOB_RUNNING]))) > 0

    @staticmethod
    def _owned(session: Session, user_id: int, move_id: uuid.UUID, lock: bool = False) -> LibraryMove:
        query = select(LibraryMove).where(LibraryMove.id == move_id, LibraryMove.owner_id == user_id)
        found = session.scalar(query.with_for_update() if lock else query)
        if found is None:
            raise NotFound(f"no move {move_id}")
        return found

    @staticmethod
    def _take_over_record(session: Session, move: LibraryMove) -> None:
        """What earlier moves to the same place recorded becomes this one's: it is not sent again, and
        their albums there are filled rather than made again."""
        earlier = list(session.scalars(select(LibraryMove.id).where(
            LibraryMove.owner_id == move.owner_id, LibraryMove.target_digest == move.target_digest,
            LibraryMove.id != move.id)))
        if earlier:
            session.execute(update(MovedItem).where(MovedItem.move_id.in_(earlier)).values(move_id=move.id))
            session.execute(update(MovedAlbum).where(MovedAlbum.move_id.in_(earlier)).values(move_id=move.id))

    @staticmethod
    def _forget(session: Session, move_ids: list[uuid.UUID]) -> int:
        """The moves' rows, their record's first (a database without foreign keys keeps no cascade): how many."""
        items = session.execute(delete(MovedItem).where(MovedItem.move_id.in_(move_ids))).rowcount
        albums = session.execute(delete(MovedAlbum).where(MovedAlbum.move_id.in_(move_ids))).rowcount
        return items + albums + session.execute(delete(LibraryMove).where(LibraryMove.id.in_(move_ids))).rowcount

    # -- the job ------------------------------------------------------------------------------------------

    def run(self, subject: str) -> None:
        """The `gallery.move` job: the library sent and verified, item after item, until done or paused."""
        move_id = uuid.UUID(subject.removeprefix("move:"))
        begun = self._begin(move_id)
        if begun is None:
            return
        owner_id, target = begun
        workdir = self.workdir / f"{move_id}.{secrets.token_hex(4)}"  # this run's: another may start as it ends
        recorder = ProgressRecorder(lambda *counts: self._progress(move_id, *counts))
        source = LibraryOnServer(self.db, self.blobs, owner_id, self.base_url, lambda: self.portable_files(owner_id))
        destination = None
        try:
            if not self.private_allowed and "url" in target.credentials:  # its name may point elsewhere by now
                check_public(target.credentials["url"])
            destination = destination_for(target, source, recorder, workdir, self.google_client)
            summary = Migration(source, destination, MoveRecord(self.db, move_id), recorder,
                                stop=lambda: self._pause_requested(move_id)).run()
            recorder.flush(force=True)
        except BadRequest as refusal:
            outcome = (FAILED, None, f"{target.label}: {refusal.message}")
        except ServerError as refusal:
            if refusal.transient:
                self._note_error(move_id, f"{target.label}: {refusal}")
                raise  # a server away for a while: the job runs again, from the record
            outcome = (FAILED, None, f"{target.label}: {refusal}")  # refused or unreachable: the user must act
        except Exception:
            log.exception("move %s stopped", move_id)
            self._note_error(move_id, "stopped by an error on this server (its log says more); it runs again")
            raise  # the job runs again, from the record
        else:
            report = summary.as_dict()
            report["failures"], report["skips"] = report["failures"][:MAX_FAILURES_KEPT], report["skips"][
                :MAX_FAILURES_KEPT]
            if destination.quota_spent:
                raise self._wait_for_quota(move_id, report)
            outcome = (PAUSED if summary.paused else DONE, report, None)
        finally:
            if destination is not None:
                destination.close()
            shutil.rmtree(workdir, ignore_errors=True)
        self._end(move_id, *outcome)  # once this run's files are gone: a resumed run may start at once

    def _note_error(self, move_id: uuid.UUID, error: str) -> None:
        with self.db.write() as session:
            session.execute(update(LibraryMove).where(LibraryMove.id == move_id).values(error=error[:4000]))

    def _begin(self, move_id: uuid.UUID) -> tuple[int, Target] | None:
        with self.db.write() as session:
            move = session.get(LibraryMove, move_id, with_for_update=True)
            if move is None or move.state not in (QUEUED, RUNNING) or move.credentials is None:
                return None
            if move.pause_requested:
                move.state, move.pause_requested = PAUSED, False
                return None
            move.attempts += 1
            move.state, move.started_at = RUNNING, move.started_at or utcnow()
            move.files_total = move.files_done = move.bytes_total = move.bytes_done = 0
            attempts, last_error = move.attempts, move.error
            owner_id, target = move.owner_id, Target(move.target, move.label, json.loads(move.credentials))
        if attempts > MOVE_ATTEMPTS:
            self._end(move_id, FAILED, None, f"gave up after {MOVE_ATTEMPTS} attempts; the last failed with: "
                                             f"{last_error}")
            return None
        return owner_id, target

    def _wait_for_quota(self, move_id: uuid.UUID, report: dict) -> DeferJob:
        """Google's daily quota is spent: the move waits, queued, until it is back (after midnight Pacific
        time), and goes on by itself then, costing no attempt."""
        now = utcnow()
        pacific = now.astimezone(PACIFIC)
        back = (pacific + dt.timedelta(days=1)).replace(hour=0, minute=5, second=0, microsecond=0)
        with self.db.write() as session:
            session.execute(update(LibraryMove).where(LibraryMove.id == move_id).values(
                state=QUEUED, attempts=0, pause_requested=False, report=json.dumps(report),
                error=f"Google Photos' daily quota is spent: the move goes on by itself at "
                      f"{back.astimezone(dt.UTC):%H:%M} UTC"))
        return DeferJob("Google Photos' daily quota is spent", back - pacific)

    def _pause_requested(self, move_id: uuid.UUID) -> bool:
        """Asked to pause, or gone (deleted with its account, say): either way, no more is sent."""
        with self.db.read() as session:
            asked = session.scalar(select(LibraryMove.pause_requested).where(LibraryMove.id == move_id))
        return asked is None or asked

    def _progress(self, move_id: uuid.UUID, files_total: int, files_done: int, bytes_total: int,
                  bytes_done: int) -> None:
        with self.db.write() as session:
            session.execute(update(LibraryMove).where(LibraryMove.id == move_id, LibraryMove.state == RUNNING)
                            .values(files_total=files_total, files_done=files_done, bytes_total=bytes_total,
                                    bytes_done=bytes_done))

    def _end(self, move_id: uuid.UUID, state: str, report: dict | None, error: str | None) -> None:
        """The run's outcome; the credentials go with a move that is over."""
        with self.db.write() as session:
            move = session.get(LibraryMove, move_id, with_for_update=True)
            if move is None:
                return
            move.state, move.pause_requested, move.error = state, False, error
            if report is not None:
                move.report = json.dumps(report)
            if state != PAUSED:
                move.credentials, move.finished_at = None, utcnow()
        log.info("move %s %s", move_id, state)

    # -- the gallery kind's hooks ----------------------------------------------------------------------------

    @staticmethod
    def rows_of_owner(session: Session, user_id: int) -> int:
        return session.scalar(select(func.count()).select_from(LibraryMove).where(LibraryMove.owner_id == user_id))

    def purge_user(self, user_id: int, record: Record) -> None:
        """Every move of the user, with its record and credentials, in one transaction."""
        with self.db.write() as session:
            moves = list(session.scalars(select(LibraryMove.id).where(LibraryMove.owner_id == user_id)))
            record(Purged(rows=self._forget(session, moves)), session)
        self._sweep(moves)

    def _sweep(self, move_ids: list[uuid.UUID]) -> None:
        """What runs of these moves left in their work folders (a run killed on its way: staged originals,
        a sign-in), once the moves are forgotten."""
        for move_id in move_ids:
            for leftover in self.workdir.glob(f"{move_id}.*"):
                shutil.rmtree(leftover, ignore_errors=True)
