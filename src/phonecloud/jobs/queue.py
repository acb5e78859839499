"""The job queue's operations. Claiming is one short write transaction: FOR UPDATE SKIP LOCKED on
PostgreSQL lets many workers claim side by side; SQLite has a single writer, so it needs no lock hint."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import and_, case, func, or_, select, update
from sqlalchemy.orm import Session

from phonecloud.core.db import Database, dialect_insert, utcnow
from phonecloud.jobs.models import DONE, FAILED, LATER, NOW, QUEUED, RUNNING, Job

SERVER = 0  # the owner of the server's own jobs (purges, sweeps)
_OWNERS_TRIED = 8  # owners whose jobs are all being claimed by others, passed over before taking the oldest

@dataclass(frozen=True)
class Claimed:
    id: int
    kind: str
    subject: str
    attempts: int
    max_attempts: int


@dataclass(frozen=True)
class WorkerActivity:
    """What one worker (host:pid) did lately, as the jobs it claimed tell: workers keep no other record."""

    worker: str
    running: int
    stale: int  # running jobs whose lease lapsed: the worker stopped renewing them (died or hung)
    done_last_hour: int
    failed_last_hour: int
    last_finished_at: dt.datetime | None


@dataclass(frozen=True)
class QueueHealth:
    ready: int  # queued and due: waiting for a free worker
    scheduled: int  # queued for later (retries after backoff, periodic jobs)
    running: int
    failed: int
    oldest_ready_since: dt.datetime | None


class JobQueue:
    def __init__(self, db: Database, lease: dt.timedelta = dt.timedelta(minutes=5),
                 backoff: dt.timedelta = dt.timedelta(seconds=10), backoff_cap: dt.timedelta = dt.timedelta(hours=1)):
        self.db = db
        self.lease = lease
        self.backoff = backoff
        self.backoff_cap = backoff_cap
        self._turn = -1  # the owner whose job this process claimed last (shared by its workers: any is fine)
        self.wake: Callable[[], None] = lambda: None  # this process's workers, told a job is waiting

    @staticmethod
    def enqueue_in(session: Session, kind: str, subject: str, max_attempts: int = 5,
                   run_after: dt.datetime | None = None, owner_id: int = SERVER, priority: int = NOW) -> None:
        """Add a job inside the caller's transaction (to run from run_after on, default now), as the work of
        owner_id (a user's id, or SERVER), with priority NOW or LATER (see claim); a job of that kind and
        subject already there stays."""
        dialect = session.get_bind().dialect.name
        statement = dialect_insert(dialect, Job.__table__).values(
            kind=kind, subject=subject, owner_id=owner_id, status=QUEUED, priority=priority, attempts=0,
            max_attempts=max_attempts, run_after=run_after or utcnow(),
            created_at=utcnow(),
        ).on_conflict_do_nothing(index_elements=["kind", "subject"])
        session.execute(statement)

    @staticmethod
    def requeue_in(session: Session, kind: str, subject: str, max_attempts: int = 5, owner_id: int = SERVER,
                   priority: int = NOW) -> None:
        """The job of that kind and subject to run again from now with a fresh set of attempts, inside the
        caller's transaction: added, or queued again from whatever state it ended in. A run still going
        then cannot record its outcome over it (see _owned)."""
        now = utcnow()
        again = dict(status=QUEUED, priority=priority, attempts=0, max_attempts=max_attempts, run_after=now,
                     lease_until=None, last_error=None, finished_at=None)
        statement = dialect_insert(session.get_bind().dialect.name, Job.__table__).values(
            kind=kind, subject=subject, owner_id=owner_id, created_at=now, **again)
        session.execute(statement.on_conflict_do_update(index_elements=["kind", "subject"], set_=again))

    def enqueue(self, kind: str, subject: str, max_attempts: int = 5, owner_id: int = SERVER,
                priority: int = NOW) -> None:
        with self.db.write() as session:
            self.enqueue_in(session, kind, subject, max_attempts, owner_id=owner_id, priority=priority)
        self.wake()

    def schedule_every(self, kind: str, interval: dt.timedelta, now: dt.datetime | None = None) -> None:
        """The run of a periodic job due at the next multiple of interval (UTC); asking again, from any
        process, adds nothing. Its handler asks for the next one when it has run."""
        now = now or utcnow()
        step = interval.total_seconds()
        due = dt.datetime.fromtimestamp((now.timestamp() // step + 1) * step, dt.UTC)
        with self.db.write() as session:
            self.enqueue_in(session, kind, f"at:{due.isoformat()}", run_after=due)

    def claim(self, worker: str, kinds: list[str]) -> Claimed | None:
        """The next ready job of these kinds, now leased to worker. A job whose worker died (its lease
        lapsed) goes first; then owners take turns, each with its oldest ready job. Jobs queued with priority
        LATER are claimed only when no job of priority NOW is ready: work that can wait (a preview, which
        its first view makes anyway) never holds up work someone waits for (the thumbnails of an upload)."""
        now = utcnow()
        with self.db.write() as session:
            job = self._next(session, kinds, now, NOW) or self._next(session, kinds, now, LATER)
            if job is None:
                return None
            job.status, job.worker, job.lease_until = RUNNING, worker, now + self.lease
            job.attempts += 1
            self._turn = job.owner_id
            return Claimed(job.id, job.kind, job.subject, job.attempts, job.max_attempts)

    def _next(self, session: Session, kinds: list[str], now: dt.datetime, priority: int) -> Job | None:
        """The job claim() takes among those of this priority."""
        return (self._lapsed(session, kinds, now, priority) or self._next_owners_job(session, kinds, now, priority)
                or session.scalar(self._ready(kinds, now, priority).order_by(Job.run_after, Job.id).limit(1)
                                  .with_for_update(skip_locked=True)))

    @staticmethod
    def _ready(kinds: list[str], now: dt.datetime, priority: int):
        return select(Job).where(Job.status == QUEUED, Job.priority == priority, Job.run_after <= now,
                                 Job.kind.in_(kinds))

    @staticmethod
    def _lapsed(session: Session, kinds: list[str], now: dt.datetime, priority: int) -> Job | None:
        return session.scalar(select(Job).where(Job.status == RUNNING, Job.priority == priority,
                                                Job.lease_until < now, Job.kind.in_(kinds))
                              .order_by(Job.lease_until, Job.id).limit(1).with_for_update(skip_locked=True))

    def _next_owners_job(self, session: Session, kinds: list[str], now: dt.datetime, priority: int) -> Job | None:
        """The oldest ready job of the first owner after the last one served (round robin, from the start
        again past the last owner). Both look-ups walk the (status, priority, owner_id, run_after) index. An
        owner whose ready jobs other workers are claiming right now (SKIP LOCKED) passes the turn on."""
        after, wrapped = self._turn, False
        for _ in range(_OWNERS_TRIED):
            owner = session.scalar(select(Job.owner_id).where(
                Job.status == QUEUED, Job.priority == priority, Job.owner_id > after, Job.run_after <= now,
                Job.kind.in_(kinds)).order_by(Job.owner_id).limit(1))
            if owner is None:
                if wrapped:
                    return None
                after, wrapped = -1, True
                continue
            job = session.scalar(self._ready(kinds, now, priority).where(Job.owner_id == owner)
                                 .order_by(Job.run_after, Job.id).limit(1).with_for_update(skip_locked=True))
            if job is not None:
                return job
            after = owner
        return None

    def _owned(self, claimed: Claimed):
        # A worker whose lease lapsed and whose job went to another must not overwrite that one's outcome.
        return and_(Job.id == claimed.id, Job.status == RUNNING, Job.attempts == claimed.attempts)

    def extend(self, claimed: Claimed) -> bool:
        with self.db.write() as session:
            result = session.execute(update(Job).where(self._owned(claimed)).values(lease_until=utcnow() + self.lease))
        return result.rowcount == 1

    def complete(self, claimed: Claimed) -> None:
        with self.db.write() as session:
            session.execute(update(Job).where(self._owned(claimed)).values(
                status=DONE, lease_until=None, last_error=None, finished_at=utcnow()))

    def fail(self, claimed: Claimed, error: str, retry: bool = True) -> bool:
        """Record a failure; retried later with exponential backoff unless it was the last attempt.
        Returns whether it will be retried."""
        again = retry and claimed.attempts < claimed.max_attempts
        delay = min(self.backoff * 2 ** (claimed.attempts - 1), self.backoff_cap)
        values = (dict(status=QUEUED, run_after=utcnow() + delay) if again
                  else dict(status=FAILED, finished_at=utcnow()))
        with self.db.write() as session:
            session.execute(update(Job).where(self._owned(claimed)).values(
                lease_until=None, last_error=error[:4000], **values))
        return again

    def defer(self, claimed: Claimed, delay: dt.timedelta, reason: str) -> None:
        """Put a job back to run after delay without using up an attempt: it is waiting, not failing."""
        with self.db.write() as session:
            session.execute(update(Job).where(self._owned(claimed)).values(
                status=QUEUED, attempts=claimed.attempts - 1, run_after=utcnow() + delay, lease_until=None,
                last_error=reason[:4000]))

    def retry_failed(self, kind: str | None = None) -> int:
        """Give failed jobs a fresh set of attempts (after a fix, for example)."""
        condition = Job.status == FAILED if kind is None else and_(Job.status == FAILED, Job.kind == kind)
        with self.db.write() as session:
            result = session.execute(update(Job).where(condition).values(
                status=QUEUED, attempts=0, run_after=utcnow(), finished_at=None))
        return result.rowcount

    def counts(self) -> dict[tuple[str, str], int]:
        """(kind, status) → number of jobs."""
        with self.db.read() as session:
            rows = session.execute(select(Job.kind, Job.status, func.count()).group_by(Job.kind, Job.status))
            return {(kind, status): count for kind, status, count in rows}

    def failures(self, limit: int = 50) -> list[Job]:
        with self.db.read() as session:
            return list(session.scalars(
                select(Job).where(Job.status == FAILED).order_by(Job.finished_at.desc()).limit(limit)))

    def pending(self, kinds: list[str] | None = None) -> int:
        """Jobs not yet finished (queued or running)."""
        condition = Job.status.in_([QUEUED, RUNNING])
        if kinds:
            condition = and_(condition, Job.kind.in_(kinds))
        with self.db.read() as session:
            return session.scalar(select(func.count()).select_from(Job).where(condition)) or 0

    def health(self) -> QueueHealth:
        now = utcnow()
        queued = Job.status == QUEUED

        def count(condition):
            return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)

        query = select(count(and_(queued, Job.run_after <= now)), count(and_(queued, Job.run_after > now)),
                       count(Job.status == RUNNING), count(Job.status == FAILED),
                       func.min(case((and_(queued, Job.run_after <= now), Job.run_after))))
        with self.db.read() as session:
            ready, scheduled, running, failed, oldest = session.execute(query).one()
        return QueueHealth(ready, scheduled, running, failed, oldest)

    def worker_activity(self, window: dt.timedelta = dt.timedelta(hours=24)) -> list[WorkerActivity]:
        """Every worker that holds a job or finished one within window, busiest first."""
        now = utcnow()
        hour_ago = now - dt.timedelta(hours=1)

        def count(condition):
            return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)

        query = (
            select(Job.worker, count(Job.status == RUNNING), count(and_(Job.status == RUNNING, Job.lease_until < now)),
                   count(and_(Job.status == DONE, Job.finished_at >= hour_ago)),
                   count(and_(Job.status == FAILED, Job.finished_at >= hour_ago)), func.max(Job.finished_at))
            .where(Job.worker.is_not(None), or_(Job.status == RUNNING, Job.finished_at >= now - window))
            .group_by(Job.worker)
        )
        with self.db.read() as session:
            rows = [WorkerActivity(*row) for row in session.execute(query)]
        return sorted(rows, key=lambda row: (-row.running, -row.done_last_hour, row.worker))


__all__ = ["Claimed", "JobQueue", "DONE", "FAILED", "LATER", "NOW", "QUEUED", "RUNNING", "SERVER"]
