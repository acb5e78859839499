"""Capture times that phone apps write into file names, for photos and videos whose metadata has none.

Screenshots, WhatsApp copies and many edited or re-encoded files carry no EXIF date, but the app that made
them named the file after the moment it did. The name is only read for the patterns below, which phones
really use; any other digits in a name mean nothing here.
"""

from __future__ import annotations

import datetime
import re
from dataclasses import dataclass


@dataclass(frozen=True)
class NameDate:
    taken_at: datetime.datetime  # naive: the wall clock the name states
    offset_minutes: int | None  # 0 where the app is known to name files in UTC, else None (zone unknown)
    date_only: bool  # the name gives the day but no time: taken_at is midnight


@dataclass(frozen=True)
class _Pattern:
    regex: re.Pattern[str]
    utc: bool = False


def _pattern(expression: str, utc: bool = False) -> _Pattern:
    return _Pattern(re.compile(expression, re.IGNORECASE), utc)


# Named groups: Y M D (the day), and h m s ms where the name has a time. (?!\d) stops a longer run of digits
# from matching, so a counter or a hash in a name is not read as a time.
_PATTERNS = (
    # Google Pixel: PXL_20231006_063000139.jpg, the time with milliseconds. The Pixel camera names files by
    # UTC, not by the phone's zone (its EXIF DateTimeOriginal is local time).
    _pattern(r"^PXL_(?P<Y>\d{4})(?P<M>\d{2})(?P<D>\d{2})_(?P<h>\d{2})(?P<m>\d{2})(?P<s>\d{2})(?P<ms>\d{3})(?!\d)", utc=True),
    # Camera apps of most Android phones: IMG_20221014_123456.jpg, VID_..., and Google's MVIMG_, PANO_...
    _pattern(r"^(?:IMG|VID|MVIMG|PANO)_(?P<Y>\d{4})(?P<M>\d{2})(?P<D>\d{2})"
             r"_(?P<h>\d{2})(?P<m>\d{2})(?P<s>\d{2})(?!\d)"),
    # Samsung camera: 20221014_123456.jpg
    _pattern(r"^(?P<Y>\d{4})(?P<M>\d{2})(?P<D>\d{2})_(?P<h>\d{2})(?P<m>\d{2})(?P<s>\d{2})(?!\d)"),
    # Android screenshots: Screenshot_2022-10-14-12-34-56-789_com.app.jpg (milliseconds optional)
    _pattern(r"^Screenshot_(?P<Y>\d{4})-(?P<M>\d{2})-(?P<D>\d{2})-(?P<h>\d{2})-(?P<m>\d{2})-(?P<s>\d{2})"
             r"(?:-(?P<ms>\d{3}))?(?!\d)"),
    # Older Android and Samsung screenshots: Screenshot_20221014-123456.png, Screenshot_20221014-123456_Chrome.jpg
    _pattern(r"^Screenshot_(?P<Y>\d{4})(?P<M>\d{2})(?P<D>\d{2})-(?P<h>\d{2})(?P<m>\d{2})(?P<s>\d{2})(?!\d)"),
    # WhatsApp: IMG-20221014-WA0001.jpg, VID-20221014-WA0001.mp4: the day only.
    _pattern(r"^(?:IMG|VID)-(?P<Y>\d{4})(?P<M>\d{2})(?P<D>\d{2})-WA\d+"),
)


def date_from_filename(filename: str) -> NameDate | None:
    """The capture time a phone app wrote into this file name, or None when the name follows no known
    pattern or states an impossible date (IMG_20221399_999999.jpg)."""
    name = re.split(r"[\\/]", filename)[-1]
    for pattern in _PATTERNS:
        match = pattern.regex.match(name)
        if match is None:
            continue
        parts = match.groupdict()
        has_time = parts.get("h") is not None
        try:
            taken_at = datetime.datetime(
                int(parts["Y"]), int(parts["M"]), int(parts["D"]),
                int(parts["h"]) if has_time else 0,
                int(parts["m"]) if has_time else 0,
                int(parts["s"]) if has_time else 0,
                int(parts["ms"]) * 1000 if parts.get("ms") else 0,
            )
        except ValueError:
            return None  # the name looks like a date but is not one: no other pattern applies either
        return NameDate(taken_at, 0 if pattern.utc else None, date_only=not has_time)
    return None
