"""A search as it is asked (the API's query parameters, the page's form fields: the same names), checked:
whatever is wrong is a 400 naming the parameter, never a 500. Empty fields are fields not given."""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass

from phonecloud.core.dates import parse_day
from phonecloud.core.errors import BadRequest
from phonecloud.gallery.search.index import key, words

MAX_WORDS = 16
MAX_TEXT = 500  # characters of q, place, camera or filename
KINDS = ("photo", "video")
_BOOLEANS = {"true": True, "1": True, "yes": True, "false": False, "0": False, "no": False}

PARAMETERS = {  # their descriptions, for the API's documentation
    "q": "Words, each the start of a word of the place, the camera, the file name or an album's title "
         "(all must match; letters and digits count, case and accents do not)",
    "from": "The first capture day, YYYY-MM-DD (the day on the clock where it was taken), inclusive",
    "to": "The last capture day, YYYY-MM-DD, inclusive",
    "place": "A town, region or country, as named in the suggestions (case and accents do not count)",
    "camera": "A camera, as named in the suggestions (\"Google Pixel 7\")",
    "filename": "Words of the file name, each the start of one of its words (IMG_2041 finds IMG_2041.JPG)",
    "album": "An album's id: only items in it (404 unless it is the caller's)",
    "favorite": "true: favourites only; false: all but favourites",
    "kind": "photo or video",
}


def _bad(parameter: str, message: str) -> BadRequest:
    return BadRequest(message, parameter=parameter)


def _text(parameter: str, value: str | None) -> str | None:
    if value is None or not value.strip():
        return None
    if len(value) > MAX_TEXT:
        raise _bad(parameter, f"{parameter} is longer than {MAX_TEXT} characters")
    return value.strip()


def _words(parameter: str, value: str | None) -> tuple[str, ...]:
    found = words(_text(parameter, value) or "")
    if value and value.strip() and not found:
        raise _bad(parameter, f"{parameter} has no letters or digits to search for")
    if len(found) > MAX_WORDS:
        raise _bad(parameter, f"{parameter} has more than {MAX_WORDS} words")
    return tuple(dict.fromkeys(found))


def _name(parameter: str, value: str | None) -> str | None:
    text = _text(parameter, value)
    if text is not None and key(text) is None:
        raise _bad(parameter, f"{parameter} has no letters or digits to search for")
    return key(text)


def _day(parameter: str, value: str | None) -> dt.date | None:
    text = _text(parameter, value)
    if text is None:
        return None
    try:
        return parse_day(text, parameter)
    except BadRequest as refused:
        raise _bad(parameter, refused.message) from None


@dataclass(frozen=True)
class SearchParams:
    """A checked search: folded words and names, days, an album id, a flag and a kind (None: not asked)."""

    words: tuple[str, ...] = ()
    first_day: dt.date | None = None
    last_day: dt.date | None = None
    place: str | None = None
    camera: str | None = None
    file_words: tuple[str, ...] = ()
    album_id: uuid.UUID | None = None
    favorite: bool | None = None
    kind: str | None = None

    @classmethod
    def parse(cls, q: str | None = None, from_: str | None = None, to: str | None = None, place: str | None = None,
              camera: str | None = None, filename: str | None = None, album: str | None = None,
              favorite: str | None = None, kind: str | None = None) -> SearchParams:
        first_day, last_day = _day("from", from_), _day("to", to)
        if first_day and last_day and last_day < first_day:
            raise _bad("to", f"to ({last_day.isoformat()}) is before from ({first_day.isoformat()})")
        album_id = None
        if _text("album", album) is not None:
            try:
                album_id = uuid.UUID(album.strip())
            except ValueError:
                raise _bad("album", "album must be an album's id (a UUID)") from None
        flag = None
        if _text("favorite", favorite) is not None:
            flag = _BOOLEANS.get(favorite.strip().lower())
            if flag is None:
                raise _bad("favorite", "favorite must be true or false")
        wanted = _text("kind", kind)
        if wanted is not None and wanted.lower() not in KINDS:
            raise _bad("kind", f"kind must be {' or '.join(KINDS)}, not {wanted[:40]!r}")
        return cls(_words("q", q), first_day, last_day, _name("place", place), _name("camera", camera),
                   _words("filename", filename), album_id, flag, wanted.lower() if wanted else None)

    @property
    def asked(self) -> bool:
        """Whether anything at all is asked (no criteria: the whole library)."""
        return self != SearchParams()


def parse_limit(value: str | None, default: int, most: int) -> int:
    if value is None or not value.strip():
        return default
    try:
        limit = int(value.strip())
    except ValueError:
        raise _bad("limit", f"limit must be a whole number from 1 to {most}") from None
    if not 1 <= limit <= most:
        raise _bad("limit", f"limit must be a whole number from 1 to {most}")
    return limit
