"""The bytes side of a resumable upload: hash and stage what each request brings, make it durable as it
arrives, and remember the hashing in this process so that the next request need not read it all again."""

from __future__ import annotations

import threading
import time
import uuid
from collections import OrderedDict
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor

from phonecloud.core.blobstore.base import ResumableBlob
from phonecloud.core.errors import TooLarge
from phonecloud.uploads.staged import Identify, StagedUpload
from phonecloud.uploads.protocol import Checksum, ChecksumMismatch, UploadLocked

CACHE_ENTRIES = 64
READ_CHUNK = 4 << 20

# (offset) -> whether the caller still holds the upload: acknowledges bytes up to offset and renews the lease.
Acknowledge = Callable[[int], bool]


class UploadWriter:
    """One upload as this process appends to it: a StagedUpload (sizes, SHA-1, CRC-32 and content type of
    everything so far) writing through to the upload's resumable blob.

    It outlives a request in the WriterCache. Elsewhere (another process, after a restart) it is rebuilt
    by re-hashing the stored bytes, so nothing depends on this process's memory for correctness.
    """

    def __init__(self, upload_id: uuid.UUID, length: int, blob: ResumableBlob, max_bytes: int, identify: Identify):
        self.upload_id = upload_id
        self.length = length
        self.blob = blob
        self.end = 0  # bytes written so far
        self.durable = 0  # bytes made durable and acknowledged
        self.staged = StagedUpload(self, max_bytes, identify)  # asks its store for a writer: this object
        self._request: _Request | None = None

    @classmethod
    def rebuilt(cls, upload_id: uuid.UUID, length: int, blob: ResumableBlob, max_bytes: int, identify: Identify,
                offset: int) -> UploadWriter:
        """The writer of an upload whose first `offset` bytes are stored: they are hashed again."""
        writer = cls(upload_id, length, blob, max_bytes, identify)
        blob.truncate(offset)
        for chunk in blob.read(0, offset, READ_CHUNK):
            writer.staged.inspect([chunk])
        writer.end = writer.durable = offset
        blob.abort()
        return writer

    @classmethod
    def finished(cls, upload_id: uuid.UUID, length: int, blob: ResumableBlob, max_bytes: int,
                 identify: Identify) -> UploadWriter:
        """The writer of an upload that has every byte: it takes no more (and touches no staged bytes)."""
        writer = cls(upload_id, length, blob, max_bytes, identify)
        writer.end = writer.durable = length
        return writer

    @property
    def resumable(self) -> bool:
        """Whether the hashing state is exactly that of the acknowledged bytes (so it may be cached)."""
        return self.staged.size == self.end == self.durable and self._request is None

    # -- the StagedUpload's store and writer ------------------------------------------------------------

    def writer(self) -> UploadWriter:
        return self

    def write_many(self, chunks: list[bytes]) -> None:
        total = sum(len(chunk) for chunk in chunks)
        if total == 0:  # a destination feeds the (empty) last batch once more when it finishes
            return
        request = self._request
        if self.end + total > self.length:
            raise TooLarge(f"more bytes than the {self.length} announced in Upload-Length",
                           upload_length=self.length)
        request.keep_lease(self.durable)
        self.blob.write_many(chunks)
        self.end += total
        if request.digest is not None:
            for chunk in chunks:
                request.digest.update(chunk)
        elif self.end - request.checkpointed >= request.checkpoint_bytes:
            request.checkpoint(self)

    def seal(self) -> None:
        self.blob.seal()

    def commit(self, key: str) -> None:
        self.blob.commit(key)

    def abort(self) -> None:
        """The destination is done with the staged upload; the bytes stay until the upload is settled."""

    # -- requests ------------------------------------------------------------------------------------------

    def start(self, acknowledge: Acknowledge, checkpoint_bytes: int, checksum: Checksum | None,
              lease_seconds: float) -> None:
        """Begin one request's appending at the acknowledged offset."""
        self.blob.truncate(self.durable)  # what a lost request wrote past the acknowledged end goes
        self.end = self.durable
        self._request = _Request(acknowledge, checkpoint_bytes, checksum, self.durable, lease_seconds)

    def make_durable(self, offset: int) -> None:
        """Seal the bytes up to `offset` and have them acknowledged (from the checkpoint thread too)."""
        self.blob.seal()
        if not self._request.acknowledge(offset):
            raise UploadLocked("another request took this upload over; send HEAD and resume from its offset")
        self.durable = max(self.durable, offset)

    def settle(self) -> int:
        """End the request keeping every byte it brought (also when the client went away mid-body):
        checks the request's checksum, makes the rest durable, returns the acknowledged offset."""
        request = self._request
        try:
            request.wait()
            if request.digest is not None and request.digest.digest() != request.checksum.digest:
                self.end = self.durable
                self.blob.truncate(self.durable)
                raise ChecksumMismatch(f"the body's {request.checksum.algorithm} does not match Upload-Checksum; "
                                       f"nothing of it was kept", upload_offset=self.durable)
            if self.end > self.durable:
                self.make_durable(self.end)
            return self.durable
        finally:
            self.stop()

    def stop(self) -> None:
        """End the request; bytes not yet acknowledged are dropped by the next start()."""
        request, self._request = self._request, None
        if request is not None:
            request.wait(quietly=True)
        self.blob.abort()


class _Request:
    """What one request's appending needs: its checksum, its checkpoints (one in flight at a time, in a
    thread of its own so the bytes keep flowing meanwhile) and the lease on the upload's lock."""

    def __init__(self, acknowledge: Acknowledge, checkpoint_bytes: int, checksum: Checksum | None, start: int,
                 lease_seconds: float):
        self.acknowledge = acknowledge
        self.checkpoint_bytes = checkpoint_bytes
        self.checksum = checksum
        # With a checksum nothing is acknowledged before the whole body is verified.
        self.digest = checksum.hasher() if checksum is not None else None
        self.checkpointed = start
        self.renew_every = lease_seconds / 3
        self._renewed = time.monotonic()
        self._pending: Future | None = None
        self._executor: ThreadPoolExecutor | None = None

    def keep_lease(self, durable: int) -> None:
        """Renew the lease before writing if it is getting old (a slow or stalled client)."""
        if time.monotonic() - self._renewed > self.renew_every:
            if not self.acknowledge(durable):
                raise UploadLocked("another request took this upload over; send HEAD and resume from its offset")
            self._renewed = time.monotonic()

    def checkpoint(self, writer: UploadWriter) -> None:
        if self._pending is not None:
            self._pending.result()  # at most one in flight: a crash loses at most two intervals
        if self._executor is None:
            self._executor = ThreadPoolExecutor(1, thread_name_prefix="phonecloud-tus-checkpoint")
        self.checkpointed = writer.end
        self._renewed = time.monotonic()
        self._pending = self._executor.submit(writer.make_durable, writer.end)

    def wait(self, quietly: bool = False) -> None:
        try:
            if self._pending is not None:
                self._pending.result()
        except Exception:
            if not quietly:
                raise
        finally:
            if self._executor is not None:
                self._executor.shutdown(wait=True)
                self._executor = None
            self._pending = None


class WriterCache:
    """Writers of this process by (upload id, acknowledged offset), newest kept: a request that continues
    where the previous one in this process stopped takes its writer and skips re-hashing."""

    def __init__(self, entries: int = CACHE_ENTRIES):
        self._entries = entries
        self._writers: OrderedDict[tuple[uuid.UUID, int], UploadWriter] = OrderedDict()
        self._lock = threading.Lock()

    def take(self, upload_id: uuid.UUID, offset: int) -> UploadWriter | None:
        with self._lock:
            return self._writers.pop((upload_id, offset), None)

    def put(self, writer: UploadWriter) -> None:
        if not writer.resumable:
            return
        with self._lock:
            self._writers[(writer.upload_id, writer.durable)] = writer
            while len(self._writers) > self._entries:
                self._writers.popitem(last=False)

    def forget(self, upload_id: uuid.UUID) -> None:
        with self._lock:
            for key in [key for key in self._writers if key[0] == upload_id]:
                del self._writers[key]
