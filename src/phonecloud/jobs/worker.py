"""Workers: threads that claim jobs, run their handlers, and keep their leases alive while they run; a
started pool also records its heartbeat (jobs.heartbeat) for the admin page."""

from __future__ import annotations

import datetime as dt
import logging
import os
import socket
import threading
import time
import traceback
import uuid
from collections.abc import Callable

from phonecloud.core.db import utcnow
from phonecloud.jobs.heartbeat import Beat, Heartbeats
from phonecloud.jobs.queue import Claimed, JobQueue

log = logging.getLogger("phonecloud.jobs")

Handler = Callable[[str], None]


class PermanentJobError(Exception):
    """The job can never succeed (for example: the file is not an image); do not retry it."""


class DeferJob(Exception):
    """The job cannot run yet (it waits for other jobs): run it again after `delay`, costing no attempt."""

    def __init__(self, reason: str, delay: dt.timedelta):
        super().__init__(reason)
        self.delay = delay


class WorkerPool:
    def __init__(self, queue: JobQueue, handlers: dict[str, Handler], threads: int = 1, poll_seconds: float = 1.0,
                 heartbeats: Heartbeats | None = None):
        self.queue = queue
        self.handlers = handlers
        self.threads = threads
        self.poll_seconds = poll_seconds
        self.heartbeats = heartbeats
        self.name = f"{socket.gethostname()}:{os.getpid()}"
        self.id = uuid.uuid4().hex
        self.started_at = utcnow()
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._workers: list[threading.Thread] = []
        self._tally = threading.Lock()  # guards the counts and the running jobs below
        self._done = 0
        self._failed = 0
        self._running: dict[int, str] = {}  # thread id → "kind subject"
        self._deferred_due: float | None = None  # monotonic time the soonest job this pool deferred is due

    def start(self) -> None:
        """Start the worker threads (again, after a stop)."""
        self._stop.clear()
        for number in range(self.threads):
            thread = threading.Thread(target=self._loop, name=f"phonecloud-worker-{number}", daemon=True)
            thread.start()
            self._workers.append(thread)
        if self.heartbeats is not None:
            thread = threading.Thread(target=self._beat, name="phonecloud-worker-heartbeat", daemon=True)
            thread.start()
            self._workers.append(thread)

    def stop(self, timeout: float = 30.0) -> None:
        self._stop.set()
        self._wake.set()
        for thread in self._workers:
            thread.join(timeout)
        if self.heartbeats is not None and self._workers:
            self.heartbeats.stopped(self.id)
        self._workers.clear()

    def _beat(self) -> None:
        host, pid = self.name.rsplit(":", 1)
        while True:
            with self._tally:
                beat = Beat(self.id, host, int(pid), self.threads, self.started_at, self._done, self._failed,
                            sorted(self._running.values()))
            try:
                self.heartbeats.beat(beat)
            except Exception:  # the database went away for a moment: the next beat tries again
                log.exception("job worker heartbeat error")
            if self._stop.wait(self.heartbeats.interval.total_seconds()):
                return

    def wake(self) -> None:
        """Look for work now rather than at the next poll (called after enqueueing in this process)."""
        self._wake.set()

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                worked = self.run_one()
            except Exception:  # the database went away for a moment: keep the worker alive
                log.exception("job worker error")
                worked = False
            if not worked:
                self._wake.wait(self._idle_seconds())
                self._wake.clear()

    def _idle_seconds(self) -> float:
        """Until the next poll, or sooner when a job this pool deferred falls due (an export waiting for the
        media pipeline resumes a moment after it is done, not a poll later)."""
        with self._tally:
            if self._deferred_due is None:
                return self.poll_seconds
            until_due = self._deferred_due - time.monotonic()
            if until_due <= 0:
                self._deferred_due = None
            return min(self.poll_seconds, max(until_due, 0.0))

    def run_one(self) -> bool:
        """Claim and run one job; False when none was ready."""
        claimed = self.queue.claim(self.name, list(self.handlers))
        if claimed is None:
            return False
        self._run(claimed)
        return True

    def run_until_idle(self) -> int:
        """Run jobs in this thread until none is ready; returns how many ran."""
        count = 0
        while self.run_one():
            count += 1
        return count

    def _run(self, claimed: Claimed) -> None:
        finished = threading.Event()
        keeper = threading.Thread(target=self._keep_lease, args=(claimed, finished), daemon=True)
        keeper.start()
        with self._tally:
            self._running[threading.get_ident()] = f"{claimed.kind} {claimed.subject}"
        succeeded: bool | None = False  # None: deferred, neither done nor failed
        try:
            self.handlers[claimed.kind](claimed.subject)
        except DeferJob as wait:
            self.queue.defer(claimed, wait.delay, str(wait))
            succeeded = None
            due = time.monotonic() + wait.delay.total_seconds()
            with self._tally:
                self._deferred_due = min(due, self._deferred_due or due)
        except PermanentJobError as error:
            self.queue.fail(claimed, str(error), retry=False)
            log.warning("job %s %s failed for good: %s", claimed.kind, claimed.subject, error)
        except Exception as error:
            retried = self.queue.fail(claimed, "".join(traceback.format_exception_only(error)).strip())
            log.warning("job %s %s failed (attempt %d%s): %s", claimed.kind, claimed.subject, claimed.attempts,
                        ", will retry" if retried else ", giving up", error)
        else:
            self.queue.complete(claimed)
            succeeded = True
        finally:
            finished.set()
            keeper.join()
            with self._tally:
                del self._running[threading.get_ident()]
                self._done += succeeded is True
                self._failed += succeeded is False

    def _keep_lease(self, claimed: Claimed, finished: threading.Event) -> None:
        interval = self.queue.lease.total_seconds() / 3
        while not finished.wait(interval):
            if not self.queue.extend(claimed):
                return
