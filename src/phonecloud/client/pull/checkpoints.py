"""The pull mirror's checkpoints: downloads are written without waiting for the disk; a thread of their
own names them and records the placed files in the mirror's state a batch at a time.

Two ways to be safe from a crash:
- durable (`pull --fsync`, or where the system's boot cannot be told): each group of downloads is made
  durable (their fsyncs issued together, which the filesystem serves with one journal commit) before the
  files take their names, and their folders before the state records them, so the state never records a
  file that a crash could lose;
- by default, as rsync and rclone write: nothing waits for the disk, and each row carries the boot that
  wrote it. What the state records stays true while the system runs (the page cache holds the bytes), so
  only a restart can make it wrong; the next pull checks the files of rows from another boot before it
  trusts them (mirror.py).
No transfer waits for the disk either way, and only the mirror's own files are flushed. Pure Python."""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path

from phonecloud.client.download import fsync_path
from phonecloud.client.pull.state import Placed, PullState

GROUP_FILES = 64
GROUP_SECONDS = 0.5
_BOOT_ID = Path("/proc/sys/kernel/random/boot_id")


def current_boot() -> str | None:
    """This boot of the system (Linux, Android); None where it cannot be told."""
    try:
        return _BOOT_ID.read_text().strip() or None
    except OSError:
        return None


@dataclass(frozen=True)
class Arrival:
    durable: list[Path]  # files to make durable first (bytes written without waiting for the disk)
    place: Callable[[], list[Placed]]  # then: names, links, mtimes; returns the rows placed


class Checkpoints:
    def __init__(self, state: PullState, root: Path, batch: int, fsyncs: int = 4, boot: str | None = None):
        """boot None: durable; else the rows are recorded as written during that boot, nothing fsynced."""
        self.state, self.root, self.batch, self.boot = state, root, batch, boot
        self.unsettled: list[tuple[float, list[str]]] = []  # (when, paths) recorded without waiting for the disk
        self._fsyncs = ThreadPoolExecutor(fsyncs, thread_name_prefix="pull-fsync")
        self._queue: queue.Queue[Arrival | None] = queue.Queue()
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="pull-checkpoints", daemon=True)
        self._thread.start()

    def submit(self, arrival: Arrival) -> None:
        if self._error is not None:
            raise self._error
        self._queue.put(arrival)

    def close(self) -> None:
        """Returns once everything submitted is durable and recorded (or raises what stopped that)."""
        if self._thread.is_alive():
            self._queue.put(None)
            self._thread.join()
        self._fsyncs.shutdown()
        if self._error is not None:
            raise self._error

    def _gather(self) -> tuple[list[Arrival], bool]:
        """One group: the next arrival, then what follows within GROUP_SECONDS, up to GROUP_FILES (fewer,
        larger journal commits, which also hold up the transfers' own file creations less often); and
        whether the end was reached."""
        group: list[Arrival] = []
        deadline = None
        while len(group) < GROUP_FILES:
            try:
                arrival = self._queue.get(timeout=None if deadline is None else max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                break
            if arrival is None:
                return group, True
            group.append(arrival)
            deadline = deadline or time.monotonic() + GROUP_SECONDS
        return group, False

    def _run(self) -> None:
        rows: list[Placed] = []
        done = False
        while not done:
            group, done = self._gather()
            try:
                if self.boot is None:
                    list(self._fsyncs.map(fsync_path, [path for arrival in group for path in arrival.durable]))
                for arrival in group:
                    rows += arrival.place()
                if rows and (done or len(rows) >= self.batch):
                    self._record(rows)
                    rows = []
            except BaseException as error:  # said by the next submit() or close(): never lost
                self._error = error
                return

    def _record(self, rows: list[Placed]) -> None:
        if self.boot is not None:
            self.state.record([replace(row, boot=self.boot) for row in rows])
            self.unsettled.append((time.monotonic(), [row.path for row in rows]))
            return
        for folder in sorted({(self.root / row.path).parent for row in rows}):
            fsync_path(folder, directory=True)  # the new names survive a crash before the state says so
        self.state.record(rows)
