"""What the admin pages show, shaped from the services' records."""

from __future__ import annotations

import datetime as dt

from phonecloud.core.db import utcnow
from phonecloud.jobs.heartbeat import LIVE, STALE, WorkerStatus
from phonecloud.jobs.queue import QueueHealth


def waited(since: dt.datetime | None) -> str | None:
    """How long ago, in words, for the job queue page."""
    if since is None:
        return None
    seconds = max(0, int((utcnow() - since).total_seconds()))
    if seconds < 120:
        return f"{seconds} s"
    return f"{seconds // 60} min" if seconds < 7200 else f"{seconds // 3600} h"


def queue_state(health: QueueHealth, workers: list[WorkerStatus]) -> str:
    """One line on the job workers' health, from the queue and the workers' heartbeats."""
    stale = [worker.name for worker in workers if worker.state == STALE]
    if stale:
        return f"a worker stopped responding ({', '.join(stale)}); its jobs run again when their lease lapses"
    if health.ready and not any(worker.state == LIVE for worker in workers):
        return "jobs are waiting and no worker is live: is a worker running?"
    if health.ready:
        return "busy: workers are catching up"
    return "healthy: nothing waiting"
