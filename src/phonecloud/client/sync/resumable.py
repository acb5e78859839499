"""Large files go over tus: one streaming PATCH with the rest of the file, and after any interruption
(this client restarted, the connection dropped, the server restarted) a HEAD says where to go on from.

One PATCH rather than fixed-size chunks: the server makes the bytes durable as they arrive (every
PHONECLOUD_TUS_CHECKPOINT_SIZE, and whatever arrived when a connection breaks), so chunks would only add a
wait for an fsync and a round trip per chunk without saving anything on a resume.
"""

from __future__ import annotations

import os
from pathlib import Path

from phonecloud.client.api import Api, TusProgress, Uploaded
from phonecloud.client.errors import ServerError
from phonecloud.client.sync.scan import FoundFile
from phonecloud.client.sync.state import SyncState
from phonecloud.core.sizes import parse_size

THRESHOLD_ENV = "PHONECLOUD_SYNC_TUS_THRESHOLD"
DEFAULT_THRESHOLD = 16 << 20
# Worth another try after a HEAD, besides what is transient for every request (errors.py): an offset that
# moved (409), an upload still held by a connection the server has not yet seen broken (423).
_RESUMABLE_STATUS = {409, 423}


def threshold() -> int:
    """Files of at least this many bytes are uploaded resumably (PHONECLOUD_SYNC_TUS_THRESHOLD, e.g. 16MiB)."""
    return parse_size(os.environ.get(THRESHOLD_ENV) or DEFAULT_THRESHOLD)


def upload_resumably(api: Api, state: SyncState, found: FoundFile, sha1: str,
                     destination: str | None = None) -> Uploaded:
    """Upload a file over tus (into `destination`, else the gallery), continuing the upload an earlier run
    of this client started, if any."""
    path = Path(found.path)
    url = state.resumable_url(found.path, found.size, found.mtime_ns, sha1)
    progress = api.tus_status(url) if url else None
    if progress is None:  # none yet, or it expired on the server: start anew
        url = api.tus_create(path, found.size, found.mtime_ns, sha1, destination)
        state.remember_resumable(found.path, found.size, found.mtime_ns, sha1, url)
        progress = TusProgress(0, None, False)
    failures = 0
    while progress.asset_id is None:
        try:
            progress = api.tus_send(url, path, found.size, found.mtime_ns, progress.offset)
        except ServerError as error:
            failures += 1
            if not (error.transient or error.status in _RESUMABLE_STATUS) or not api.retry.again(failures):
                raise
            api.retry.pause(failures)
            offset = progress.offset
            progress = api.tus_status(url)
            if progress is None:
                raise ServerError(410, "upload_expired", f"the server dropped the upload of {path}") from error
            if progress.offset > offset:
                failures = 0  # it moved on: only failures in a row count
    state.forget_resumable(found.path)
    return Uploaded(progress.asset_id, progress.duplicate)
