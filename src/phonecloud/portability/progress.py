"""Progress of downloads: the sync client's display, counting bytes as they arrive (a large file moves the
bar while it downloads, not only when it is done)."""

from __future__ import annotations

from phonecloud.sync.report import Reporter


class TransferReporter(Reporter):
    def advance(self, size: int) -> None:
        with self._lock:
            self._bytes_done += size
            self._show()

    def finished(self, line: str | None = None) -> None:
        """One more file done (its bytes were counted by advance)."""
        self.done(0, line)
