"""Keep pathological EXIF away from libvips, and make a copy of a file without it.

libvips parses the EXIF of every JPEG, PNG (eXIf), WebP (EXIF) and HEIF it loads with libexif, whose cost
grows with the square of the number of IFD pointers that lead back to an IFD already loaded: a 60 KB JPEG
whose IFD0 holds 5,000 pointers to itself costs over 5 s of CPU per load. ``check_tiff`` walks the TIFF
structure of an EXIF block in pure Python, with work bounded by the block's size and hard caps, and says
why a block must not reach a parser; ``check_file`` does it for every block libvips would read from a
JPEG, PNG or WebP; ``copy_without_exif`` streams such a file to a copy without those blocks.

Other formats (HEIF items, TIFF and RAW files, which are TIFF themselves, videos) are not checked here:
the render sandbox caps their CPU time instead.
"""

from __future__ import annotations

import contextlib
import os
import struct
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from typing import BinaryIO

from phonecloud.media.sniff import JPEG, PNG, WEBP, MediaType

# Real IFDs hold tens of entries (a phone's EXIF IFD about 60, a DNG's IFD0 about 100): ten times that.
MAX_IFD_ENTRIES = 1000
# A whole phone or camera EXIF block holds a few hundred entries in all; this bounds the walk's work.
MAX_TOTAL_ENTRIES = 5000
# IFD0, IFD1, EXIF, GPS, Interop and a few SubIFDs: a real block has under ten.
MAX_IFDS = 64
# Some cameras point an empty GPS tag at their EXIF IFD (corpus jpg/tests/45-gps_ifd.jpg), so an IFD may be
# reached twice; libexif's cost grows with the square of repeated pointers, and a third has no excuse.
MAX_REFERENCES = 2
# Values are stored once each, so together they fit in the block; several times more means they overlap,
# which is how a small block makes a parser copy megabytes.
MAX_REFERENCED_FACTOR = 4
# JPEG cannot hold more than 64 KiB of EXIF, so no camera writes more; the block is read into memory whole.
MAX_EXIF_BYTES = 4 << 20
# Formats whose EXIF can be found, checked and dropped here; the rest are bounded by the sandbox's CPU cap.
STRIPPABLE = (JPEG, PNG, WEBP)

_POINTER_TAGS = {0x8769: "EXIF IFD", 0x8825: "GPS IFD", 0xA005: "Interop IFD", 0x014A: "SubIFD"}
_ORIENTATION = 0x0112
_THUMBNAIL_OFFSET, _THUMBNAIL_LENGTH = 0x0201, 0x0202
# Bytes per value of each TIFF field type (13 is TIFF-EP's IFD); unknown types hold nothing a parser reads.
_TYPE_SIZES = {1: 1, 2: 1, 3: 2, 4: 4, 5: 8, 6: 1, 7: 1, 8: 2, 9: 4, 10: 8, 11: 4, 12: 8, 13: 4}
_COPY_CHUNK = 1 << 20
_WEBP_EXIF_FLAG = 0x08  # in the VP8X chunk's flags byte


@dataclass(frozen=True)
class ExifCheck:
    problem: str | None = None  # why the EXIF must not reach a parser; None when it is fine (or absent)
    orientation: int | None = None  # IFD0's Orientation when it is 1 to 8
    entries_walked: int = 0  # the walk's work, for tests

    def note(self) -> str:
        """The problem as recorded with the file's metadata."""
        kept = f"; only its orientation ({self.orientation}) is used" if self.orientation else ""
        return f"EXIF ignored: {self.problem}{kept}"


def check_tiff(block: bytes) -> ExifCheck:
    """Walk the IFDs of one EXIF block (a TIFF structure, with or without the "Exif\\0\\0" prefix)."""
    if block.startswith(b"Exif"):
        block = block[6:]
    walk = _Walk(block)
    walk.run()
    return ExifCheck(walk.problem, walk.orientation, walk.entries)


@dataclass(frozen=True)
class _Ifd:
    offset: int
    name: str
    path: frozenset[int]  # the IFDs that led here, to tell a loop from a second pointer


class _Walk:
    """One breadth-first walk over the IFDs, each walked once however often it is pointed at."""

    def __init__(self, data: bytes):
        self.data = data
        self.order = "<" if data[:4] == b"II*\x00" else ">"
        self.problem: str | None = None
        self.orientation: int | None = None
        self.entries = 0
        self.referenced = 0  # bytes a parser copies: entries, values and the thumbnail
        self.references: dict[int, int] = {}  # IFD offset -> times pointed at
        self.loop: tuple[int, int] | None = None  # (from, to) of the first pointer back along its own path
        self.crowded: str | None = None  # an IFD with too many entries
        self.queue: list[_Ifd] = []

    def run(self) -> None:
        if len(self.data) < 8 or self.data[:4] not in (b"II*\x00", b"MM\x00*"):
            return  # not TIFF: libexif gives up at once as well
        self._point(None, self._long(4), "IFD0")
        walked = 0
        while self.queue and self.problem is None:
            walked += 1
            if walked > MAX_IFDS:
                self.problem = f"it has more than {MAX_IFDS} IFDs"
                return
            self._walk_ifd(self.queue.pop(0))
            self.problem = self._verdict()

    def _walk_ifd(self, ifd: _Ifd) -> None:
        data, order, offset = self.data, self.order, ifd.offset
        declared = struct.unpack_from(order + "H", data, offset)[0]
        count = min(declared, (len(data) - offset - 2) // 12)  # parsers skip entries past the end
        if count > MAX_IFD_ENTRIES:
            # Walked all the same (up to the total cap), for the orientation and to say what is repeated.
            self.crowded = f"{ifd.name} at byte {offset} has {count} entries (real ones have at most {MAX_IFD_ENTRIES})"
        thumbnail = {}
        for position in range(offset + 2, offset + 2 + 12 * count, 12):
            self.entries += 1
            if self.entries > MAX_TOTAL_ENTRIES:
                self.problem = self._verdict() or f"it has more than {MAX_TOTAL_ENTRIES} entries in all"
                return
            tag, kind, values, value = struct.unpack_from(order + "HHII", data, position)
            size = _TYPE_SIZES.get(kind, 0) * values
            if size > 4 and value + size <= len(data):
                self.referenced += size
            if tag in _POINTER_TAGS:
                self._point_all(ifd, tag, kind, values, value)
            elif tag == _ORIENTATION and ifd.name == "IFD0" and self.orientation is None and values >= 1:
                found = self._short(position + 8) if kind == 3 else value if kind == 4 else None
                self.orientation = found if found in range(1, 9) else None
            elif tag in (_THUMBNAIL_OFFSET, _THUMBNAIL_LENGTH):
                thumbnail[tag] = value
        self.referenced += 6 + 12 * count
        start, length = thumbnail.get(_THUMBNAIL_OFFSET, 0), thumbnail.get(_THUMBNAIL_LENGTH, 0)
        if start + length <= len(data):
            self.referenced += length
        if ifd.name.startswith("IFD") and offset + 6 + 12 * count <= len(data):  # IFD0, IFD1...: a chain
            self._point(ifd, self._long(offset + 2 + 12 * count), f"IFD{int(ifd.name[3:]) + 1}")

    def _point_all(self, ifd: _Ifd, tag: int, kind: int, values: int, value: int) -> None:
        if tag != 0x014A or values <= 1:
            self._point(ifd, value, _POINTER_TAGS[tag])  # parsers read the offset whatever the type says
            return
        if kind not in (4, 13) or value + 4 * values > len(self.data):
            return  # a SubIFDs list a parser cannot read either
        for index in range(min(values, MAX_IFD_ENTRIES)):
            self.entries += 1  # each offset is work, and counts against the caps
            self._point(ifd, self._long(value + 4 * index), f"SubIFD {index}")

    def _point(self, source: _Ifd | None, offset: int, name: str) -> None:
        if offset == 0 or offset + 2 > len(self.data):
            return  # absent, or past the end: nothing to load
        seen = self.references.get(offset, 0)
        self.references[offset] = seen + 1
        path = frozenset() if source is None else source.path | {source.offset}
        if offset in path and self.loop is None:
            self.loop = (source.offset, offset)
        if not seen:
            self.queue.append(_Ifd(offset, name, path))

    def _verdict(self) -> str | None:
        """The worst thing found so far, most telling first."""
        offset, times = max(self.references.items(), key=lambda item: item[1], default=(0, 0))
        if times > MAX_REFERENCES:
            return f"the IFD at byte {offset} is referenced {times} times"
        if self.loop is not None:
            source, target = self.loop
            if source == target:
                return f"the IFD at byte {source} points to itself"
            return f"the IFD at byte {source} points back to the IFD at byte {target}, which leads to it (a loop)"
        if self.crowded is not None:
            return self.crowded
        if self.referenced > MAX_REFERENCED_FACTOR * len(self.data):
            return (f"its entries refer to {self.referenced} bytes, more than {MAX_REFERENCED_FACTOR} "
                    f"times its own {len(self.data)}")
        return None

    def _long(self, position: int) -> int:
        return struct.unpack_from(self.order + "I", self.data, position)[0]

    def _short(self, position: int) -> int:
        return struct.unpack_from(self.order + "H", self.data, position)[0]


# --- EXIF inside JPEG, PNG and WebP -------------------------------------------------------------------------


@dataclass(frozen=True)
class _Span:
    start: int  # the whole segment or chunk, as it is dropped from a copy
    end: int
    payload: int  # where its EXIF block starts
    payload_end: int


def check_file(file: BinaryIO, media: MediaType) -> ExifCheck:
    """Every EXIF block libvips would parse in this file, checked; the first problem found wins."""
    if media not in STRIPPABLE:
        return ExifCheck()
    orientation, entries = None, 0
    for span in _exif_spans(file, media):
        size = span.payload_end - span.payload
        if size > MAX_EXIF_BYTES:
            return ExifCheck(f"it is {size} bytes long (real ones are under {MAX_EXIF_BYTES})", orientation, entries)
        file.seek(span.payload)
        check = check_tiff(file.read(size))
        entries += check.entries_walked
        orientation = orientation or check.orientation
        if check.problem is not None:
            return ExifCheck(check.problem, orientation, entries)
    return ExifCheck(None, orientation, entries)


def check_path(path: str, media: MediaType) -> ExifCheck:
    if media not in STRIPPABLE:
        return ExifCheck()
    with open(path, "rb") as file:
        return check_file(file, media)


def copy_without_exif(source: BinaryIO, destination: BinaryIO, media: MediaType) -> None:
    """Stream ``source`` to ``destination`` (seekable) without its EXIF blocks, in constant memory."""
    spans = _exif_spans(source, media)
    position = 0
    for span in spans:
        _copy(source, destination, position, span.start)
        position = span.end
    _copy(source, destination, position, None)
    if media == WEBP and spans:
        _fix_webp_header(source, destination, removed=sum(span.end - span.start for span in spans))


@contextlib.contextmanager
def exif_free_copy(path: str, media: MediaType) -> Iterator[str]:
    """A temporary copy of the file at ``path`` without its EXIF, removed afterwards."""
    descriptor, copy = tempfile.mkstemp(prefix="phonecloud-noexif-", suffix=f".{media.extension}")
    try:
        with os.fdopen(descriptor, "w+b") as destination, open(path, "rb") as source:
            copy_without_exif(source, destination, media)
        yield copy
    finally:
        os.unlink(copy)


def _exif_spans(file: BinaryIO, media: MediaType) -> list[_Span]:
    size = file.seek(0, os.SEEK_END)
    if media == JPEG:
        return list(_jpeg_exif(file))
    if media == PNG:
        return [span for kind, span in _chunks(file, 8, size, _png_chunk) if kind == b"eXIf"]
    if media == WEBP:
        end = min(size, 8 + _u32le(file, 4)) if size >= 12 else 0
        return [span for kind, span in _chunks(file, 12, end, _webp_chunk) if kind == b"EXIF"]
    return []


def _jpeg_exif(file: BinaryIO) -> Iterator[_Span]:
    """The APP1 segments libvips takes for EXIF (those starting "Exif"), up to the image data."""
    file.seek(2)
    while True:
        start = file.tell()
        if file.read(1) != b"\xff":
            return  # damaged: libjpeg stops here too
        marker = file.read(1)
        while marker == b"\xff":  # fill bytes may pad a marker
            marker = file.read(1)
        if not marker or marker[0] in (0xD9, 0xDA):  # end of image, or start of scan
            return
        if marker[0] in (0x01, 0xD8) or 0xD0 <= marker[0] <= 0xD7:  # markers without a length
            continue
        length = int.from_bytes(file.read(2), "big")
        if length < 2:
            return
        payload = file.tell()
        if marker[0] == 0xE1 and file.read(4) == b"Exif":
            yield _Span(start, payload + length - 2, payload, payload + length - 2)
        file.seek(payload + length - 2)


def _png_chunk(header: bytes) -> tuple[bytes, int, int]:
    """(type, payload size, whole chunk size) of a PNG chunk from its first 8 bytes (its CRC follows)."""
    length = int.from_bytes(header[:4], "big")
    return header[4:8], length, 12 + length


def _webp_chunk(header: bytes) -> tuple[bytes, int, int]:
    length = int.from_bytes(header[4:8], "little")
    return header[:4], length, 8 + length + (length & 1)  # payloads are padded to an even size


def _chunks(file: BinaryIO, position: int, end: int, parse) -> Iterator[tuple[bytes, _Span]]:
    """Chunks laid end to end from ``position``; stops at the first that does not fit (as decoders do)."""
    while position + 8 <= end:
        file.seek(position)
        kind, length, total = parse(file.read(8))
        if position + total > end:
            return
        yield kind, _Span(position, position + total, position + 8, position + 8 + length)
        if kind == b"IEND":
            return
        position += total


def _copy(source: BinaryIO, destination: BinaryIO, start: int, end: int | None) -> None:
    source.seek(start)
    remaining = None if end is None else end - start
    while remaining is None or remaining > 0:
        chunk = source.read(_COPY_CHUNK if remaining is None else min(remaining, _COPY_CHUNK))
        if not chunk:
            return
        destination.write(chunk)
        if remaining is not None:
            remaining -= len(chunk)


def _fix_webp_header(source: BinaryIO, destination: BinaryIO, removed: int) -> None:
    """The RIFF size less the chunks dropped, and no EXIF flag in VP8X (a decoder would look for one)."""
    destination.seek(4)
    destination.write(max(_u32le(source, 4) - removed, 4).to_bytes(4, "little"))
    source.seek(12)
    if source.read(4) == b"VP8X":
        source.seek(20)
        flags = source.read(1)
        if flags:
            destination.seek(20)
            destination.write(bytes([flags[0] & ~_WEBP_EXIF_FLAG & 0xFF]))
    destination.seek(0, os.SEEK_END)


def _u32le(file: BinaryIO, position: int) -> int:
    file.seek(position)
    return int.from_bytes(file.read(4), "little")
