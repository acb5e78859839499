"""What a run tells the person: a Rich progress bar on a terminal, plain lines elsewhere. Reporter counts
files as they are done (sync); TransferReporter counts bytes as they arrive (export, pull, import), so a
large file moves the bar while it transfers, not only when it is done."""

from __future__ import annotations

import sys
import threading
import time

from rich.console import Console
from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeRemainingColumn, TransferSpeedColumn

PLAIN_INTERVAL = 5.0


class Reporter:
    """Counts files and bytes to do and done; thread-safe, since transfers run in parallel."""

    def __init__(self, rich: bool | None = None, label: str = "backing up"):
        self.label = label
        self.console = Console(stderr=True)
        self.rich = self.console.is_terminal if rich is None else rich
        self._lock = threading.Lock()
        self._files_total = self._bytes_total = self._files_done = self._bytes_done = 0
        self._last_plain = time.monotonic()
        self._progress: Progress | None = None
        self._task = None

    def __enter__(self) -> Reporter:
        if self.rich:
            self._progress = Progress(
                TextColumn(f"[bold]{self.label}"), BarColumn(), TextColumn("{task.fields[files]} files"),
                DownloadColumn(), TransferSpeedColumn(), TimeRemainingColumn(), console=self.console,
            )
            self._progress.start()
            self._task = self._progress.add_task("backup", total=0, files="0/0")
        return self

    def __exit__(self, *exc_info) -> None:
        if self._progress is not None:
            self._progress.stop()

    def _show(self) -> None:
        if self._progress is not None:
            self._progress.update(self._task, total=self._bytes_total, completed=self._bytes_done,
                                  files=f"{self._files_done}/{self._files_total}")

    def planned(self, files: int, size: int) -> None:
        with self._lock:
            self._files_total += files
            self._bytes_total += size
            self._show()

    def done(self, size: int, line: str | None = None) -> None:
        with self._lock:
            self._files_done += 1
            self._bytes_done += size
            self._show()
            if line:
                self.say(line)
            if not self.rich and time.monotonic() - self._last_plain > PLAIN_INTERVAL:
                self._last_plain = time.monotonic()
                self.say(f"progress: {self._files_done}/{self._files_total} files, "
                         f"{self._bytes_done}/{self._bytes_total} bytes")

    def say(self, line: str) -> None:
        if self._progress is not None:
            self._progress.console.print(line, markup=False, highlight=False)
        else:
            print(line, file=sys.stderr, flush=True)


class TransferReporter(Reporter):
    def advance(self, size: int) -> None:
        with self._lock:
            self._bytes_done += size
            self._show()

    def finished(self, line: str | None = None) -> None:
        """One more file done (its bytes were counted by advance)."""
        self.done(0, line)
