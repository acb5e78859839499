"""Deleting an account: at once, the person can no longer sign in and every session and key stops working;
then, as a resumable job, every holder of the user's data (each data kind, resumable uploads, exports) purges
it, whatever is left under the user's blob prefix is swept, the user's rows go, and a final scan proves that
no blob under the prefix and no row of the user remains. The result is a receipt: what each holder removed
(rows, blobs, bytes), when, and the scan, kept without personal data beyond the email's SHA-256.

A crash or SIGKILL anywhere resumes: every step is idempotent, one runner holds the deletion at a time
(a lease on its row), and what each batch removed is recorded as soon as it is removed.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from sqlalchemy import delete, func, or_, select, update
from sqlalchemy.orm import Session

from phonecloud.accounts import security
from phonecloud.accounts.models import AccountDeletion, ApiKey, LoginSession, User
from phonecloud.accounts.service import Principal
from phonecloud.core.blobstore import BlobNotFound, BlobStore
from phonecloud.core.db import Base, Database, utcnow
from phonecloud.core.errors import BadRequest, NotFound
from phonecloud.core.kinds import Purged, Record
from phonecloud.jobs.models import QUEUED, RUNNING, Job
from phonecloud.jobs.queue import SERVER, JobQueue
from phonecloud.jobs.worker import DeferJob, PermanentJobError

DELETION_JOB = "accounts.delete"
# Blobs the final sweep found under the prefix: those of removed items that a crash kept from being deleted
# (counted with their items already), and any stray.
LEFT_BEHIND = "swept_at_end"
IN_PROGRESS, DONE = "running", "done"
_WAIT_FOR_JOBS = dt.timedelta(seconds=2)  # the user's jobs already running finish before the final sweep


@dataclass(frozen=True)
class Holder:
    """Something that keeps data of a user: a data kind, or the server's own per-user data."""

    name: str
    purge: Callable[[int, Record], None]  # (user id, record each batch's removal)
    rows_left: Callable[[Session, int], int]


def prefix_of(user_id: int) -> str:
    return f"users/{user_id}/"


def email_sha256(email: str) -> str:
    return hashlib.sha256(email.strip().lower().encode()).hexdigest()


class DeletionService:
    def __init__(self, db: Database, blobs: BlobStore, jobs: JobQueue, holders: Sequence[Holder],
                 lease: dt.timedelta = dt.timedelta(minutes=5)):
        """lease: how long a runner that went silent holds the deletion (renewed with every batch); a deletion
        a command started is taken up by a job worker once that long has passed without it finishing."""
        self.db = db
        self.blobs = blobs
        self.jobs = jobs
        self.holders = holders
        self.lease = lease

    # -- starting -----------------------------------------------------------------------------------------

    def delete_own(self, principal: Principal, password: str) -> AccountDeletion:
        """The caller deletes their own account, with their password (whatever they signed in with)."""
        with self.db.read() as session:
            user = session.get(User, principal.user_id)
        if not security.verify_password(user.password_hash, password):
            raise BadRequest("the password is wrong: the account was not deleted")
        return self.start(user.id, "self", run_now=False)

    def delete_by_admin(self, acting: Principal, email: str, run_now: bool = False) -> AccountDeletion:
        acting.require_admin()
        with self.db.read() as session:
            user = session.scalar(select(User).where(User.email == email.strip().lower()))
        if user is None:
            raise NotFound(f"no user with email {email}")
        return self.start(user.id, "admin", run_now)

    def start(self, user_id: int, requested_by: str, run_now: bool) -> AccountDeletion:
        """Close the account at once and queue its deletion (run_now: the caller runs it itself, and a worker
        takes it up only if the caller stops). Asking again while it runs returns the same deletion."""
        now = utcnow()
        with self.db.write() as session:
            running = session.scalar(select(AccountDeletion).where(AccountDeletion.user_id == user_id,
                                                                   AccountDeletion.state == IN_PROGRESS))
            if running is not None:
                return running
            user = session.get(User, user_id)
            deletion = AccountDeletion(id=uuid.uuid4(), user_id=user_id, email_sha256=email_sha256(user.email),
                                       requested_by=requested_by, state=IN_PROGRESS, started_at=now,
                                       receipt=json.dumps({"removed": {name: Purged().as_dict() for name in [
                                           *(holder.name for holder in self.holders), LEFT_BEHIND]},
                                           "finished": []}))
            session.add(deletion)
            session.execute(update(User).where(User.id == user_id).values(disabled=True))
            session.execute(update(LoginSession).where(LoginSession.user_id == user_id,
                                                       LoginSession.revoked_at.is_(None)).values(revoked_at=now))
            session.execute(update(ApiKey).where(ApiKey.user_id == user_id, ApiKey.revoked_at.is_(None))
                            .values(revoked_at=now))
            session.execute(delete(Job).where(Job.owner_id == user_id, Job.status == QUEUED))  # their work is moot
            JobQueue.enqueue_in(session, DELETION_JOB, f"deletion:{deletion.id}", max_attempts=20,
                                run_after=now + self.lease if run_now else now, owner_id=SERVER)
        self.jobs.wake()
        return deletion

    # -- running ------------------------------------------------------------------------------------------

    def run(self, subject: str) -> AccountDeletion:
        """The `accounts.delete` job (and the admin command, which runs it at once)."""
        try:
            deletion_id = uuid.UUID(subject.removeprefix("deletion:"))
        except ValueError:
            raise PermanentJobError(f"not a deletion: {subject!r}") from None
        if not self._take(deletion_id):
            raise DeferJob("another process is running this deletion", self.lease)
        try:
            deletion = self.receipt(deletion_id)
            if deletion.state == DONE:
                return deletion
            user_id = deletion.user_id
            finished = set(json.loads(deletion.receipt)["finished"])
            for holder in self.holders:
                if holder.name not in finished:
                    holder.purge(user_id, lambda removed, session, name=holder.name:
                                 self._record(deletion_id, name, removed, session))
                    self._finish_holder(deletion_id, holder.name)
            self._cancel_jobs(user_id)
            self._record(deletion_id, LEFT_BEHIND, self._sweep(user_id))
            self._delete_user(user_id)
            return self._conclude(deletion_id, user_id)
        finally:
            self._release(deletion_id)

    def run_here(self, deletion: AccountDeletion) -> AccountDeletion:
        """Run a deletion in this process to its end (the admin command), waiting out what must finish first."""
        while True:
            try:
                return self.run(f"deletion:{deletion.id}")
            except DeferJob as wait:
                time.sleep(min(wait.delay.total_seconds(), _WAIT_FOR_JOBS.total_seconds()))

    def receipt(self, deletion_id: uuid.UUID) -> AccountDeletion:
        with self.db.read() as session:
            deletion = session.get(AccountDeletion, deletion_id)
        if deletion is None:
            raise NotFound(f"no account deletion {deletion_id}")
        return deletion

    # -- the steps ----------------------------------------------------------------------------------------

    def _take(self, deletion_id: uuid.UUID) -> bool:
        now = utcnow()
        with self.db.write() as session:
            taken = session.execute(update(AccountDeletion).where(
                AccountDeletion.id == deletion_id,
                or_(AccountDeletion.lease_until.is_(None), AccountDeletion.lease_until < now))
                .values(lease_until=now + self.lease))
        return taken.rowcount == 1

    def _release(self, deletion_id: uuid.UUID) -> None:
        with self.db.write() as session:
            session.execute(update(AccountDeletion).where(AccountDeletion.id == deletion_id).values(lease_until=None))

    def _change(self, deletion_id: uuid.UUID, change: Callable[[dict], None], session: Session | None = None) -> None:
        """Change the receipt with its row locked, renewing the lease: in the caller's transaction when given
        (a purge's, so that what it counts commits with what it deleted), else in one of its own."""
        if session is None:
            with self.db.write() as own:
                return self._change(deletion_id, change, own)
        deletion = session.scalar(select(AccountDeletion).where(AccountDeletion.id == deletion_id).with_for_update())
        receipt = json.loads(deletion.receipt)
        change(receipt)
        deletion.receipt = json.dumps(receipt)
        deletion.lease_until = utcnow() + self.lease

    def _record(self, deletion_id: uuid.UUID, holder: str, removed: Purged, session: Session | None = None) -> None:
        def add(receipt: dict) -> None:
            counts = receipt["removed"].setdefault(holder, Purged().as_dict())
            for name, value in removed.as_dict().items():
                counts[name] += value

        self._change(deletion_id, add, session)

    def _finish_holder(self, deletion_id: uuid.UUID, holder: str) -> None:
        self._change(deletion_id, lambda receipt: receipt["finished"].append(holder))

    def _cancel_jobs(self, user_id: int) -> None:
        """The user's queued jobs go; those already running finish first (they may still write a blob)."""
        with self.db.write() as session:
            session.execute(delete(Job).where(Job.owner_id == user_id, Job.status == QUEUED))
            running = session.scalar(select(func.count()).select_from(Job).where(
                Job.owner_id == user_id, Job.status == RUNNING, Job.lease_until >= utcnow()))
        if running:
            raise DeferJob(f"waiting for {running} of the user's jobs to finish", _WAIT_FOR_JOBS)

    def _sweep(self, user_id: int) -> Purged:
        """Whatever is still under the user's prefix (a crash between a row's deletion and its blob's)."""
        swept = Purged()
        for key in list(self.blobs.iterate(prefix_of(user_id))):
            try:
                size = self.blobs.size(key)
            except BlobNotFound:
                continue
            self.blobs.delete(key)
            swept.blobs += 1
            swept.bytes += size
        return swept

    def _delete_user(self, user_id: int) -> None:
        with self.db.write() as session:
            session.execute(delete(Job).where(Job.owner_id == user_id))
            session.execute(delete(User).where(User.id == user_id))  # devices, keys, sessions go with it

    def _conclude(self, deletion_id: uuid.UUID, user_id: int) -> AccountDeletion:
        blobs_left = sum(1 for _ in self.blobs.iterate(prefix_of(user_id)))
        with self.db.read() as session:
            rows_left = {holder.name: holder.rows_left(session, user_id) for holder in self.holders}
            rows_left.update(_rows_referencing_user(session, user_id))
        rows_left = {name: count for name, count in rows_left.items() if count}

        def conclude(receipt: dict) -> None:
            receipt["final_scan"] = {"blobs_under_prefix": blobs_left, "rows_left": rows_left,
                                     "clean": not blobs_left and not rows_left}

        self._change(deletion_id, conclude)
        with self.db.write() as session:
            session.execute(update(AccountDeletion).where(AccountDeletion.id == deletion_id).values(
                state=DONE, finished_at=utcnow(), user_id=None))
        return self.receipt(deletion_id)


def _rows_referencing_user(session: Session, user_id: int) -> dict[str, int]:
    """Rows of every table whose foreign key names the users table, and jobs of the user: all must be 0."""
    counts = {"jobs": session.scalar(select(func.count()).select_from(Job).where(Job.owner_id == user_id)) or 0}
    for table in Base.metadata.sorted_tables:
        for column in table.columns:
            if any(key.column.table.name == User.__tablename__ for key in column.foreign_keys):
                counts[f"{table.name}.{column.name}"] = session.scalar(
                    select(func.count()).select_from(table).where(column == user_id)) or 0
    counts["users"] = session.scalar(select(func.count()).select_from(User).where(User.id == user_id)) or 0
    return counts


def receipt_json(deletion: AccountDeletion) -> dict:
    """The receipt as the API and the CLI give it."""
    body = json.loads(deletion.receipt)
    return {"id": str(deletion.id), "state": deletion.state, "email_sha256": deletion.email_sha256,
            "requested_by": deletion.requested_by, "started_at": deletion.started_at.isoformat(),
            "finished_at": deletion.finished_at.isoformat() if deletion.finished_at else None,
            "removed": body["removed"], "final_scan": body.get("final_scan")}
