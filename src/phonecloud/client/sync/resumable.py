"""Large files go over tus: one streaming PATCH with the rest of the file, and after any interruption
(this client restarted, the connection dropped, the server restarted) a HEAD says where to go on from.

One PATCH rather than fixed-size chunks: the server makes the bytes durable as they arrive (every
PHONECLOUD_TUS_CHECKPOINT_SIZE, and whatever arrived when a connection breaks), so chunks would only add a
wait for an fsync and a round trip per chunk without saving anything on a resume.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from phonecloud.client.api import Api, TusProgress, Uploaded
from phonecloud.client.errors import Retry, ServerError
from phonecloud.client.sync.scan import FoundFile, file_chunks
from phonecloud.client.sync.state import SyncState
from phonecloud.core.dates import from_nanoseconds
from phonecloud.core.names import readable
from phonecloud.core.sizes import parse_size

THRESHOLD_ENV = "PHONECLOUD_SYNC_TUS_THRESHOLD"
DEFAULT_THRESHOLD = 16 << 20
# Worth another try after a HEAD, besides what is transient for every request (errors.py): an offset that
# moved (409), an upload still held by a connection the server has not yet seen broken (423).
_RESUMABLE_STATUS = {409, 423}
# Failures in a row (a PATCH or a HEAD) a resumable upload outlives: with the default waits, about two
# minutes, as long as a server takes to restart on a loaded machine; what it had received is kept meanwhile.
RESUME_RETRIES = 9


def threshold() -> int:
    """Files of at least this many bytes are uploaded resumably (PHONECLOUD_SYNC_TUS_THRESHOLD, e.g. 16MiB)."""
    return parse_size(os.environ.get(THRESHOLD_ENV) or DEFAULT_THRESHOLD)


@dataclass(frozen=True)
class Source:
    """What a resumable upload sends: a file on disk, or other bytes that can be read again from any offset
    (an entry of a zip part, which is never extracted)."""

    key: str  # what the state remembers the upload by (with size, mtime_ns and SHA-1): the file's path
    filename: str
    size: int
    mtime_ns: int
    chunks: Callable[[int], Iterator[bytes]]  # the bytes from an offset to the end


def file_source(found: FoundFile) -> Source:
    """A file on disk, read only while it is still the version that was hashed (scan.file_chunks)."""
    path = Path(found.path)
    return Source(found.path, readable(path.name), found.size, found.mtime_ns,
                  lambda offset: file_chunks(path, found.size, found.mtime_ns, offset))


def upload_resumably(api: Api, state: SyncState, found: FoundFile, sha1: str,
                     destination: str | None = None) -> Uploaded:
    """Upload a file over tus (into `destination`, else the gallery), continuing the upload an earlier run
    of this client started, if any."""
    return upload_source_resumably(api, state, file_source(found), sha1, destination)


def upload_source_resumably(api: Api, state: SyncState, source: Source, sha1: str,
                            destination: str | None = None) -> Uploaded:
    """upload_resumably for any Source."""
    url = state.resumable_url(source.key, source.size, source.mtime_ns, sha1)
    progress = api.tus_status(url) if url else None
    if progress is None:  # none yet, or it expired on the server: start anew
        url = api.tus_start(source.filename, from_nanoseconds(source.mtime_ns), source.size, sha1, destination)
        state.remember_resumable(source.key, source.size, source.mtime_ns, sha1, url)
        progress = TusProgress(0, None, False)
    patience, once = api.retry.at_least(RESUME_RETRIES), Retry(0)
    failures = 0
    while progress.asset_id is None:
        try:
            if failures:  # where the server stands now (it may have kept more than the last answer said)
                known = progress.offset
                progress = api.tus_status(url, retry=once)
                if progress is None:
                    raise ServerError(410, "upload_expired", f"the server dropped the upload of {source.key}")
                if progress.offset > known:
                    failures = 0  # it moved on: only failures in a row count
                if progress.asset_id is not None:
                    break
            progress = api.tus_send_chunks(url, source.chunks(progress.offset), source.size, progress.offset)
        except ServerError as error:
            failures += 1
            if not (error.transient or error.status in _RESUMABLE_STATUS) or not patience.again(failures):
                raise
            patience.pause(failures)
    state.forget_resumable(source.key)
    return Uploaded(progress.asset_id, progress.duplicate)
