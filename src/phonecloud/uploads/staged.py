"""The byte side of an upload, whatever it becomes: hash and stage a stream without ever holding it whole in
memory, refusing content its destination does not take as soon as the first bytes tell."""

from __future__ import annotations

import hashlib
import zlib
from collections.abc import Callable
from typing import Any

from phonecloud.accounts.quota import Allowance
from phonecloud.core.blobstore import BlobStore
from phonecloud.core.errors import BadRequest, TooLarge

HEAD_BYTES = 4096  # what a destination's identify() gets: enough to recognise any format it takes

# A destination's look at the first bytes: what the content is (a media type, a file format...), or an
# error (UnsupportedMedia, BadRequest) when it takes no such thing.
Identify = Callable[[bytes], Any]


class StagedUpload:
    """Feed it chunks; it refuses what its destination does not take as soon as the first bytes tell, and
    oversize data."""

    def __init__(self, blobs: BlobStore, max_bytes: int, identify: Identify, allowance: Allowance | None = None):
        self._writer = blobs.writer()
        self._max_bytes = max_bytes
        self._identify_content = identify
        self._allowance = allowance  # the owner's free quota, for uploads that have not reserved theirs
        self._sha1 = hashlib.sha1()
        self._crc32 = 0
        self._head = b""
        self.content: Any = None  # what identify() said, once the first bytes arrived
        self.size = 0

    def feed(self, chunks: list[bytes]) -> None:
        """Take the next pieces of the stream (a list, so that a batch costs one write call)."""
        self.inspect(chunks)
        self.store(chunks)

    def inspect(self, chunks: list[bytes]) -> None:
        """Count, recognise and hash a batch; may run in parallel with store() of the same batch."""
        for chunk in chunks:
            self.size += len(chunk)
            if self.size > self._max_bytes:
                raise TooLarge(f"file larger than the server's limit of {self._max_bytes} bytes",
                               limit=self._max_bytes)
            if self._allowance is not None:
                self._allowance.take(len(chunk))
            if self.content is None:
                self._head += chunk[: HEAD_BYTES - len(self._head)]
                if len(self._head) >= HEAD_BYTES:
                    self._identify()
            self._sha1.update(chunk)
            self._crc32 = zlib.crc32(chunk, self._crc32)

    def store(self, chunks: list[bytes]) -> None:
        self._writer.write_many(chunks)

    def _identify(self) -> None:
        self.content = self._identify_content(self._head)

    def finish(self, declared_size: int | None, declared_sha1: str | None) -> None:
        """Check the whole stream against what the client declared; raises before anything is committed."""
        if self.size == 0:
            raise BadRequest("empty body: a photo or video has at least one byte")
        if self.content is None:
            self._identify()
        if declared_size is not None and declared_size != self.size:
            raise BadRequest(f"declared size {declared_size} does not match the {self.size} bytes received",
                             declared_size=declared_size, received_size=self.size)
        if declared_sha1 is not None and declared_sha1.lower() != self.sha1:
            raise BadRequest(f"declared SHA-1 {declared_sha1} does not match the received content's {self.sha1}",
                             declared_sha1=declared_sha1, received_sha1=self.sha1)

    @property
    def sha1(self) -> str:
        return self._sha1.hexdigest()

    @property
    def crc32(self) -> int:
        return self._crc32

    def seal(self) -> None:
        self._writer.seal()

    def commit(self, key: str) -> None:
        self._writer.commit(key)

    def abort(self) -> None:
        """Drop what is staged (nothing once committed) and stop counting it in flight."""
        if self._allowance is not None:
            self._allowance.release()
        self._writer.abort()
