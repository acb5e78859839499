"""The blob store interface. Keys are opaque '/'-separated strings; nothing here assumes a filesystem."""

from __future__ import annotations

import abc
import io
import logging
import re
import tempfile
from collections.abc import Iterable, Iterator
from contextlib import contextmanager

log = logging.getLogger("phonecloud.blobstore")


class BlobNotFound(KeyError):
    """No blob is stored under the key."""


_RESUMABLE_NAME = re.compile(r"^[A-Za-z0-9-]{1,64}$")


def check_key(key: str) -> None:
    """The key rule of every store: no empty, '.' or '..' parts, none starting with '.' (private areas), no NUL."""
    parts = key.split("/")
    if not key or any(part in ("", ".", "..") or part.startswith(".") for part in parts) or "\0" in key:
        raise ValueError(f"invalid blob key {key!r}")


def check_resumable_name(name: str) -> None:
    if not _RESUMABLE_NAME.match(name):
        raise ValueError(f"invalid resumable upload name {name!r}")


class BlobWriter(abc.ABC):
    """A blob being written: bytes go to private staging and become visible only on commit(key).

    Staging first lets the caller learn the content hash (hence the key) and decide (quota, de-duplication)
    before anything is visible, and lets it abort without ever touching committed data.
    """

    @abc.abstractmethod
    def write(self, data: bytes) -> None: ...

    def write_many(self, chunks: list[bytes]) -> None:
        for chunk in chunks:
            self.write(chunk)

    @abc.abstractmethod
    def seal(self) -> None:
        """Make the staged bytes durable, still invisible: the slow part of a commit, done ahead of it."""

    @abc.abstractmethod
    def commit(self, key: str) -> None:
        """Make the staged bytes durable and visible under key, atomically replacing any blob there."""

    @abc.abstractmethod
    def abort(self) -> None:
        """Drop the staged bytes; safe to call more than once and after commit (then it does nothing)."""

    def __enter__(self) -> BlobWriter:
        return self

    def __exit__(self, *exc_info) -> None:
        self.abort()


class BlobStore(abc.ABC):
    @abc.abstractmethod
    def writer(self) -> BlobWriter:
        """Start staging a new blob."""

    def put(self, key: str, chunks: Iterable[bytes]) -> int:
        """Store a stream of chunks durably under key; returns the number of bytes."""
        size = 0
        with self.writer() as writer:
            for chunk in chunks:
                writer.write(chunk)
                size += len(chunk)
            writer.commit(key)
        return size

    @abc.abstractmethod
    def get(self, key: str, start: int = 0, end: int | None = None, chunk_size: int = 1 << 20) -> Iterator[bytes]:
        """The bytes of key from start up to end (exclusive; None for the end of the blob), in chunks.

        Raises BlobNotFound at call time, before any chunk, when the key does not exist.
        """

    @abc.abstractmethod
    def size(self, key: str) -> int:
        """Size in bytes; raises BlobNotFound."""

    @abc.abstractmethod
    def exists(self, key: str) -> bool: ...

    @abc.abstractmethod
    def modified_at(self, key: str) -> float:
        """When the blob was last written or committed under key (seconds since the epoch); BlobNotFound.
        Recovery uses it to leave alone a blob committed a moment ago whose database row is on its way."""

    @abc.abstractmethod
    def delete(self, key: str) -> None:
        """Remove key durably; deleting a missing key is not an error."""

    def delete_unreferenced(self, keys: Iterable[str]) -> None:
        """Remove blobs that no row references any more (after the commit that let them go): a failure is
        logged, not raised, as the commit stands and recovery removes what no row references."""
        for key in keys:
            try:
                self.delete(key)
            except Exception:
                log.warning("could not delete unreferenced blob %s; recovery will remove it", key, exc_info=True)

    @abc.abstractmethod
    def iterate(self, prefix: str = "") -> Iterator[str]:
        """Every committed key that starts with prefix, in no particular order."""

    def open_seekable(self, key: str, buffer_size: int = 1 << 20) -> io.BufferedReader:
        """The blob as a read-only file that seeks (for readers that jump about, such as a zip's central
        directory): each read past the buffer is one ranged get. Raises BlobNotFound."""
        return io.BufferedReader(_RangedReader(self, key, self.size(key)), buffer_size)

    @contextmanager
    def local_file(self, key: str) -> Iterator[str]:
        """A path on local disk holding the blob's bytes, for libraries that need a file (decoders).
        Stores that are not local disk copy the blob to a temporary file for the duration."""
        with tempfile.NamedTemporaryFile(prefix="phonecloud-", suffix=".blob") as copy:
            for chunk in self.get(key):
                copy.write(chunk)
            copy.flush()
            yield copy.name

    @abc.abstractmethod
    def remove_stale_staging(self, older_than_seconds: float) -> int:
        """Remove staged data abandoned by a crash; returns how many pieces were removed."""

    def resumable(self, name: str) -> ResumableBlob:
        """The staging of the resumable upload called `name` (letters, digits and '-'); empty until written."""
        raise NotImplementedError(f"{type(self).__name__} does not stage resumable uploads")

    def resumable_names(self) -> Iterator[str]:
        """The name of every resumable staging that exists, for sweeping those nobody tracks any more."""
        raise NotImplementedError(f"{type(self).__name__} does not stage resumable uploads")


class ResumableBlob(abc.ABC):
    """The staged bytes of one resumable upload: appended over many requests, possibly by different
    processes, and kept across restarts until discard(). The caller keeps the acknowledged size (in its
    database) and is the only writer at a time; the store keeps the bytes.

    The contract every store honours (written so that S3, whose multipart parts must be at least 5 MiB
    except the last, can implement it):

    - write_many() appends after the current end; nothing it wrote is durable until seal() returns.
    - seal() makes every byte written so far durable. It must work for any amount: S3 uploads the whole
      parts and keeps the remainder below 5 MiB as one small object of its own, rewritten at each seal,
      which the next seal merges into the following part.
    - truncate(size) sets the end to `size`, dropping what lies past it: bytes that an interrupted request
      wrote or even sealed but the caller never acknowledged. `size` is never above the size of the last
      seal the caller acknowledged (S3: drop the parts past it and cut the remainder object).
    - size() is the number of bytes stored now (at least what the last seal made durable).
    - read(start, end) streams stored bytes, for re-hashing in a process that did not see them arrive.
    - commit(key) makes the bytes durable and visible under key, atomically replacing any blob there.
      The staged bytes stay until discard(), so a caller that crashes between commit and its own
      bookkeeping can simply commit again (S3: complete the multipart upload into a staging object
      once, then copy it to key).
    - abort() ends one request's use: it releases what that request held (file handles, buffers);
      durable bytes stay. (Unlike BlobWriter.abort: these bytes outlive the request.)
    - discard() removes the staged bytes durably; safe to call more than once.
    """

    @abc.abstractmethod
    def size(self) -> int: ...

    @abc.abstractmethod
    def truncate(self, size: int) -> None: ...

    @abc.abstractmethod
    def write_many(self, chunks: list[bytes]) -> None: ...

    @abc.abstractmethod
    def seal(self) -> None: ...

    @abc.abstractmethod
    def read(self, start: int = 0, end: int | None = None, chunk_size: int = 1 << 20) -> Iterator[bytes]: ...

    @abc.abstractmethod
    def commit(self, key: str) -> None: ...

    @abc.abstractmethod
    def abort(self) -> None: ...

    @abc.abstractmethod
    def discard(self) -> None: ...



class _RangedReader(io.RawIOBase):
    """A blob's bytes read by ranges from wherever the store keeps them."""

    def __init__(self, store: BlobStore, key: str, size: int):
        self._store, self._key, self._size, self._position = store, key, size, 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._position

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._position, io.SEEK_END: self._size}[whence]
        self._position = max(0, base + offset)
        return self._position

    def readinto(self, buffer) -> int:
        end = min(self._size, self._position + len(buffer))
        if end <= self._position:
            return 0
        filled = 0
        for chunk in self._store.get(self._key, self._position, end):
            buffer[filled:filled + len(chunk)] = chunk
            filled += len(chunk)
        self._position += filled
        return filled
