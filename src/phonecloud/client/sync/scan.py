"""Walk folders for candidate files, read a file's kind and SHA-1 in one pass, and read it again to send it
(refusing a file that changed meanwhile)."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from phonecloud.core.dates import storable_nanoseconds
from phonecloud.media.sniff import SNIFF_BYTES, MediaType, sniff

READ_CHUNK = 1 << 20


@dataclass(frozen=True)
class FoundFile:
    path: str
    size: int
    mtime_ns: int


def walk(roots: Iterable[Path]) -> Iterator[FoundFile]:
    """Every regular file below the roots (empty ones too: the caller accounts for them); hidden files and
    folders (Android's .thumbnails, .trashed-*, .pending-*) are not the user's photos and are passed over."""
    stack = [str(Path(root).resolve()) for root in roots]
    while stack:
        folder = stack.pop()
        try:
            entries = list(os.scandir(folder))
        except OSError:
            continue
        for entry in sorted(entries, key=lambda e: e.name, reverse=True):
            if entry.name.startswith("."):
                continue
            try:
                if entry.is_dir(follow_symlinks=False):
                    stack.append(entry.path)
                elif entry.is_file(follow_symlinks=False):
                    status = entry.stat(follow_symlinks=False)
                    yield FoundFile(entry.path, status.st_size, storable_nanoseconds(status.st_mtime_ns))
            except OSError:
                continue


def identify(path: str) -> tuple[MediaType | None, str | None]:
    """(media type, SHA-1) of a file; the hash only for photos and videos, which are read to the end."""
    with open(path, "rb") as handle:
        head = handle.read(SNIFF_BYTES)
        media = sniff(head)
        if media is None:
            return None, None
        digest = hashlib.sha1(head)
        while chunk := handle.read(READ_CHUNK):
            digest.update(chunk)
    return media, digest.hexdigest()


class FileChanged(Exception):
    """The file changed on disk after it was hashed."""


def file_chunks(path: Path, size: int, mtime_ns: int, start: int = 0) -> Iterator[bytes]:
    """The file's bytes from start on, if it is still the version that was hashed (size and mtime)."""
    with open(path, "rb") as handle:
        status = os.fstat(handle.fileno())
        if status.st_size != size or storable_nanoseconds(status.st_mtime_ns) != mtime_ns:
            raise FileChanged(f"{path} changed since it was read")
        handle.seek(start)
        while chunk := handle.read(READ_CHUNK):
            yield chunk
