"""Zip archives treated as hostile: what every reader of an archive someone else made (an export being
imported, a phone app's backup) checks before it reads an entry. Names only classify entries, never become
paths; still, an entry a careless extractor would turn into an attack is refused with the reason. Stdlib
only: the client reads archives too."""

from __future__ import annotations

import stat
import zipfile

from phonecloud.core.sizes import format_size

MAX_NAME_CHARS = 4096
MAX_RATIO = 100  # photos, videos and attachments barely compress; text does, but is small next to them
RATIO_FLOOR = 1 << 20  # below this, any ratio is harmless
_LOCAL_HEADER = 30  # bytes of an entry's local header before its name


def unsafe_name(name: str) -> str | None:
    """Why a name could escape an extraction folder (zip slip), or None."""
    if len(name) > MAX_NAME_CHARS:
        return "name too long"
    if "\x00" in name or "\\" in name:
        return "NUL or backslash in the name"
    if name.startswith("/") or (len(name) > 1 and name[1] == ":"):
        return "absolute path"
    if any(part in ("", ".", "..") for part in name.rstrip("/").split("/")):
        return "'..', '.' or an empty part in the path"
    return None


def refusal(info: zipfile.ZipInfo, max_file_bytes: int) -> str | None:
    """Why an entry is not read, or None: its name, a link, encryption, an unknown compression, its size,
    or a compression ratio only a zip bomb has."""
    if why := unsafe_name(info.filename):
        return why
    if stat.S_ISLNK(info.external_attr >> 16):
        return "a symbolic link"
    if info.flag_bits & 0x1:
        return "encrypted"
    if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
        return f"compression method {info.compress_type} is not accepted"
    if info.file_size > max_file_bytes:
        return f"{format_size(info.file_size)}, more than the limit of {format_size(max_file_bytes)}"
    if info.file_size > RATIO_FLOOR and info.file_size > MAX_RATIO * max(1, info.compress_size):
        return f"inflates {info.file_size // max(1, info.compress_size)} times (a zip bomb?)"
    return None


def overlapping(infos: list[zipfile.ZipInfo]) -> tuple[zipfile.ZipInfo, zipfile.ZipInfo] | None:
    """Two entries whose data overlap (the overlapping-entries zip bomb), or None: each entry's header and
    data must end before the next one begins."""
    ordered = sorted(infos, key=lambda info: info.header_offset)
    for this, following in zip(ordered, ordered[1:]):
        end = this.header_offset + _LOCAL_HEADER + len(this.orig_filename.encode("utf-8", "surrogateescape")) \
            + this.compress_size
        if end > following.header_offset:
            return this, following
    return None
