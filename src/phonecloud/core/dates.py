"""The one way a date or time enters phonecloud: parsed, turned into UTC and bounded to what every part of
the system (Python's datetime arithmetic, both databases, zip timestamps, a mirror's nanosecond mtimes) can
represent. Plain stdlib, so the client uses the same rules as the server.

Years 1900 to 2200 (UTC) hold every real photo and every plan date; whatever lies outside is a mistake or an
attack, and converting it (9999-12-31T23:59:59-14:00 to UTC, or adding a day to 9999-12-31) would overflow.
"""

from __future__ import annotations

import datetime as dt

from phonecloud.core.errors import BadRequest

EARLIEST = dt.datetime(1900, 1, 1, tzinfo=dt.UTC)
LATEST = dt.datetime(2200, 12, 31, 23, 59, 59, 999999, tzinfo=dt.UTC)
RANGE_TEXT = "years 1900 to 2200 (UTC)"


class DateOutOfRange(BadRequest, ValueError):
    """Not a time phonecloud can represent (400 over HTTP; a ValueError, so that request validation reports
    it as a 422 naming the field); the message names the value and the range."""

    code = "invalid_date"


def bounded(moment: dt.datetime, name: str = "") -> dt.datetime:
    """moment in UTC (a naive one is taken as UTC), or DateOutOfRange when it lies outside the range."""
    try:
        utc = moment.replace(tzinfo=dt.UTC) if moment.tzinfo is None else moment.astimezone(dt.UTC)
    except (OverflowError, ValueError):  # the zone's offset pushes it past year 1 or 9999
        utc = None
    if utc is None or not EARLIEST <= utc <= LATEST:
        raise DateOutOfRange(f"{name} {moment.isoformat()} is outside {RANGE_TEXT}".lstrip())
    return utc


def in_range(moment: dt.datetime) -> bool:
    """Whether moment (naive: as UTC, or a wall clock within a day of it) lies in the range."""
    try:
        bounded(moment)
    except DateOutOfRange:
        return False
    return True


def parse_moment(text: str, name: str = "time") -> dt.datetime:
    """An ISO 8601 date and time (Z or an offset; none means UTC) in UTC, or DateOutOfRange naming the field."""
    try:
        moment = dt.datetime.fromisoformat(text.strip())
    except ValueError:
        raise DateOutOfRange(f"{name} {text[:40]!r} is not an ISO 8601 date and time") from None
    return bounded(moment, name)


def parse_day(text: str, name: str = "date") -> dt.date:
    """A calendar day YYYY-MM-DD within the range (so that the day after it still is a day)."""
    try:
        day = dt.date.fromisoformat(text.strip())
    except ValueError:
        raise DateOutOfRange(f"{name} {text[:40]!r} is not a date (use YYYY-MM-DD)") from None
    if not EARLIEST.date() <= day <= LATEST.date():
        raise DateOutOfRange(f"{name} {day.isoformat()} is outside {RANGE_TEXT}")
    return day


def from_unix_seconds(seconds: float, name: str = "time") -> dt.datetime:
    """A Unix time in UTC, or DateOutOfRange (instead of OverflowError or OSError for absurd values)."""
    try:
        moment = dt.datetime.fromtimestamp(seconds, dt.UTC)
    except (OverflowError, OSError, ValueError):
        raise DateOutOfRange(f"{name} {seconds!r} (Unix seconds) is outside {RANGE_TEXT}") from None
    return bounded(moment, name)


def clamped(moment: dt.datetime) -> dt.datetime:
    """moment in UTC, moved to the nearest end of the range if it lies outside (for values a client reads
    off a disk or gets from a server, which it must survive rather than refuse)."""
    try:
        return bounded(moment)
    except DateOutOfRange:
        # Zone offsets are under a day, so the wall clock alone tells which end was passed.
        return EARLIEST if moment.replace(tzinfo=None) < dt.datetime(2000, 1, 1) else LATEST


def storable_nanoseconds(nanoseconds_since_epoch: int) -> int:
    """A file's st_mtime_ns as a 64-bit integer (SQLite's, and most formats'): a disk may say year 2300."""
    return max(-(2**63), min(2**63 - 1, nanoseconds_since_epoch))


def from_nanoseconds(nanoseconds_since_epoch: int) -> dt.datetime:
    """A file's mtime (st_mtime_ns) in UTC, clamped to the range: a disk may hold any value at all."""
    seconds = max(EARLIEST.timestamp(), min(LATEST.timestamp(), nanoseconds_since_epoch / 1e9))
    return dt.datetime.fromtimestamp(seconds, dt.UTC)


def nanoseconds(moment: dt.datetime) -> int:
    """moment (clamped to the range) as integer nanoseconds since the Unix epoch: always fits in 64 bits."""
    delta = clamped(moment) - dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
    return (delta.days * 86_400 + delta.seconds) * 1_000_000_000 + delta.microseconds * 1_000
