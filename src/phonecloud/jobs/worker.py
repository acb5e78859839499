"""Workers: threads that claim jobs, run their handlers, and keep their leases alive while they run."""

from __future__ import annotations

import logging
import os
import socket
import threading
import traceback
from collections.abc import Callable

from phonecloud.jobs.queue import Claimed, JobQueue

log = logging.getLogger("phonecloud.jobs")

Handler = Callable[[str], None]


class PermanentJobError(Exception):
    """The job can never succeed (for example: the file is not an image); do not retry it."""


class WorkerPool:
    def __init__(self, queue: JobQueue, handlers: dict[str, Handler], threads: int = 1, poll_seconds: float = 1.0):
        self.queue = queue
        self.handlers = handlers
        self.threads = threads
        self.poll_seconds = poll_seconds
        self.name = f"{socket.gethostname()}:{os.getpid()}"
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._workers: list[threading.Thread] = []

    def start(self) -> None:
        for number in range(self.threads):
            thread = threading.Thread(target=self._loop, name=f"phonecloud-worker-{number}", daemon=True)
            thread.start()
            self._workers.append(thread)

    def stop(self, timeout: float = 30.0) -> None:
        self._stop.set()
        self._wake.set()
        for thread in self._workers:
            thread.join(timeout)
        self._workers.clear()

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
                self._wake.wait(self.poll_seconds)
                self._wake.clear()

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
        try:
            self.handlers[claimed.kind](claimed.subject)
        except PermanentJobError as error:
            self.queue.fail(claimed, str(error), retry=False)
            log.warning("job %s %s failed for good: %s", claimed.kind, claimed.subject, error)
        except Exception as error:
            retried = self.queue.fail(claimed, "".join(traceback.format_exception_only(error)).strip())
            log.warning("job %s %s failed (attempt %d%s): %s", claimed.kind, claimed.subject, claimed.attempts,
                        ", will retry" if retried else ", giving up", error)
        else:
            self.queue.complete(claimed)
        finally:
            finished.set()
            keeper.join()

    def _keep_lease(self, claimed: Claimed, finished: threading.Event) -> None:
        interval = self.queue.lease.total_seconds() / 3
        while not finished.wait(interval):
            if not self.queue.extend(claimed):
                return
