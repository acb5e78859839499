"""The integrity scrub: read back every stored original and check it is still the file that was uploaded.

Originals are checked against what the upload recorded: their size and SHA-1. With derivatives, each
thumbnail and preview the pipeline reports ready is read back whole and checked for its format's frame:
a WebP's RIFF header must declare the exact length of the blob, a JPEG must start with SOI and end with
EOI. No hash of a derivative is recorded, and decoding one here would run an image decoder in the
admin's process on bytes that came out of the sandboxed renderer; the frame check catches what a
storage fault does (missing, truncated, zeroed or overwritten blobs), and a derivative can always be
made again from its original.

Assets are read in pages by id and each blob streams through in chunks: memory stays constant whatever
the library's size. Problems are handed to the caller as they are found, never collected.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Callable
from dataclasses import dataclass

from phonecloud.core.blobstore import BlobNotFound, BlobStore
from phonecloud.core.db import Database
from phonecloud.maintenance import repository
from phonecloud.media.models import READY
from phonecloud.media.service import DERIVATIVES

MISSING = "missing"
UNREADABLE = "unreadable"
CORRUPT = "corrupt"
MALFORMED = "malformed"


@dataclass(frozen=True)
class ScrubProblem:
    asset_id: uuid.UUID
    owner_email: str
    blob: str  # original | thumbnail | preview
    key: str
    problem: str  # missing | unreadable | corrupt (original) | malformed (derivative)
    detail: str

    def as_dict(self) -> dict:
        return {"asset_id": str(self.asset_id), "owner": self.owner_email, "blob": self.blob, "key": self.key,
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
    def __init__(self, db: Database, blobs: BlobStore, chunk_size: int = 1 << 20):
        self.db = db
        self.blobs = blobs
        self.chunk_size = chunk_size

    def totals(self) -> tuple[int, int]:
        """(assets, bytes of originals) that a scrub will read, for progress."""
        with self.db.read() as session:
            return repository.asset_totals(session)

    def run(self, derivatives: bool, on_problem: Callable[[ScrubProblem], None],
            on_progress: Callable[[int], None] = lambda _bytes: None) -> ScrubSummary:
        """Check everything; on_problem gets each problem as found, on_progress the bytes read so far."""
        summary = ScrubSummary()
        after = None
        while True:
            with self.db.read() as session:  # a short read per page, so no snapshot stays open for hours
                page = repository.scrub_page(session, after)
            if not page:
                return summary
            for item in page:
                problems = [self._check_original(item, summary, on_progress)]
                if derivatives and item.media_state == READY:
                    problems += [self._check_derivative(item, name, key, summary)
                                 for name, key in (("thumbnail", item.thumbnail_key), ("preview", item.preview_key))]
                for problem in filter(None, problems):
                    summary.problems += 1
                    on_problem(problem)
                summary.assets += 1
            after = page[-1].asset_id

    def _check_original(self, item: repository.ScrubItem, summary: ScrubSummary,
                        on_progress: Callable[[int], None]) -> ScrubProblem | None:
        def problem(kind: str, detail: str) -> ScrubProblem:
            return ScrubProblem(item.asset_id, item.owner_email, "original", item.blob_key, kind, detail)

        digest, size = hashlib.sha1(), 0
        try:
            for chunk in self.blobs.get(item.blob_key, chunk_size=self.chunk_size):
                digest.update(chunk)
                size += len(chunk)
                summary.original_bytes += len(chunk)
                on_progress(summary.original_bytes)
        except BlobNotFound:
            return problem(MISSING, "the original's blob is gone")
        except OSError as error:
            return problem(UNREADABLE, f"reading failed after {size} bytes: {error}")
        if size != item.size_bytes or digest.hexdigest() != item.sha1:
            return problem(CORRUPT, f"expected {item.size_bytes} bytes with SHA-1 {item.sha1}, "
                                    f"read {size} bytes with SHA-1 {digest.hexdigest()}")
        return None

    def _check_derivative(self, item: repository.ScrubItem, name: str, key: str | None,
                          summary: ScrubSummary) -> ScrubProblem | None:
        def problem(kind: str, detail: str) -> ScrubProblem:
            return ScrubProblem(item.asset_id, item.owner_email, name, key or "", kind, detail)

        summary.derivatives += 1
        if key is None:
            return problem(MISSING, f"the media pipeline reports the {name} ready but records no blob")
        head, tail, size = b"", b"", 0
        try:
            for chunk in self.blobs.get(key, chunk_size=self.chunk_size):
                head += chunk[:12 - len(head)]
                tail = (tail + chunk)[-2:]
                size += len(chunk)
        except BlobNotFound:
            return problem(MISSING, f"the {name}'s blob is gone")
        except OSError as error:
            return problem(UNREADABLE, f"reading failed after {size} bytes: {error}")
        reason = _frame_problem(DERIVATIVES[name][1], head, tail, size)
        return problem(MALFORMED, reason) if reason else None
