"""Client file names: kept as sent for the record, and a safe form for headers, exports and file systems."""

from __future__ import annotations

import re
import unicodedata

MAX_FILENAME_CHARS = 4096
_UNSAFE = re.compile(r'[\x00-\x1f\x7f/\\:*?"<>|]')
# Bidirectional overrides, embeddings, isolates and marks: U+202E makes "gpj.hta" display as "ath.jpg".
_BIDI_CONTROLS = re.compile("[\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")
_MAX_SAFE_BYTES = 200
# Extensions a photo or video may carry whatever its exact format (phones and apps mislabel among these,
# harmlessly); any other is not offered, so that a JPEG named "x.hta" or "x.html" is never saved as one.
MEDIA_EXTENSIONS = frozenset({
    "jpg", "jpeg", "jpe", "jfif", "png", "apng", "gif", "webp", "tif", "tiff", "heic", "heif", "hif", "avif",
    "dng", "cr2", "cr3", "crw", "nef", "nrw", "arw", "srf", "sr2", "orf", "rw2", "raw", "raf", "pef", "srw", "3fr",
    "fff", "iiq", "rwl", "x3f", "erf", "kdc", "dcr", "mos", "mrw", "mp4", "m4v", "mov", "qt", "3gp", "3g2", "mkv",
    "webm", "avi", "mts", "m2ts",
})


def readable(name: str) -> str:
    """A file or folder name as a disk gave it, fit for the server: bytes that are not UTF-8 become U+FFFD."""
    return name.encode("utf-8", "surrogateescape").decode("utf-8", "replace")


def record_filename(name: str) -> str:
    """The name as the client sent it, except NUL, which no portable database text column can hold."""
    return name.replace("\x00", "\u2400")


def display_name(name: str) -> str:
    """The name to show to people: as recorded, without the controls that reorder how it reads."""
    return _BIDI_CONTROLS.sub("", name)


def safe_filename(name: str, content_extension: str) -> str:
    """A name without path parts, control or bidirectional characters, at most 200 UTF-8 bytes, whose
    extension is a photo or video one (else content_extension, the one of what the file really is, is added)."""
    name = display_name(unicodedata.normalize("NFC", name))
    cleaned = _UNSAFE.sub("_", name).strip(" .") or "file"
    stem, dot, extension = cleaned.rpartition(".")
    if not dot or not stem or extension.lower() not in MEDIA_EXTENSIONS:
        stem, extension = cleaned, content_extension
    encoded_extension = ("." + extension).encode()
    room = _MAX_SAFE_BYTES - len(encoded_extension)
    stem = stem.encode()[:room].decode("utf-8", "ignore").rstrip(" .") or "file"
    return stem + "." + extension
