"""Reading an export to import it, from zip parts or an unzipped folder, treating it as hostile. Pure Python.

Nothing is ever extracted to disk: entries are read as streams straight into uploads, and names only
classify files, never become paths. Entries that a careless extractor would turn into an attack are skipped
with the reason core/zipsafety.py gives (zip slip, links, encryption, size, zip bombs), and an archive whose
entries overlap is refused whole. In a folder, symbolic links are not followed.
"""

from __future__ import annotations

import datetime as dt
import os
import stat
import zipfile
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from phonecloud.core.names import readable
from phonecloud.core.zipsafety import overlapping, refusal, unsafe_name

MAX_ENTRIES = 1_000_000  # per zip part: a Takeout part of 50 GB holds far fewer files


class UnsafeArchive(Exception):
    """The archive as a whole cannot be trusted (its entries overlap, or there are far too many)."""


@dataclass(frozen=True)
class SourceFile:
    path: str  # '/'-separated, relative: for classifying only
    size: int
    mtime: float | None
    open: Callable[[], BinaryIO]


@dataclass(frozen=True)
class ArchivePart:
    """A zip part that is not a file of its own (a blob of the server's store): opened when read."""

    label: str
    open: Callable[[], BinaryIO]


@dataclass
class Sources:
    files: list[SourceFile]
    skipped: list[tuple[str, str]]  # (name, why)


def _zip_entries(archive: zipfile.ZipFile, label: str, max_file_bytes: int, sources: Sources) -> None:
    infos = archive.infolist()
    if len(infos) > MAX_ENTRIES:
        raise UnsafeArchive(f"{label}: {len(infos)} entries, more than the {MAX_ENTRIES} accepted")
    if overlap := overlapping(infos):
        first, second = overlap
        raise UnsafeArchive(f"{label}: entries {readable(first.filename)!r} and {readable(second.filename)!r} "
                            "overlap (a zip bomb?)")
    for info in infos:
        if info.is_dir() and unsafe_name(info.filename) is None:
            continue
        if why := refusal(info, max_file_bytes):
            sources.skipped.append((f"{label}:{readable(info.filename)}", why))
            continue
        try:
            mtime = dt.datetime(*info.date_time, tzinfo=dt.UTC).timestamp()
        except ValueError:
            mtime = None
        sources.files.append(SourceFile(info.filename, info.file_size, mtime, lambda info=info: archive.open(info)))


def _folder_entries(root: Path, sources: Sources) -> None:
    for folder, dirnames, filenames in os.walk(root):  # never follows symbolic links to folders
        dirnames.sort()
        for name in sorted(filenames):
            path = os.path.join(folder, name)
            relative = readable(os.path.relpath(path, root)).replace(os.sep, "/")
            try:
                status = os.lstat(path)
            except OSError as error:
                sources.skipped.append((relative, f"cannot read: {error.strerror}"))
                continue
            if not stat.S_ISREG(status.st_mode):
                sources.skipped.append((relative, "not a regular file (a symbolic link?)"))
                continue
            sources.files.append(SourceFile(relative, status.st_size, status.st_mtime,
                                            lambda path=path: open(path, "rb")))


@dataclass
class OpenedSources:
    stack: ExitStack
    sources: Sources

    def __enter__(self) -> Sources:
        return self.sources

    def __exit__(self, *exc_info) -> None:
        self.stack.close()


def open_sources(paths: list[Path | ArchivePart], max_file_bytes: int) -> OpenedSources:
    """Every file of the given zip parts and folders (a folder of zip parts counts as those parts)."""
    stack = ExitStack()
    sources = Sources([], [])
    try:
        for path in paths:
            if isinstance(path, ArchivePart):
                _open_zip(stack, path.label, path.open, max_file_bytes, sources)
                continue
            parts = sorted(path.glob("*.zip")) if path.is_dir() else [path]
            if path.is_dir() and not parts:
                _folder_entries(path, sources)
                continue
            for part in parts:
                _open_zip(stack, part.name, lambda part=part: open(part, "rb"), max_file_bytes, sources)
    except BaseException:
        stack.close()
        raise
    return OpenedSources(stack, sources)


def _open_zip(stack: ExitStack, label: str, opener: Callable[[], BinaryIO], max_file_bytes: int,
              sources: Sources) -> None:
    try:
        archive = stack.enter_context(zipfile.ZipFile(stack.enter_context(opener())))
    except (zipfile.BadZipFile, OSError) as error:
        raise UnsafeArchive(f"{label}: not a readable zip archive: {error}") from None
    _zip_entries(archive, label, max_file_bytes, sources)


def read_chunks(source: SourceFile, chunk: int = 1 << 20) -> Iterator[bytes]:
    with source.open() as stream:
        while data := stream.read(chunk):
            yield data
