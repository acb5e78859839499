"""What a photo or video says about itself: when and where it was taken, by what, and how it is stored.

Every value comes from the file's own metadata, most trusted first (EXIF, then XMP, then the video
container, then the file name, then the file's modification time), and a value that cannot be true (a date
in year 0, a latitude of 95°) is left out with a note in `problems` rather than stored. Uploaded files are
untrusted: nothing here raises on bad bytes, and every reader is bounded in how much it reads.
"""

from __future__ import annotations

import datetime
import io
import logging
import math
import re
import struct
from dataclasses import dataclass, field
from typing import BinaryIO

import av
import av.error
import exifread
from exifread.core.exceptions import ExifError  # exifread 3.0 had it at exifread.exceptions

from phonecloud.core.dates import RANGE_TEXT, in_range
from phonecloud.media import exif_guard, xmp
from phonecloud.media.facts import CameraFacts, Metadata  # what extract() returns: the list, declared there
from phonecloud.media.filenames import date_from_filename
from phonecloud.media.sniff import AVIF, GIF, HEIC, HEIF, JPEG, PNG, TIFF, WEBP, MediaType

# exifread logs a warning for every file without EXIF and for each odd tag: noise for a server that reads
# thousands of phone photos, and what matters about a file ends up in Metadata.problems.
logging.getLogger("exifread").setLevel(logging.ERROR)

# exifread follows offsets wherever a file points them; these bound the reads one file may cost it.
EXIF_MAX_READS = 50_000  # real files need about a thousand
EXIF_MAX_BYTES = 4 << 20
# Metadata segments of a JPEG come before the image data; no camera writes megabytes of them.
JPEG_HEADER_LIMIT = 4 << 20
# HEIF's item properties (sizes, rotations) sit in a 'meta' box of a few kilobytes.
HEIF_META_LIMIT = 1 << 20
# Opening a video only reads its headers; this stops a crafted file that makes FFmpeg probe for long.
VIDEO_OPEN_TIMEOUT_SECONDS = 10.0

# QuickTime and MP4 count time from 1904; a zero there, or the Unix epoch, means "not set".
_UNSET_VIDEO_DATES = {datetime.datetime(1904, 1, 1), datetime.datetime(1970, 1, 1)}


def extract(path: str, media: MediaType, filename: str, file_modified_at: datetime.datetime) -> Metadata:
    """Read the metadata of the file at `path`, of the type sniff() gave; `filename` is the name it had
    on the phone, `file_modified_at` its modification time there (timezone-aware)."""
    draft = _Draft()
    try:
        with open(path, "rb") as file:
            if media.kind == "video":
                _read_xmp_by_scanning(file, draft)
                _read_video(path, draft)
            else:
                _read_photo(file, media, draft)
    except OSError as error:
        draft.problems.append(f"file unreadable: {error.strerror or type(error).__name__}")

    name_date = date_from_filename(filename or "")
    if name_date is not None:
        note = f"only the day is known from the file name {filename!r}: time set to midnight" if name_date.date_only else None
        draft.add_date(_FILENAME, name_date.taken_at, name_date.offset_minutes, f"file name {filename!r}", note)
    if file_modified_at is not None:  # the client may not know it; a naive one is taken as UTC
        mtime = file_modified_at.astimezone(datetime.timezone.utc) if file_modified_at.tzinfo else file_modified_at
        draft.add_date(_MTIME, mtime.replace(tzinfo=None), 0, "file modification time")
    return draft.finish()


# --- collecting values --------------------------------------------------------------------------------------

# Date sources by rank, lowest first. EXIF DateTime (IFD0) is the time the camera last wrote the file: the
# capture time for phones that write nothing else, but an editor's save time too, so it ranks below the rest.
_EXIF_ORIGINAL, _EXIF_DIGITIZED, _XMP, _QUICKTIME, _EXIF_MODIFIED, _FILENAME, _MTIME = range(7)
_SOURCE_NAMES = {
    _EXIF_ORIGINAL: "exif", _EXIF_DIGITIZED: "exif", _XMP: "xmp", _QUICKTIME: "quicktime",
    _EXIF_MODIFIED: "exif", _FILENAME: "filename", _MTIME: "file_mtime",
}


@dataclass
class _DateCandidate:
    rank: int
    taken_at: datetime.datetime
    offset_minutes: int | None
    note: str | None


@dataclass
class _Draft:
    """What the readers found so far. Readers run most trusted first, and a field of Metadata keeps the
    first value offered for it that passed its checks."""

    dates: list[_DateCandidate] = field(default_factory=list)
    found: dict[str, object] = field(default_factory=dict)  # by the name of the Metadata field
    motion_claimed: bool = False  # the XMP says a video is appended
    motion_candidates: tuple[int, ...] = ()  # where the XMP says it starts, in bytes back from the end
    problems: list[str] = field(default_factory=list)

    def offer(self, **values: object) -> None:
        for name, value in values.items():
            if value is not None:
                self.found.setdefault(name, value)

    def add_date(self, rank: int, taken_at: datetime.datetime, offset_minutes: int | None, label: str,
                 note: str | None = None) -> None:
        if not in_range(taken_at):  # the one rule for every date that enters (core.dates)
            self.problems.append(f"{label} ignored: {taken_at:%Y-%m-%d} is outside {RANGE_TEXT}")
            return
        # Compared with UTC now: a day of slack covers every zone, so a wall clock ahead of UTC passes.
        if taken_at > datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None) + datetime.timedelta(days=1):
            self.problems.append(f"{label} ignored: {taken_at:%Y-%m-%d %H:%M:%S} is in the future")
            return
        self.dates.append(_DateCandidate(rank, taken_at, offset_minutes, note))

    def offer_camera(self, facts: CameraFacts, label: str) -> None:
        self.offer_position(facts.latitude, facts.longitude, facts.altitude, label)
        self.offer(make=facts.make, model=facts.model, lens=facts.lens)
        self.offer_orientation(facts.orientation, label)

    def offer_orientation(self, value: float | int | None, label: str) -> None:
        if value is None:
            return
        if value in range(1, 9):
            self.offer(orientation=int(value))
        else:
            self.problems.append(f"{label} orientation ignored: {value!r} is not 1 to 8")

    def offer_position(self, latitude: float | None, longitude: float | None, altitude: float | None,
                       label: str) -> None:
        if latitude is None or longitude is None or "latitude" in self.found:
            return
        if not (math.isfinite(latitude) and math.isfinite(longitude)):
            self.problems.append(f"{label} GPS position ignored: not a number")
        elif not (-90 <= latitude <= 90 and -180 <= longitude <= 180):
            self.problems.append(f"{label} GPS position ignored: {latitude}, {longitude} is out of range")
        elif latitude == 0 and longitude == 0:
            # Phones without a fix write zeros; a photo really taken at 0°N 0°E is in the Gulf of Guinea.
            self.problems.append(f"{label} GPS position ignored: 0, 0 is what a device without a fix writes")
        else:
            self.offer(latitude=latitude, longitude=longitude)
            if altitude is not None and math.isfinite(altitude) and -12_000 <= altitude <= 100_000:
                self.offer(altitude=altitude)
            elif altitude is not None:
                self.problems.append(f"{label} GPS altitude ignored: {altitude} m")

    def finish(self) -> Metadata:
        chosen = min(self.dates, key=lambda candidate: candidate.rank, default=None)
        if chosen and chosen.note:
            self.problems.append(chosen.note)
        return Metadata(
            **self.found,
            taken_at=chosen.taken_at if chosen else None,
            taken_at_offset_minutes=chosen.offset_minutes if chosen else None,
            date_source=_SOURCE_NAMES[chosen.rank] if chosen else "file_mtime",
            motion_photo="motion_video_offset" in self.found,
            problems=tuple(self.problems),
        )


# --- photos -------------------------------------------------------------------------------------------------

def _read_photo(file: BinaryIO, media: MediaType, draft: _Draft) -> None:
    head = file.read(64)
    # EXIF that the renderer will not let libvips see is not read here either, save its orientation (which
    # the renderer applies): the file's metadata and its preview tell the same story.
    guard = exif_guard.check_file(file, media)
    if guard.problem is not None:
        draft.problems.append(guard.note())
        draft.offer_orientation(guard.orientation, "EXIF")
    if media == JPEG:
        header = _read_jpeg_header(file, draft)
        if header.exif is not None and guard.problem is None:
            _read_exif(io.BytesIO(header.exif), draft, size_tags=None)
        if header.xmp is not None:
            _read_xmp_packet(header.xmp, draft)
        draft.offer(width=header.width, height=header.height)
    else:
        if guard.problem is None:
            _read_exif(file, draft, size_tags=_EXIF_SIZE_TAGS.get(media, _EXIF_SIZE_TAGS[None]))
        _read_xmp_by_scanning(file, draft)
        size = _header_dimensions(head) if media in (PNG, GIF, WEBP) else None
        if media in (HEIC, HEIF, AVIF):
            size = _heif_primary_size(file)
        if size:
            draft.offer(width=size[0] or None, height=size[1] or None)
    _find_motion_video(file, draft)


# Where the stored size is, for formats whose own header is not read here. A TIFF's first IFD describes the
# image; camera RAW files keep a thumbnail there, so for them only EXIF's PixelXDimension will do. The other
# formats' headers say it better than EXIF, which an editor may have left stale.
_EXIF_SIZE_TAGS: dict[MediaType | None, tuple[str, str] | None] = {
    TIFF: ("Image ImageWidth", "Image ImageLength"),
    PNG: None, GIF: None, WEBP: None, HEIC: None, HEIF: None, AVIF: None,
    None: ("EXIF ExifImageWidth", "EXIF ExifImageLength"),
}


@dataclass
class _JpegHeader:
    exif: bytes | None = None  # the TIFF structure inside the "Exif" APP1 segment
    xmp: bytes | None = None
    width: int | None = None
    height: int | None = None


_XMP_APP1_ID = b"http://ns.adobe.com/xap/1.0/\x00"
# Start-of-frame markers carry the image size; C4 (Huffman tables), C8 and CC (arithmetic coding) do not.
_SOF_MARKERS = {0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF}


def _read_jpeg_header(file: BinaryIO, draft: _Draft) -> _JpegHeader:
    """Walk the segments of a JPEG up to its image data, keeping EXIF, XMP and the frame size."""
    header = _JpegHeader()
    file.seek(2)
    while file.tell() < JPEG_HEADER_LIMIT:
        prefix = file.read(1)
        if prefix != b"\xff":
            if prefix:
                draft.problems.append(f"JPEG segments damaged at byte {file.tell() - 1}: stopped reading there")
            break
        marker = file.read(1)
        while marker == b"\xff":  # fill bytes may pad a marker
            marker = file.read(1)
        if not marker or marker[0] in (0xD9, 0xDA):  # end of image, or start of scan: no metadata after it
            break
        if marker[0] in (0x01, 0xD8) or 0xD0 <= marker[0] <= 0xD7:  # markers without a length
            continue
        length_bytes = file.read(2)
        length = int.from_bytes(length_bytes, "big")
        if len(length_bytes) < 2 or length < 2:
            break
        if marker[0] == 0xE1 or (marker[0] in _SOF_MARKERS and header.width is None):
            payload = file.read(length - 2)
            if payload.startswith(b"Exif\x00") and header.exif is None:
                header.exif = payload[6:]
            elif payload.startswith(_XMP_APP1_ID) and header.xmp is None:
                header.xmp = payload[len(_XMP_APP1_ID):]
            elif marker[0] in _SOF_MARKERS and len(payload) >= 5:
                header.height = int.from_bytes(payload[1:3], "big") or None
                header.width = int.from_bytes(payload[3:5], "big") or None
        else:
            file.seek(length - 2, io.SEEK_CUR)
    return header


def _header_dimensions(head: bytes) -> tuple[int, int] | None:
    """Width and height from the first bytes of a PNG, GIF or WebP."""
    if head.startswith(b"\x89PNG") and head[12:16] == b"IHDR":
        return int.from_bytes(head[16:20], "big"), int.from_bytes(head[20:24], "big")
    if head[:3] == b"GIF" and len(head) >= 10:
        return int.from_bytes(head[6:8], "little"), int.from_bytes(head[8:10], "little")
    chunk = head[12:16]
    if chunk == b"VP8X" and len(head) >= 30:  # extended WebP: the canvas size, minus one, in 24 bits each
        return int.from_bytes(head[24:27], "little") + 1, int.from_bytes(head[27:30], "little") + 1
    if chunk == b"VP8 " and len(head) >= 30 and head[23:26] == b"\x9d\x01\x2a":  # lossy: 14 bits each
        return int.from_bytes(head[26:28], "little") & 0x3FFF, int.from_bytes(head[28:30], "little") & 0x3FFF
    if chunk == b"VP8L" and len(head) >= 25 and head[20] == 0x2F:  # lossless: 14 bits each, minus one
        bits = int.from_bytes(head[21:25], "little")
        return (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1
    return None


# --- EXIF ---------------------------------------------------------------------------------------------------

class _ReadBudgetExceeded(Exception):
    pass


class _BoundedReader:
    """A file as exifread sees it. Every read counts against a budget, so a crafted file (IFDs that point
    at each other, tag counts in the millions) costs a bounded amount of work and memory."""

    def __init__(self, file: BinaryIO):
        self._file = file
        self._reads = 0
        self._bytes = 0

    def read(self, size: int = -1) -> bytes:
        self._reads += 1
        if size is None or size < 0:
            size = EXIF_MAX_BYTES
        self._bytes += size
        if self._reads > EXIF_MAX_READS or self._bytes > EXIF_MAX_BYTES:
            raise _ReadBudgetExceeded
        return self._file.read(size)

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        return self._file.seek(max(offset, 0) if whence == io.SEEK_SET else offset, whence)

    def tell(self) -> int:
        return self._file.tell()


# What exifread raises on malformed input (found by running it over damaged and mutated corpus files: its
# HEIC reader asserts on box contents and raises NotImplementedError for a box "to the end of the file");
# anything else is a bug to see, not a bad file to note.
_EXIFREAD_ERRORS = (
    ExifError, EOFError, ValueError, TypeError, IndexError, KeyError, AttributeError, struct.error,
    ZeroDivisionError, OverflowError, RecursionError, MemoryError, AssertionError, NotImplementedError,
    _ReadBudgetExceeded,
)


def _read_exif(file: BinaryIO, draft: _Draft, size_tags: tuple[str, str] | None) -> None:
    try:
        file.seek(0)
        tags = exifread.process_file(_BoundedReader(file), details=False, extract_thumbnail=False)
    except OSError:
        raise  # the file itself failed: extract() reports it
    except _EXIFREAD_ERRORS as error:
        draft.problems.append(f"EXIF unreadable: {type(error).__name__}: {error}"[:300])
        return
    if not tags:
        return
    exif = _ExifTags(tags)
    _offer_exif_dates(exif, draft)
    latitude = exif.coordinate("GPS GPSLatitude", "GPS GPSLatitudeRef", "NS", draft)
    longitude = exif.coordinate("GPS GPSLongitude", "GPS GPSLongitudeRef", "EW", draft)
    altitude = exif.number("GPS GPSAltitude")
    if altitude is not None and exif.integer("GPS GPSAltitudeRef") == 1:
        altitude = -altitude  # 1 means below sea level
    draft.offer_camera(CameraFacts(
        latitude=latitude, longitude=longitude, altitude=altitude, make=exif.text("Image Make"),
        model=exif.text("Image Model"), lens=exif.text("EXIF LensModel", "Image LensModel"),
        orientation=exif.integer("Image Orientation"),
    ), "EXIF")
    if size_tags is not None:
        draft.offer(width=exif.integer(size_tags[0]) or None, height=exif.integer(size_tags[1]) or None)


# (rank, date tag, sub-second tag, zone tags); tags are looked up in the EXIF IFD and then in IFD0, where
# some cameras put them.
_EXIF_DATES = (
    (_EXIF_ORIGINAL, "DateTimeOriginal", "SubSecTimeOriginal", ("OffsetTimeOriginal", "OffsetTime")),
    (_EXIF_DIGITIZED, "DateTimeDigitized", "SubSecTimeDigitized", ("OffsetTimeDigitized", "OffsetTime")),
    (_EXIF_MODIFIED, "DateTime", "SubSecTime", ("OffsetTime",)),
)
_EXIF_DATE = re.compile(r"^\s*(\d{4})[:\-/.](\d{1,2})[:\-/.](\d{1,2})[ T]+(\d{1,2}):(\d{1,2})(?::(\d{1,2}))?")


def _offer_exif_dates(exif: _ExifTags, draft: _Draft) -> None:
    for rank, date_tag, subsec_tag, zone_tags in _EXIF_DATES:
        text = exif.text(f"EXIF {date_tag}", f"Image {date_tag}")
        if text is None:
            continue
        match = _EXIF_DATE.match(text)
        try:
            moment = datetime.datetime(*(int(part or 0) for part in match.groups())) if match else None
        except ValueError:
            moment = None
        if moment is None:
            draft.problems.append(f"EXIF {date_tag} ignored: {text[:40]!r} is not a possible date")
            continue
        subsec = exif.text(f"EXIF {subsec_tag}", f"Image {subsec_tag}")
        if subsec and subsec.isdigit():
            moment = moment.replace(microsecond=int(subsec[:6].ljust(6, "0")))
        offset = None
        zone = next(filter(None, (exif.text(f"EXIF {tag}", f"Image {tag}") for tag in zone_tags)), None)
        if zone is not None:
            offset = xmp.parse_offset(zone)
            if offset is None:
                draft.problems.append(f"EXIF zone offset ignored: {zone[:20]!r}")
        draft.add_date(rank, moment, offset, f"EXIF {date_tag}")


class _ExifTags:
    """Typed access to exifread's tags, whose values are str, bytes or lists of numbers as the file says."""

    def __init__(self, tags: dict):
        self._tags = tags

    def _values(self, name: str):
        tag = self._tags.get(name)
        return getattr(tag, "values", None)

    def text(self, *names: str) -> str | None:
        for name in names:
            values = self._values(name)
            if isinstance(values, list) and all(isinstance(v, int) and 0 <= v < 256 for v in values):
                values = bytes(values)  # a string stored with the wrong type
            if isinstance(values, bytes):
                values = values.decode("utf-8", "replace")
            if isinstance(values, str):
                cleaned = values.replace("\x00", " ").strip()
                if cleaned:
                    return cleaned[:255]
        return None

    def integer(self, name: str) -> int | None:
        values = self._values(name)
        if isinstance(values, list) and values and isinstance(values[0], int):
            return values[0]
        return None

    def numbers(self, name: str) -> list[float | None] | None:
        values = self._values(name)
        if not isinstance(values, list) or not values:
            return None
        numbers: list[float | None] = []
        for value in values:
            if isinstance(value, int):
                numbers.append(float(value))
            elif hasattr(value, "den") and hasattr(value, "num"):  # exifread's Ratio
                numbers.append(value.num / value.den if value.den else None)
            else:
                numbers.append(None)
        return numbers

    def number(self, name: str) -> float | None:
        numbers = self.numbers(name)
        return numbers[0] if numbers else None

    def coordinate(self, name: str, ref_name: str, hemispheres: str, draft: _Draft) -> float | None:
        """Degrees, minutes and seconds as rationals, signed by the hemisphere letter."""
        parts = self.numbers(name)
        if parts is None:
            return None
        if len(parts) > 3 or None in parts:
            draft.problems.append(f"EXIF {name} ignored: {parts!r} is not degrees, minutes, seconds")
            return None
        degrees = sum(part / 60**index for index, part in enumerate(parts))
        ref = (self.text(ref_name) or hemispheres[0])[:1].upper()
        if ref not in hemispheres:
            draft.problems.append(f"EXIF {ref_name} ignored: {ref!r} is not one of {hemispheres}")
            return None
        return -degrees if ref == hemispheres[1] else degrees


# --- XMP and motion photos ----------------------------------------------------------------------------------

def _read_xmp_by_scanning(file: BinaryIO, draft: _Draft) -> None:
    file.seek(0)
    packet = xmp.find_packet(file.read(xmp.XMP_SCAN_LIMIT))
    if packet is not None:
        _read_xmp_packet(packet, draft)


def _read_xmp_packet(data: bytes, draft: _Draft) -> None:
    packet = xmp.find_packet(data)
    if packet is None:
        return
    facts = xmp.read(packet)
    draft.problems.extend(facts.problems)
    for date in facts.dates:
        note = f"only the day is known from XMP {date.field}: time set to midnight" if date.date_only else None
        draft.add_date(_XMP, date.taken_at, date.offset_minutes, f"XMP {date.field}", note)
    draft.offer_camera(facts, "XMP")
    draft.motion_candidates = facts.video_bytes_from_end
    draft.motion_claimed = facts.motion_photo


def _find_motion_video(file: BinaryIO, draft: _Draft) -> None:
    """Check where the XMP says a motion photo's video starts: only an ISO-BMFF 'ftyp' box there counts."""
    if not draft.motion_claimed:
        return
    size = file.seek(0, io.SEEK_END)
    for from_end in draft.motion_candidates:
        offset = size - from_end
        if offset <= 0:
            continue
        file.seek(offset)
        if file.read(8)[4:8] == b"ftyp":
            draft.offer(motion_video_offset=offset)
            return
    draft.problems.append("XMP says this is a motion photo, but no MP4 starts where it points")


# --- HEIF ---------------------------------------------------------------------------------------------------

def _boxes(data: bytes, start: int, end: int):
    """(type, payload start, payload end) of the ISO-BMFF boxes laid end to end in data[start:end]."""
    while start + 8 <= end:
        size, kind, header = int.from_bytes(data[start:start + 4], "big"), data[start + 4:start + 8], 8
        if size == 1 and start + 16 <= end:
            size, header = int.from_bytes(data[start + 8:start + 16], "big"), 16
        elif size == 0:
            size = end - start
        if size < header or start + size > end:
            return
        yield kind, start + header, start + size
        start += size


def _heif_primary_size(file: BinaryIO) -> tuple[int, int] | None:
    """The stored size of a HEIF's primary image: its 'ispe' property, found through 'pitm' (which item is
    primary) and 'ipma' (which properties each item has). The first 'ispe' in a file is often a 512x512
    tile's, and EXIF's PixelXDimension can predate a crop, so neither will do."""
    file.seek(0)
    head = file.read(HEIF_META_LIMIT)
    meta = next(((start, end) for kind, start, end in _boxes(head, 0, len(head)) if kind == b"meta"), None)
    if meta is None:
        return None
    children = {kind: (start, end) for kind, start, end in _boxes(head, meta[0] + 4, meta[1])}  # meta is a full box
    if b"pitm" not in children or b"iprp" not in children:
        return None
    pitm_start, pitm_end = children[b"pitm"]
    if pitm_end - pitm_start < 6:
        return None
    primary = int.from_bytes(head[pitm_start + 4:pitm_start + (6 if head[pitm_start] == 0 else 8)], "big")
    properties = {kind: (start, end) for kind, start, end in _boxes(head, *children[b"iprp"]) if kind in (b"ipco", b"ipma")}
    if len(properties) < 2:
        return None
    listed = list(_boxes(head, *properties[b"ipco"]))
    for index in _ipma_properties(head, *properties[b"ipma"], primary):
        if 0 < index <= len(listed) and listed[index - 1][0] == b"ispe":
            _, start, end = listed[index - 1]
            if end - start < 12:
                return None
            width, height = int.from_bytes(head[start + 4:start + 8], "big"), int.from_bytes(head[start + 8:start + 12], "big")
            return (width, height) if width and height else None
    return None


def _ipma_properties(data: bytes, start: int, end: int, item_id: int) -> list[int]:
    """The 1-based property indexes that an 'ipma' box associates with one item."""
    if end - start < 8:
        return []
    version, flags = data[start], int.from_bytes(data[start + 1:start + 4], "big")
    id_size, index_size = (2 if version < 1 else 4), (2 if flags & 1 else 1)
    position, entries = start + 8, int.from_bytes(data[start + 4:start + 8], "big")
    for _ in range(entries):
        if position + id_size + 1 > end:
            break
        this_item = int.from_bytes(data[position:position + id_size], "big")
        count = data[position + id_size]
        position += id_size + 1
        indexes = [int.from_bytes(data[position + i * index_size:position + (i + 1) * index_size], "big")
                   & (0x7FFF if index_size == 2 else 0x7F) for i in range(count)]  # the top bit marks "essential"
        position += count * index_size
        if this_item == item_id:
            return indexes
    return []


# --- videos -------------------------------------------------------------------------------------------------

def _read_video(path: str, draft: _Draft) -> None:
    """Container and stream headers through FFmpeg, without decoding a frame."""
    try:
        container = av.open(path, metadata_errors="replace", timeout=VIDEO_OPEN_TIMEOUT_SECONDS)
    except (av.error.FFmpegError, ValueError, OSError) as error:
        # strerror, not str(error): that names the server's path of the file
        draft.problems.append(f"video unreadable: {getattr(error, 'strerror', None) or type(error).__name__}")
        return
    with container:
        tags = {key.lower(): value for key, value in container.metadata.items()}
        video = container.streams.video[0] if container.streams.video else None
        if video is None:
            draft.problems.append("no video stream" if container.streams else "no audio or video stream")
        else:
            tags = {**{key.lower(): value for key, value in video.metadata.items()}, **tags}
            context = video.codec_context  # None when FFmpeg does not know the codec
            if context is None:
                draft.problems.append("video codec not recognised")
            else:
                draft.offer(video_codec=context.name, width=context.width or None, height=context.height or None)
        duration = container.duration / av.time_base if container.duration else None
        if not duration and video is not None and video.duration and video.time_base:
            duration = float(video.duration * video.time_base)
        if duration is not None and math.isfinite(duration) and duration > 0:
            draft.offer(duration_seconds=duration)
    _offer_video_date(tags, draft)
    position = _iso6709(tags.get("com.apple.quicktime.location.iso6709") or tags.get("location") or "")
    if position:
        draft.offer_position(*position, "video")


def _offer_video_date(tags: dict[str, str], draft: _Draft) -> None:
    # iPhones also state the local time with its zone; creation_time is UTC by the QuickTime and MP4 specs.
    for key in ("com.apple.quicktime.creationdate", "creation_time"):
        text = tags.get(key)
        if text is None:
            continue
        parsed = xmp.parse_date(text)
        if parsed is None or parsed[2]:
            draft.problems.append(f"video {key} ignored: {text[:40]!r} is not a date and time")
            continue
        moment, offset, _ = parsed
        if key == "creation_time":
            if offset:
                moment = moment - datetime.timedelta(minutes=offset)
            offset = 0
        if moment.replace(microsecond=0) in _UNSET_VIDEO_DATES:
            draft.problems.append(f"video {key} ignored: {text[:40]!r} means not set")
            continue
        draft.add_date(_QUICKTIME, moment, offset, f"video {key}")
        return


_ISO6709 = re.compile(r"^([+-]\d+(?:\.\d+)?)([+-]\d+(?:\.\d+)?)([+-]\d+(?:\.\d+)?)?")


def _iso6709(text: str) -> tuple[float, float, float | None] | None:
    """A position as phones write it in videos: "+48.8584+002.2945+035.000/" (decimal degrees only)."""
    match = _ISO6709.match(text.strip())
    if match is None:
        return None
    return float(match[1]), float(match[2]), float(match[3]) if match[3] else None
