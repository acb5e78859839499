"""The one clock everything time-driven reads (memberships that end, scheduled notices, retirement steps,
job leases): the system's UTC time, moved by an offset that tests and rehearsals of a schedule can set.

In one process, `CLOCK.travel(delta)`; across processes (a server and its job workers started by a test), the
file named by PHONECLOUD_CLOCK_FILE holds the offset in seconds and every process follows it. Unset, as in
production, the clock is the system's and costs nothing more.
"""

from __future__ import annotations

import datetime as dt
import os
import threading
from pathlib import Path

CLOCK_FILE_ENV = "PHONECLOUD_CLOCK_FILE"


class Clock:
    def __init__(self, offset_file: str | None = None):
        self._offset = dt.timedelta(0)
        self._file = Path(offset_file) if offset_file else None
        self._file_seen: tuple[int, dt.timedelta] | None = None  # (mtime_ns, offset) last read from the file
        self._lock = threading.Lock()

    def now(self) -> dt.datetime:
        return dt.datetime.now(dt.UTC) + self.offset()

    def offset(self) -> dt.timedelta:
        if self._file is None:
            return self._offset
        return self._offset + self._file_offset()

    def travel(self, delta: dt.timedelta) -> None:
        """Move this process's clock by delta (forward or back)."""
        with self._lock:
            self._offset += delta

    def reset(self) -> None:
        with self._lock:
            self._offset = dt.timedelta(0)

    def _file_offset(self) -> dt.timedelta:
        try:
            mtime = self._file.stat().st_mtime_ns
        except FileNotFoundError:
            return dt.timedelta(0)
        seen = self._file_seen
        if seen is not None and seen[0] == mtime:
            return seen[1]
        try:
            offset = dt.timedelta(seconds=float(self._file.read_text().strip() or 0))
        except (OSError, ValueError):
            return seen[1] if seen else dt.timedelta(0)  # being rewritten: keep the last offset read
        self._file_seen = (mtime, offset)
        return offset


def write_offset(path: Path, offset: dt.timedelta) -> None:
    """Set the offset every process following path reads (atomically: a reader never sees half a number)."""
    partial = path.with_name(path.name + ".partial")
    partial.write_text(str(offset.total_seconds()))
    os.replace(partial, path)


CLOCK = Clock(os.environ.get(CLOCK_FILE_ENV))
