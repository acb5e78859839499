"""Attachment bytes that are never in memory whole: up to INLINE_BLOB_BYTES they are kept inline, beyond
that in a temporary file that is deleted when the last Blob referring to it is. Pure Python."""

from __future__ import annotations

import contextlib
import hashlib
import io
import os
import tempfile
import weakref
from collections.abc import Callable, Iterator
from typing import BinaryIO

from phonecloud.core.sizes import format_size
from phonecloud.messages.formats.errors import FormatError
from phonecloud.messages.formats.limits import INLINE_BLOB_BYTES, MAX_PART_BYTES

CHUNK_BYTES = 1 << 20


class Blob:
    """An attachment's bytes, readable any number of times. Blobs are equal when their bytes are (by size
    and SHA-256), wherever they are kept."""

    __slots__ = ("size", "sha256", "_inline", "_path", "_opener", "__weakref__")

    def __init__(self, *, size: int, sha256: str, inline: bytes | None = None, path: str | None = None,
                 opener: Callable[[], BinaryIO] | None = None):
        self.size = size
        self.sha256 = sha256
        self._inline = inline
        self._path = path
        self._opener = opener  # bytes kept elsewhere (a server's blob store), read on each open()

    @classmethod
    def from_bytes(cls, data: bytes) -> Blob:
        writer = BlobWriter(limit=len(data))
        writer.write(data)
        return writer.finish()

    @classmethod
    def from_path(cls, path: str | os.PathLike) -> Blob:
        """A file that stays the caller's: it is hashed now and read again on each open()."""
        digest = hashlib.sha256()
        size = 0
        with open(path, "rb") as stream:
            while data := stream.read(CHUNK_BYTES):
                digest.update(data)
                size += len(data)
        return cls(size=size, sha256=digest.hexdigest(), path=os.fspath(path))

    @classmethod
    def kept_elsewhere(cls, size: int, sha256: str, opener: Callable[[], BinaryIO]) -> Blob:
        """Bytes whose size and SHA-256 are known, read from wherever `opener` finds them, on each open()."""
        return cls(size=size, sha256=sha256, opener=opener)

    def open(self) -> BinaryIO:
        if self._inline is not None:
            return io.BytesIO(self._inline)
        return self._opener() if self._opener is not None else open(self._path, "rb")

    def on_disk(self, directory: str) -> Blob:
        """These bytes out of memory: this blob when they already are (in a file, or kept elsewhere), else a
        copy written into `directory`, whose owner removes it. For holding many blobs at once without holding
        their bytes."""
        if self._inline is None:
            return self
        with tempfile.NamedTemporaryFile(dir=directory, delete=False) as file:
            file.write(self._inline)
        return Blob(size=self.size, sha256=self.sha256, path=file.name)

    def chunks(self, size: int = CHUNK_BYTES) -> Iterator[bytes]:
        with self.open() as stream:
            while data := stream.read(size):
                yield data

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Blob):
            return NotImplemented
        return (self.size, self.sha256) == (other.size, other.sha256)

    def __hash__(self) -> int:
        return hash(self.sha256)

    def __repr__(self) -> str:
        return f"Blob(size={self.size}, sha256={self.sha256[:12]}…)"


def _remove(path: str) -> None:
    with contextlib.suppress(FileNotFoundError):
        os.unlink(path)


class BlobWriter:
    """Bytes written piece by piece and then `finish()`ed into a Blob. More than `limit` bytes is a
    FormatError (and drops what was written, as `discard()` does; discarding twice is harmless)."""

    def __init__(self, limit: int = MAX_PART_BYTES):
        self._limit = limit
        self._size = 0
        self._digest = hashlib.sha256()
        self._buffer = bytearray()
        self._file = None  # the temporary file, once the bytes outgrow INLINE_BLOB_BYTES

    def write(self, data: bytes) -> None:
        self._size += len(data)
        if self._size > self._limit:
            self.discard()
            raise FormatError(f"an attachment is larger than the limit of {format_size(self._limit)}")
        self._digest.update(data)
        if self._file is None and len(self._buffer) + len(data) <= INLINE_BLOB_BYTES:
            self._buffer += data
            return
        if self._file is None:
            self._file = tempfile.NamedTemporaryFile(prefix="phonecloud-part-", delete=False)
            self._file.write(self._buffer)
            self._buffer = bytearray()
        self._file.write(data)

    def finish(self) -> Blob:
        digest = self._digest.hexdigest()
        if self._file is None:
            return Blob(size=self._size, sha256=digest, inline=bytes(self._buffer))
        self._file.close()
        blob = Blob(size=self._size, sha256=digest, path=self._file.name)
        weakref.finalize(blob, _remove, self._file.name)
        return blob

    def discard(self) -> None:
        self._buffer = bytearray()
        if self._file is not None:
            self._file.close()
            _remove(self._file.name)


def spool(stream: BinaryIO, limit: int = MAX_PART_BYTES) -> Blob:
    """A stream's bytes, up to `limit`, as a Blob."""
    writer = BlobWriter(limit)
    try:
        while data := stream.read(CHUNK_BYTES):
            writer.write(data)
    except BaseException:
        writer.discard()
        raise
    return writer.finish()

