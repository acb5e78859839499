"""XMP packets: the RDF/XML metadata that editors, some cameras and phones put beside or instead of EXIF.

XMP is XML from the uploaded file, so it is parsed with defusedxml: entity expansion ("billion laughs"),
DTDs and external references are refused rather than followed. Only simple properties are read, plus the
Container directory of Google motion photos; nothing here raises on a bad packet, problems are reported.
"""

from __future__ import annotations

import datetime
import re
from dataclasses import dataclass
from xml.etree.ElementTree import Element, ParseError

import defusedxml
import defusedxml.ElementTree

from phonecloud.media.facts import CameraFacts

# How far into a non-JPEG file to look for a packet: writers put XMP in the header, and a bounded search
# keeps a large file or one with no XMP from being read whole.
XMP_SCAN_LIMIT = 1 << 20

RDF = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
EXIF = "http://ns.adobe.com/exif/1.0/"
EXIF_EX = "http://cipa.jp/exif/1.0/"
AUX = "http://ns.adobe.com/exif/1.0/aux/"
TIFF = "http://ns.adobe.com/tiff/1.0/"
PHOTOSHOP = "http://ns.adobe.com/photoshop/1.0/"
XMP_BASIC = "http://ns.adobe.com/xap/1.0/"
GCAMERA = "http://ns.google.com/photos/1.0/camera/"
CONTAINER = "http://ns.google.com/photos/1.0/container/"
CONTAINER_ITEM = "http://ns.google.com/photos/1.0/container/item/"

# Capture-time properties, most specific first: xmp:CreateDate is when the file was made, which for a scan
# or an export is later than the moment the picture was taken.
_DATE_PROPERTIES = (
    (EXIF, "DateTimeOriginal", "exif:DateTimeOriginal"),
    (PHOTOSHOP, "DateCreated", "photoshop:DateCreated"),
    (XMP_BASIC, "CreateDate", "xmp:CreateDate"),
)

_PARSE_ERRORS = (ParseError, defusedxml.DefusedXmlException, ValueError, LookupError)


@dataclass(frozen=True)
class XmpDate:
    taken_at: datetime.datetime  # naive: the wall clock as written
    offset_minutes: int | None  # the zone when the value has one
    date_only: bool  # the value is a day without a time: taken_at is midnight
    field: str  # which property gave it, for notes


@dataclass(frozen=True)
class XmpFacts(CameraFacts):
    """What a packet says: where and with what (unchecked: metadata.py checks them as it does EXIF's), its
    capture dates, and whether a video is appended to the file."""

    dates: tuple[XmpDate, ...] = ()  # in order of preference
    motion_photo: bool = False  # the packet says a video is appended to the image
    video_bytes_from_end: tuple[int, ...] = ()  # where that video may start, counted back from the file's end
    problems: tuple[str, ...] = ()


def find_packet(data: bytes) -> bytes | None:
    """The XMP packet inside some bytes: from <x:xmpmeta (or a bare <rdf:RDF) to its end tag. A packet whose
    end is missing is returned to its last byte, so that reading it reports the damage."""
    for start_tag, end_tag in ((b"<x:xmpmeta", b"</x:xmpmeta>"), (b"<x:xapmeta", b"</x:xapmeta>"),
                               (b"<rdf:RDF", b"</rdf:RDF>")):
        start = data.find(start_tag)
        if start < 0:
            continue
        end = data.find(end_tag, start)
        return data[start:] if end < 0 else data[start:end + len(end_tag)]
    return None


def read(packet: bytes) -> XmpFacts:
    """What an XMP packet says about a photo or video."""
    try:
        root = defusedxml.ElementTree.fromstring(packet, forbid_dtd=True)
    except _PARSE_ERRORS as error:
        reason = f"{type(error).__name__}: {error}"[:200]
        return XmpFacts(problems=(f"XMP ignored: malformed, or XML with a DTD or entities, which are refused ({reason})",))
    properties = _simple_properties(root)
    problems: list[str] = []

    dates = []
    for namespace, name, label in _DATE_PROPERTIES:
        text = properties.get((namespace, name))
        if text is None:
            continue
        parsed = parse_date(text)
        if parsed is None:
            problems.append(f"XMP {label} ignored: {text[:40]!r} is not a date")
        else:
            dates.append(XmpDate(parsed[0], parsed[1], parsed[2], label))

    latitude = _coordinate(properties.get((EXIF, "GPSLatitude")), "NS", problems, "latitude")
    longitude = _coordinate(properties.get((EXIF, "GPSLongitude")), "EW", problems, "longitude")
    altitude = _number(properties.get((EXIF, "GPSAltitude")))
    if altitude is not None and properties.get((EXIF, "GPSAltitudeRef"), "").strip() == "1":
        altitude = -altitude  # 1 means below sea level

    from_end, motion_problems = _video_bytes_from_end(root, properties)
    problems += motion_problems
    motion_flag = any(properties.get((GCAMERA, name), "").strip() == "1" for name in ("MicroVideo", "MotionPhoto"))
    orientation = _number(properties.get((TIFF, "Orientation")))
    return XmpFacts(
        dates=tuple(dates),
        latitude=latitude,
        longitude=longitude,
        altitude=altitude,
        make=_clean(properties.get((TIFF, "Make"))),
        model=_clean(properties.get((TIFF, "Model"))),
        lens=_clean(properties.get((EXIF_EX, "LensModel")) or properties.get((AUX, "Lens"))),
        orientation=int(orientation) if orientation is not None and orientation.is_integer() else None,
        motion_photo=motion_flag or bool(from_end),
        video_bytes_from_end=from_end,
        problems=tuple(problems),
    )


_DATE = re.compile(
    r"^\s*(\d{4})[-:](\d{2})[-:](\d{2})"
    r"(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d+))?)?)?"
    r"\s*(Z|[+-]\d{1,2}:?\d{2})?\s*$"
)


def parse_date(text: str) -> tuple[datetime.datetime, int | None, bool] | None:
    """An ISO 8601 date as XMP and QuickTime write it ("2008-10-22T16:28:39.25+02:00", "2008-10-22"):
    the naive wall clock, the zone offset in minutes if given, and whether only the day was given."""
    match = _DATE.match(text)
    if match is None:
        return None
    year, month, day, hour, minute, second, fraction, zone = match.groups()
    microsecond = int(fraction[:6].ljust(6, "0")) if fraction else 0
    try:
        moment = datetime.datetime(int(year), int(month), int(day), int(hour or 0), int(minute or 0),
                                   int(second or 0), microsecond)
    except ValueError:
        return None
    offset = parse_offset(zone) if zone else None
    if zone and offset is None:
        return None
    return moment, offset, hour is None


def parse_offset(text: str) -> int | None:
    """A zone offset ("+02:00", "-0530", "Z") in minutes east of UTC, or None when it is not one."""
    text = text.strip()
    if text == "Z":
        return 0
    # "+1:00" is not ISO 8601 but some cameras' XMP writes it; with the colon it is still unambiguous.
    match = re.fullmatch(r"([+-])(\d{2}):?(\d{2})", text) or re.fullmatch(r"([+-])(\d):(\d{2})", text)
    if match is None or int(match[3]) >= 60:
        return None
    minutes = int(match[2]) * 60 + int(match[3])
    if minutes > 18 * 60:  # ISO 8601's own bound; real zones stay within 14 hours
        return None
    return -minutes if match[1] == "-" else minutes


def _local(tag: str) -> tuple[str, str]:
    if tag.startswith("{"):
        namespace, _, name = tag[1:].partition("}")
        return namespace, name
    return "", tag


def _simple_properties(root: Element) -> dict[tuple[str, str], str]:
    """(namespace, name) -> text for every property given as an attribute of an rdf:Description or as a
    child element with plain text; the first value wins when a packet repeats a property."""
    properties: dict[tuple[str, str], str] = {}
    for description in root.iter(f"{{{RDF}}}Description"):
        for attribute, value in description.attrib.items():
            key = _local(attribute)
            if key[0] != RDF:
                properties.setdefault(key, value)
        for child in description:
            if len(child) == 0 and child.text and child.text.strip():
                properties.setdefault(_local(child.tag), child.text.strip())
    return properties


_COORDINATE = re.compile(r"^\s*(\d+(?:\.\d+)?)(?:,(\d+(?:\.\d+)?))?(?:,(\d+(?:\.\d+)?))?\s*([NSEW])\s*$", re.I)


def _coordinate(text: str | None, hemispheres: str, problems: list[str], what: str) -> float | None:
    """XMP writes GPS as "DDD,MM.mmmmN" or "DDD,MM,SSN"."""
    if text is None:
        return None
    match = _COORDINATE.match(text)
    if match is None or match[4].upper() not in hemispheres:
        problems.append(f"XMP GPS {what} ignored: {text[:40]!r} is not a coordinate")
        return None
    degrees = float(match[1]) + float(match[2] or 0) / 60 + float(match[3] or 0) / 3600
    return -degrees if match[4].upper() == hemispheres[1] else degrees


def _number(text: str | None) -> float | None:
    """A decimal or a rational ("2605/10") as XMP writes them; None when absent or malformed. NaN and
    infinities pass, for the caller's range checks to note."""
    if text is None:
        return None
    numerator, _, denominator = text.strip().partition("/")
    try:
        return float(numerator) / float(denominator) if denominator else float(numerator)
    except (ValueError, ZeroDivisionError):
        return None


def _video_bytes_from_end(root: Element, properties: dict[tuple[str, str], str]) -> tuple[tuple[int, ...], list[str]]:
    """Where a motion photo's video starts, counted back from the end of the file, by the two ways Google's
    formats state it: the Container directory (items laid end to end, the video the last) and the older
    GCamera:MicroVideoOffset."""
    candidates: list[int] = []
    problems: list[str] = []
    items = [_item_fields(element) for element in root.iter(f"{{{CONTAINER}}}Item")]
    for index, item in enumerate(items):
        if item.get("Semantic") == "MotionPhoto" or item.get("Mime", "").startswith("video/"):
            lengths = [(_whole(later.get("Length")), _whole(later.get("Padding", "0"))) for later in items[index:]]
            if all(length and length > 0 and padding is not None for length, padding in lengths):
                candidates.append(sum(length + padding for length, padding in lengths))
            else:
                problems.append("XMP motion photo directory gives no usable Item:Length for the video")
            break
    micro_offset = properties.get((GCAMERA, "MicroVideoOffset"))
    if micro_offset is not None:
        value = _whole(micro_offset)
        if value and value > 0:
            candidates.append(value)
        else:
            problems.append(f"XMP GCamera:MicroVideoOffset ignored: {micro_offset[:40]!r}")
    return tuple(dict.fromkeys(candidates)), problems


def _item_fields(element: Element) -> dict[str, str]:
    fields = {_local(name)[1]: value for name, value in element.attrib.items() if _local(name)[0] == CONTAINER_ITEM}
    for child in element:
        namespace, name = _local(child.tag)
        if namespace == CONTAINER_ITEM and child.text:
            fields.setdefault(name, child.text.strip())
    return fields


def _clean(text: str | None) -> str | None:
    """A name as stored: without padding, bounded in length, None when empty."""
    if text is None:
        return None
    return text.strip()[:255] or None


def _whole(text: str | None) -> int | None:
    # Bounded so that a 5000-digit "length" is refused here, not by int()'s own limit with a ValueError.
    return int(text) if text is not None and re.fullmatch(r"[0-9]{1,15}", text.strip()) else None
