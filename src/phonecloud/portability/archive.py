"""Reading an export to import it, from zip parts or an unzipped folder, treating it as hostile. Pure Python.

Nothing is ever extracted to disk: entries are read as streams straight into uploads, and names only
classify files, never become paths. Still, entries that a careless extractor would turn into an attack are
refused or skipped with the reason: names with `..`, absolute or drive paths, backslashes or NUL (zip
slip); symbolic links; encrypted entries and unknown compression; an entry larger than the limit; a
compressed entry that inflates more than MAX_RATIO times (zip bomb), and entries whose data overlap (the
overlapping-entries zip bomb). In a folder, symbolic links are not followed.
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

MAX_ENTRIES = 1_000_000  # per zip part: a Takeout part of 50 GB holds far fewer files
MAX_NAME_CHARS = 4096
MAX_RATIO = 100  # photos and videos barely compress; JSON does, but sidecars are small
RATIO_FLOOR = 1 << 20  # below this, any ratio is harmless
_LOCAL_HEADER = 30


class UnsafeArchive(Exception):
    """The archive as a whole cannot be trusted (its entries overlap, or there are far too many)."""


@dataclass(frozen=True)
class SourceFile:
    path: str  # '/'-separated, relative: for classifying only
    size: int
    mtime: float | None
    open: Callable[[], BinaryIO]


@dataclass
class Sources:
    files: list[SourceFile]
    skipped: list[tuple[str, str]]  # (name, why)


def _unsafe_name(name: str) -> str | None:
    if len(name) > MAX_NAME_CHARS:
        return "name too long"
    if "\x00" in name or "\\" in name:
        return "NUL or backslash in the name"
    if name.startswith("/") or (len(name) > 1 and name[1] == ":"):
        return "absolute path"
    if any(part in ("", ".", "..") for part in name.rstrip("/").split("/")):
        return "'..', '.' or an empty part in the path"
    return None


def _refusal(info: zipfile.ZipInfo, max_file_bytes: int) -> str | None:
    """Why an entry is not read, or None."""
    if why := _unsafe_name(info.filename):
        return why
    if stat.S_ISLNK(info.external_attr >> 16):
        return "a symbolic link"
    if info.flag_bits & 0x1:
        return "encrypted"
    if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
        return f"compression method {info.compress_type} is not accepted"
    if info.file_size > max_file_bytes:
        return f"{info.file_size} bytes, more than the limit of {max_file_bytes}"
    if info.file_size > RATIO_FLOOR and info.file_size > MAX_RATIO * max(1, info.compress_size):
        return f"inflates {info.file_size // max(1, info.compress_size)} times (a zip bomb?)"
    return None


def _zip_entries(archive: zipfile.ZipFile, label: str, max_file_bytes: int, sources: Sources) -> None:
    infos = archive.infolist()
    if len(infos) > MAX_ENTRIES:
        raise UnsafeArchive(f"{label}: {len(infos)} entries, more than the {MAX_ENTRIES} accepted")
    _check_overlaps(infos, label)
    for info in infos:
        if info.is_dir() and _unsafe_name(info.filename) is None:
            continue
        if why := _refusal(info, max_file_bytes):
            sources.skipped.append((f"{label}:{readable(info.filename)}", why))
            continue
        try:
            mtime = dt.datetime(*info.date_time, tzinfo=dt.UTC).timestamp()
        except ValueError:
            mtime = None
        sources.files.append(SourceFile(info.filename, info.file_size, mtime, lambda info=info: archive.open(info)))


def _check_overlaps(infos: list[zipfile.ZipInfo], label: str) -> None:
    """Each entry's header and data must end before the next entry begins."""
    ordered = sorted(infos, key=lambda info: info.header_offset)
    for this, following in zip(ordered, ordered[1:]):
        end = this.header_offset + _LOCAL_HEADER + len(this.orig_filename.encode("utf-8", "surrogateescape")) \
            + this.compress_size
        if end > following.header_offset:
            raise UnsafeArchive(f"{label}: entries {readable(this.filename)!r} and {readable(following.filename)!r} "
                                "overlap (a zip bomb?)")


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


def open_sources(paths: list[Path], max_file_bytes: int) -> OpenedSources:
    """Every file of the given zip parts and folders (a folder of zip parts counts as those parts)."""
    stack = ExitStack()
    sources = Sources([], [])
    try:
        for path in paths:
            parts = sorted(path.glob("*.zip")) if path.is_dir() else [path]
            if path.is_dir() and not parts:
                _folder_entries(path, sources)
                continue
            for part in parts:
                try:
                    archive = stack.enter_context(zipfile.ZipFile(part))
                except (zipfile.BadZipFile, OSError) as error:
                    raise UnsafeArchive(f"{part}: not a readable zip archive: {error}") from None
                _zip_entries(archive, part.name, max_file_bytes, sources)
    except BaseException:
        stack.close()
        raise
    return OpenedSources(stack, sources)


def read_chunks(source: SourceFile, chunk: int = 1 << 20) -> Iterator[bytes]:
    with source.open() as stream:
        while data := stream.read(chunk):
            yield data
