from __future__ import annotations

import datetime as dt

from sqlalchemy import Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from phonecloud.core.db import Base, UTCDateTime, utcnow

QUEUED = "queued"
RUNNING = "running"
DONE = "done"
FAILED = "failed"

NOW, LATER = 0, 1  # job priorities


class Job(Base):
    __tablename__ = "jobs"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(64))
    # What the job is about, e.g. "asset:<uuid>"; (kind, subject) is unique, which makes enqueueing idempotent.
    subject: Mapped[str] = mapped_column(String(200))
    # Whose work it is (0: the server's own): workers take owners in turn, so one user's thousand uploads
    # never make another's one photo wait for all of them.
    owner_id: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    status: Mapped[str] = mapped_column(String(16), default=QUEUED)
    # NOW, or LATER for work that can wait (a preview, which its first view makes anyway): claimed only when no
    # job of priority NOW is ready. First in both indexes after the status, so that a backlog of later jobs
    # costs the claims of the others nothing.
    priority: Mapped[int] = mapped_column(Integer, default=NOW, server_default=str(NOW))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    max_attempts: Mapped[int] = mapped_column(Integer, default=5)
    run_after: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    # A running job whose lease has passed belongs to a worker that died: it is claimed again.
    lease_until: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    worker: Mapped[str | None] = mapped_column(String(200))
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    finished_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)

    __table_args__ = (
        UniqueConstraint("kind", "subject", name="uq_jobs_kind_subject"),
        Index("ix_jobs_ready", "status", "priority", "run_after"),
        Index("ix_jobs_turns", "status", "priority", "owner_id", "run_after"),
    )


class WorkerHeartbeat(Base):
    """One job worker process (a pool of threads), as it last said it was: written every few seconds by the
    process itself (jobs.heartbeat), so the admin page tells live workers from silent ones."""

    __tablename__ = "job_workers"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)  # random per process start
    host: Mapped[str] = mapped_column(String(200))
    pid: Mapped[int] = mapped_column(Integer)
    threads: Mapped[int] = mapped_column(Integer)
    started_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    last_seen_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, index=True)
    jobs_done: Mapped[int] = mapped_column(Integer, default=0)
    jobs_failed: Mapped[int] = mapped_column(Integer, default=0)
    current_jobs: Mapped[str | None] = mapped_column(Text)  # "kind subject" per running job, one a line
    stopped_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)  # set when it stopped cleanly
