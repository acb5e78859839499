"""The facts the media pipeline records about a photo or video, declared once: `Metadata`.

Each field has its type here and, where the API says more than the field's name, its description. The
readers fill it (metadata.py; xmp.py states `CameraFacts`, the part XMP can tell), the render sandbox carries
it across its pipe as JSON (`to_json`, `from_json`), the media service stores it in the `AssetMedia` columns
of the same names (media/models.py: the database schema, declared there) and the API's `MediaOut`
(gallery/schemas.py) is derived from it, descriptions included.
"""

from __future__ import annotations

import dataclasses
import datetime
import functools
import types
import typing
from dataclasses import dataclass, field


def described(description: str) -> typing.Any:
    """A field whose description the API shows beside its name and type."""
    return field(metadata={"description": description})


@dataclass(frozen=True, kw_only=True)
class CaptureTime:
    """When a picture was taken, by the most trusted statement of it in the file."""

    # The naive wall clock as the camera stated it (naive UTC for video and file modification times).
    taken_at: datetime.datetime | None = described("Capture time as the camera stated it (wall clock)")
    # The zone when known; None means unknown, never a guess.
    taken_at_offset_minutes: int | None = described("Its zone offset, when known")
    date_source: str = described("exif, xmp, quicktime, filename or file_mtime")


@dataclass(frozen=True, kw_only=True)
class CameraFacts:
    """Where a picture was taken, and with what: what EXIF, XMP and a video's container can each state."""

    latitude: float | None = None
    longitude: float | None = None
    altitude: float | None = None  # metres above sea level
    make: str | None = None
    model: str | None = None
    lens: str | None = None
    orientation: int | None = None  # EXIF 1..8


# The bases in this order give the fields in this order (dataclasses take them from the last base first):
# CaptureTime's, CameraFacts', then Metadata's own. The API's JSON keeps that order.
@dataclass(frozen=True, kw_only=True)
class Metadata(CameraFacts, CaptureTime):
    """What a photo or video says about itself (metadata.extract), or what is known without reading it."""

    width: int | None = None  # stored pixel size, before orientation
    height: int | None = None
    duration_seconds: float | None = None
    video_codec: str | None = None
    motion_photo: bool
    motion_video_offset: int | None = None  # byte offset of the MP4 embedded in a motion photo
    problems: tuple[str, ...]

    def to_json(self) -> dict[str, typing.Any]:
        """Plain JSON values: the capture time as ISO 8601 text, the problems as a list."""
        return {fact.name: _to_json(getattr(self, fact.name)) for fact in fields()}

    @classmethod
    def from_json(cls, values: object) -> Metadata:
        """Metadata from to_json()'s values, each checked against its declared type: they may come from a
        process that a crafted file took over. Raises ValueError."""
        if not isinstance(values, dict) or set(values) != {fact.name for fact in fields()}:
            raise ValueError("not the fields of Metadata")
        return cls(**{fact.name: _from_json(values[fact.name], fact) for fact in fields()})


class Fact(typing.NamedTuple):
    name: str
    type: typing.Any  # without None: datetime.datetime, not datetime.datetime | None
    optional: bool  # None is a value too
    description: str | None


@functools.cache
def fields() -> tuple[Fact, ...]:
    """The fields of Metadata, in order."""
    hints = typing.get_type_hints(Metadata)
    declared = []
    for each in dataclasses.fields(Metadata):
        hint = hints[each.name]
        optional = typing.get_origin(hint) is types.UnionType and type(None) in typing.get_args(hint)
        if optional:
            (hint,) = set(typing.get_args(hint)) - {type(None)}
        declared.append(Fact(each.name, hint, optional, each.metadata.get("description")))
    return tuple(declared)


def _to_json(value: object) -> object:
    if isinstance(value, datetime.datetime):
        return value.isoformat()
    return list(value) if isinstance(value, tuple) else value


def _from_json(value: object, fact: Fact) -> object:
    hint = fact.type
    if value is None and fact.optional:
        return None
    if hint is datetime.datetime and isinstance(value, str):
        try:
            return datetime.datetime.fromisoformat(value)
        except ValueError:
            pass
    elif typing.get_origin(hint) is tuple and isinstance(value, list):  # tuple[X, ...]
        item = typing.get_args(hint)[0]
        if all(isinstance(each, item) for each in value):
            return tuple(value)
    elif hint is float and isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    elif hint in (int, str, bool) and type(value) is hint:  # not isinstance: True is an int
        return value
    raise ValueError(f"{fact.name}: {value!r} is not of type {getattr(hint, '__name__', hint)}"[:200])
