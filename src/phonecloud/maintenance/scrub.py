"""The integrity scrub: read back every stored original and check it is still the file that was uploaded.

Originals are checked against what the upload recorded: their size and SHA-1. With derivatives, each
thumbnail and preview the pipeline reports ready is read back whole and checked for its format's frame:
a WebP's RIFF header must declare the exact length of the blob, a JPEG must start with SOI and end with
EOI. No hash of a derivative is recorded, and decoding one here would run an image decoder in the
admin's process on bytes that came out of the sandboxed renderer; the frame check catches what a
storage fault does (missing, truncated, zeroed or overwritten blobs), and a derivative can always be
made again from its original.

Every data kind lists its items' blobs a page at a time (DataKind.scrub_page) and each blob streams
through in chunks: memory stays constant whatever the library's size. Problems are handed to the caller as they are found, never collected.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from phonecloud.core.blobstore import BlobNotFound, BlobStore
from phonecloud.core.db import Database
from phonecloud.core.kinds import BlobCheck, DataKind, ScrubItem

MISSING = "missing"
UNREADABLE = "unreadable"
CORRUPT = "corrupt"
MALFORMED = "malformed"


@dataclass(frozen=True)
class ScrubProblem:
    asset_id: str  # the item's id
    owner_email: str
    blob: str  # original | thumbnail | preview
    key: str
    problem: str  # missing | unreadable | corrupt (original) | malformed (derivative)
    detail: str

    def as_dict(self) -> dict:
        return {"asset_id": self.asset_id, "owner": self.owner_email, "blob": self.blob, "key": self.key,
                "problem": self.problem, "detail": self.detail}


@dataclass
class ScrubSummary:
    assets: int = 0
    original_bytes: int = 0
    derivatives: int = 0
    problems: int = 0

    def as_dict(self) -> dict:
        return vars(self).copy()


def _frame_problem(mime_type: str, head: bytes, tail: bytes, size: int) -> str | None:
    """Why the bytes of a derivative (WebP or JPEG) are not a whole file of its format, or None."""
    if mime_type == "image/webp":
        if size < 12 or head[:4] != b"RIFF" or head[8:12] != b"WEBP":
            return "not a WebP file (no RIFF/WEBP header)"
        declared = int.from_bytes(head[4:8], "little") + 8
        return None if declared == size else f"WebP header declares {declared} bytes, the blob has {size}"
    if size < 4 or head[:3] != b"\xff\xd8\xff":
        return "not a JPEG file (no SOI marker)"
    return None if tail == b"\xff\xd9" else "JPEG truncated (no EOI marker at the end)"


class Scrubber:
    """Reads back every blob the data kinds list, a page of items at a time, in each kind's order."""

    def __init__(self, db: Database, blobs: BlobStore, kinds: Sequence[DataKind], chunk_size: int = 1 << 20):
        self.db = db
        self.blobs = blobs
        self.kinds = kinds
        self.chunk_size = chunk_size

    def totals(self) -> tuple[int, int]:
        """(items, bytes of originals) that a scrub will read, for progress."""
        with self.db.read() as session:
            totals = [kind.scrub_totals(session) for kind in self.kinds]
        return sum(items for items, _ in totals), sum(size for _, size in totals)

    def run(self, derivatives: bool, on_problem: Callable[[ScrubProblem], None],
            on_progress: Callable[[int], None] = lambda _bytes: None) -> ScrubSummary:
        """Check everything; on_problem gets each problem as found, on_progress the bytes read so far."""
        summary = ScrubSummary()
        for kind in self.kinds:
            after = None
            while True:
                with self.db.read() as session:  # a short read per page, so no snapshot stays open for hours
                    page = kind.scrub_page(session, after, derivatives)
                if not page:
                    break
                for item in page:
                    for check in item.blobs:
                        problem = self._check(item, check, summary, on_progress)
                        if problem is not None:
                            summary.problems += 1
                            on_problem(problem)
                    summary.assets += 1
                after = page[-1].item_id
        return summary

    def _check(self, item: ScrubItem, check: BlobCheck, summary: ScrubSummary,
               on_progress: Callable[[int], None]) -> ScrubProblem | None:
        def problem(kind: str, detail: str) -> ScrubProblem:
            return ScrubProblem(item.item_id, item.owner_email, check.name, check.key or "", kind, detail)

        original = check.sha1 is not None
        if not original:
            summary.derivatives += 1
            if check.key is None:
                return problem(MISSING, f"the {check.name} is reported ready but has no blob")
        digest, head, tail, size = hashlib.sha1(), b"", b"", 0
        try:
            for chunk in self.blobs.get(check.key, chunk_size=self.chunk_size):
                size += len(chunk)
                if original:
                    digest.update(chunk)
                    summary.original_bytes += len(chunk)
                    on_progress(summary.original_bytes)
                else:
                    head += chunk[:12 - len(head)]
                    tail = (tail + chunk)[-2:]
        except BlobNotFound:
            return problem(MISSING, f"the {check.name}'s blob is gone")
        except OSError as error:
            return problem(UNREADABLE, f"reading failed after {size} bytes: {error}")
        if not original:
            reason = _frame_problem(check.mime, head, tail, size)
            return problem(MALFORMED, reason) if reason else None
        if size != check.size or digest.hexdigest() != check.sha1:
            return problem(CORRUPT, f"expected {check.size} bytes with SHA-1 {check.sha1}, "
                                    f"read {size} bytes with SHA-1 {digest.hexdigest()}")
        return None
