"""Blobs as files on a local disk: durable writes by temp file + fsync + atomic rename + fsync of the folder."""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from phonecloud.core.blobstore.base import (
    BlobNotFound, BlobStore, BlobWriter, ResumableBlob, check_key, check_resumable_name,
)

_STAGING = ".staging"
# Apart from .staging: resumable uploads live for hours, and sweeping .staging removes anything old there.
_RESUMABLE = ".resumable"
_WRITEBACK_STEP = 16 << 20


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class LocalBlobWriter(BlobWriter):
    def __init__(self, store: LocalBlobStore):
        self._store = store
        # The staging folder is inside the store's root, so the final rename never crosses filesystems.
        self._temp_path = store.root / _STAGING / f"{uuid.uuid4().hex}.part"
        self._fd = os.open(self._temp_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        self._written = 0
        self._flushed = 0
        self._sealed = False
        self._done = False

    def write(self, data: bytes) -> None:
        self.write_many([data])

    def write_many(self, chunks: list[bytes]) -> None:
        total = sum(len(chunk) for chunk in chunks)
        done = os.writev(self._fd, chunks) if chunks else 0
        if done < total:  # a short write (rare on a regular file): finish it byte-exact
            rest = memoryview(b"".join(chunks))[done:]
            while rest:
                rest = rest[os.write(self._fd, rest):]
        self._written += total
        if self._written - self._flushed >= _WRITEBACK_STEP:
            # Start writing this stretch back now rather than letting dirty pages pile up until the
            # final fsync; the kernel otherwise throttles the writer far below the disk's speed.
            os.posix_fadvise(self._fd, self._flushed, self._written - self._flushed, os.POSIX_FADV_DONTNEED)
            self._flushed = self._written

    def seal(self) -> None:
        if not self._sealed:
            os.fsync(self._fd)
            self._sealed = True

    def commit(self, key: str) -> None:
        final = self._store.path_for(key)
        self.seal()
        os.close(self._fd)
        self._store.make_parents(final)
        os.replace(self._temp_path, final)
        _fsync_dir(final.parent)
        self._done = True

    def abort(self) -> None:
        if self._done:
            return
        self._done = True
        os.close(self._fd)
        self._temp_path.unlink(missing_ok=True)


class LocalBlobStore(BlobStore):
    def __init__(self, root: str | os.PathLike[str]):
        self.root = Path(root).expanduser().resolve()
        (self.root / _STAGING).mkdir(parents=True, exist_ok=True)

    def path_for(self, key: str) -> Path:
        check_key(key)
        return self.root.joinpath(*key.split("/"))

    def make_parents(self, path: Path) -> None:
        """Create missing folders up to path, fsyncing each parent so the new entries survive a crash."""
        missing = []
        folder = path.parent
        while not folder.exists():
            missing.append(folder)
            folder = folder.parent
        for folder in reversed(missing):
            try:
                folder.mkdir()
            except FileExistsError:
                continue  # a concurrent writer made it
            _fsync_dir(folder.parent)

    def writer(self) -> LocalBlobWriter:
        return LocalBlobWriter(self)

    def get(self, key: str, start: int = 0, end: int | None = None, chunk_size: int = 1 << 20) -> Iterator[bytes]:
        try:
            handle = open(self.path_for(key), "rb")
        except FileNotFoundError:
            raise BlobNotFound(key) from None
        return self._read(handle, start, end, chunk_size)

    @staticmethod
    def _read(handle, start: int, end: int | None, chunk_size: int) -> Iterator[bytes]:
        with handle:
            handle.seek(start)
            remaining = None if end is None else max(0, end - start)
            while remaining is None or remaining > 0:
                chunk = handle.read(chunk_size if remaining is None else min(chunk_size, remaining))
                if not chunk:
                    return
                if remaining is not None:
                    remaining -= len(chunk)
                yield chunk

    def size(self, key: str) -> int:
        try:
            return self.path_for(key).stat().st_size
        except FileNotFoundError:
            raise BlobNotFound(key) from None

    def exists(self, key: str) -> bool:
        return self.path_for(key).is_file()

    def modified_at(self, key: str) -> float:
        try:
            stat = self.path_for(key).stat()
        except FileNotFoundError:
            raise BlobNotFound(key) from None
        return max(stat.st_mtime, stat.st_ctime)  # a rename keeps the mtime of the last write; ctime is the commit

    def delete(self, key: str) -> None:
        path = self.path_for(key)
        try:
            path.unlink()
        except FileNotFoundError:
            return
        _fsync_dir(path.parent)

    def iterate(self, prefix: str = "") -> Iterator[str]:
        for folder, dirnames, filenames in os.walk(self.root):
            dirnames[:] = [name for name in dirnames if not name.startswith(".")]
            relative = Path(folder).relative_to(self.root).as_posix()
            for name in filenames:
                key = name if relative == "." else f"{relative}/{name}"
                if key.startswith(prefix):
                    yield key

    @contextmanager
    def local_file(self, key: str) -> Iterator[str]:
        path = self.path_for(key)
        if not path.is_file():
            raise BlobNotFound(key)
        yield str(path)

    def open_seekable(self, key: str, buffer_size: int = 1 << 20):
        try:
            return open(self.path_for(key), "rb", buffering=buffer_size)
        except FileNotFoundError:
            raise BlobNotFound(key) from None

    def resumable(self, name: str) -> LocalResumableBlob:
        check_resumable_name(name)
        return LocalResumableBlob(self, self.root / _RESUMABLE / name)

    def resumable_names(self) -> Iterator[str]:
        folder = self.root / _RESUMABLE
        return iter(os.listdir(folder)) if folder.is_dir() else iter(())

    def remove_stale_staging(self, older_than_seconds: float) -> int:
        cutoff = time.time() - older_than_seconds
        removed = 0
        for entry in os.scandir(self.root / _STAGING):
            try:
                if entry.stat().st_mtime < cutoff:
                    os.unlink(entry.path)
                    removed += 1
            except FileNotFoundError:  # committed, aborted, or removed by another process recovering at once
                continue
        return removed


class LocalResumableBlob(ResumableBlob):
    """A resumable upload's bytes in one file, written at explicit offsets (pwrite) so that the end the
    caller acknowledged, not the file's current length, decides where the next bytes go."""

    def __init__(self, store: LocalBlobStore, path: Path):
        self._store = store
        self.path = path
        self._fd: int | None = None
        self._end = 0
        self._flushed = 0

    def _open(self) -> int:
        if self._fd is None:
            self.path.parent.mkdir(exist_ok=True)
            existed = self.path.exists()
            self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
            self._end = self._flushed = os.fstat(self._fd).st_size
            if not existed:
                _fsync_dir(self.path.parent)  # the file itself must survive a crash, not only its bytes
        return self._fd

    def size(self) -> int:
        try:
            return self.path.stat().st_size
        except FileNotFoundError:
            return 0

    def truncate(self, size: int) -> None:
        fd = self._open()
        current = os.fstat(fd).st_size
        if current < size:
            raise BlobNotFound(f"{self.path.name}: {current} bytes staged, {size} acknowledged")
        if current > size:
            os.ftruncate(fd, size)
        self._end = self._flushed = size

    def write_many(self, chunks: list[bytes]) -> None:
        fd = self._open()
        total = sum(len(chunk) for chunk in chunks)
        done = os.pwritev(fd, chunks, self._end) if chunks else 0
        if done < total:  # a short write: finish it byte-exact
            rest = memoryview(b"".join(chunks))[done:]
            while rest:
                written = os.pwrite(fd, rest, self._end + total - len(rest))
                rest = rest[written:]
        self._end += total
        if self._end - self._flushed >= _WRITEBACK_STEP:  # as LocalBlobWriter: write back as we go
            os.posix_fadvise(fd, self._flushed, self._end - self._flushed, os.POSIX_FADV_DONTNEED)
            self._flushed = self._end

    def seal(self) -> None:
        os.fsync(self._open())

    def read(self, start: int = 0, end: int | None = None, chunk_size: int = 1 << 20) -> Iterator[bytes]:
        try:
            handle = open(self.path, "rb")
        except FileNotFoundError:
            raise BlobNotFound(self.path.name) from None
        return LocalBlobStore._read(handle, start, end, chunk_size)

    def commit(self, key: str) -> None:
        """A hard link: the blob appears whole under key at once, and the staging stays until discard()."""
        self.seal()
        final = self._store.path_for(key)
        self._store.make_parents(final)
        linked = self._store.root / _STAGING / f"{uuid.uuid4().hex}.link"
        os.link(self.path, linked)
        os.replace(linked, final)
        _fsync_dir(final.parent)

    def abort(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    def discard(self) -> None:
        self.abort()
        try:
            self.path.unlink()
        except FileNotFoundError:
            return
        _fsync_dir(self.path.parent)
