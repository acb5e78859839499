"""Heartbeats of job worker processes: every few seconds each running pool records that it is alive,
how many jobs it did and which it runs now, so the admin page tells live workers from stale ones (silent:
died or hung) and from gone ones (stopped, or silent for long); rows of workers gone for a day are pruned."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import delete, select, update

from phonecloud.core.db import Database, upsert, utcnow
from phonecloud.jobs.models import WorkerHeartbeat

LIVE, STALE, GONE = "live", "stale", "gone"
STALE_AFTER_BEATS = 3  # silent for three beats: the process died or hangs
GONE_AFTER = dt.timedelta(hours=1)  # silent this long: taken as gone for good
PRUNE_AFTER = dt.timedelta(days=1)  # gone this long: its row is deleted


@dataclass(frozen=True)
class Beat:
    """What a worker process says of itself at each beat."""

    id: str
    host: str
    pid: int
    threads: int
    started_at: dt.datetime
    jobs_done: int
    jobs_failed: int
    current_jobs: list[str]


@dataclass(frozen=True)
class WorkerStatus:
    id: str
    name: str  # host:pid, as the jobs it claims name it
    state: str  # live | stale | gone
    started_at: dt.datetime
    last_seen_at: dt.datetime
    stopped: bool
    threads: int
    jobs_done: int
    jobs_failed: int
    current_jobs: list[str]


class Heartbeats:
    def __init__(self, db: Database, interval: dt.timedelta):
        self.db = db
        self.interval = interval

    def beat(self, beat: Beat) -> None:
        now = utcnow()
        row = {"id": beat.id, "host": beat.host, "pid": beat.pid, "threads": beat.threads,
               "started_at": beat.started_at, "last_seen_at": now, "jobs_done": beat.jobs_done,
               "jobs_failed": beat.jobs_failed, "current_jobs": "\n".join(beat.current_jobs) or None}
        with self.db.write() as session:
            session.execute(upsert(self.db.dialect, WorkerHeartbeat.__table__, row))
            session.execute(delete(WorkerHeartbeat).where(WorkerHeartbeat.last_seen_at < now - PRUNE_AFTER))

    def stopped(self, worker_id: str) -> None:
        now = utcnow()
        with self.db.write() as session:
            session.execute(update(WorkerHeartbeat).where(WorkerHeartbeat.id == worker_id)
                            .values(stopped_at=now, last_seen_at=now, current_jobs=None))

    def workers(self) -> list[WorkerStatus]:
        """Every worker not yet pruned: live ones first, then stale, then gone; the latest started first."""
        now = utcnow()
        with self.db.read() as session:
            rows = session.scalars(select(WorkerHeartbeat)).all()
        statuses = [self._status(row, now) for row in rows]
        order = {LIVE: 0, STALE: 1, GONE: 2}
        return sorted(statuses, key=lambda status: (order[status.state], -status.started_at.timestamp()))

    def _status(self, row: WorkerHeartbeat, now: dt.datetime) -> WorkerStatus:
        silent = now - row.last_seen_at
        if row.stopped_at is not None or silent > GONE_AFTER:
            state = GONE
        else:
            state = STALE if silent > self.interval * STALE_AFTER_BEATS else LIVE
        return WorkerStatus(row.id, f"{row.host}:{row.pid}", state, row.started_at, row.last_seen_at,
                            row.stopped_at is not None, row.threads, row.jobs_done, row.jobs_failed,
                            row.current_jobs.splitlines() if row.current_jobs else [])
