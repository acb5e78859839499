"""The blob store interface. Keys are opaque '/'-separated strings; nothing here assumes a filesystem."""

from __future__ import annotations

import abc
import tempfile
from collections.abc import Iterable, Iterator
from contextlib import contextmanager


class BlobNotFound(KeyError):
    """No blob is stored under the key."""


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
    def delete(self, key: str) -> None:
        """Remove key durably; deleting a missing key is not an error."""

    @abc.abstractmethod
    def iterate(self, prefix: str = "") -> Iterator[str]:
        """Every committed key that starts with prefix, in no particular order."""

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
