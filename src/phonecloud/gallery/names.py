"""Client file names: kept as sent for the record, and a safe form for headers, exports and file systems."""

from __future__ import annotations

import re
import unicodedata

MAX_FILENAME_CHARS = 4096
_UNSAFE = re.compile(r'[\x00-\x1f\x7f/\\:*?"<>|]')
_MAX_SAFE_BYTES = 200


def record_filename(name: str) -> str:
    """The name as the client sent it, except NUL, which no portable database text column can hold."""
    return name.replace("\x00", "\u2400")


def safe_filename(name: str, fallback_extension: str) -> str:
    """A name without path parts or control characters, at most 200 UTF-8 bytes, keeping the extension."""
    name = unicodedata.normalize("NFC", name)
    cleaned = _UNSAFE.sub("_", name).strip(" .") or "file"
    stem, dot, extension = cleaned.rpartition(".")
    if not dot or not stem or len(extension) > 10:
        stem, extension = cleaned, fallback_extension
    encoded_extension = ("." + extension).encode()
    room = _MAX_SAFE_BYTES - len(encoded_extension)
    stem = stem.encode()[:room].decode("utf-8", "ignore").rstrip(" .") or "file"
    return stem + "." + extension
