"""The gallery's JSON shapes, shared by its routes and by the OpenAPI description."""

from __future__ import annotations

import datetime as dt
import json
import typing
import uuid
from typing import Annotated, Any, ClassVar

from pydantic import BaseModel, Field
from typing_extensions import TypedDict  # pydantic needs this one before Python 3.12

from phonecloud.core.http import Moment
from phonecloud.gallery.models import Album, Asset
from phonecloud.core.names import safe_filename
from phonecloud.gallery.albums import MAX_ALBUM_CHANGE
from phonecloud.gallery.ingest import MAX_PRECHECK_ITEMS
from phonecloud.media import facts
from phonecloud.media.models import FAILED, PENDING, READY, AssetMedia
from phonecloud.media.sniff import sniff_extension


def _as_sent(fact: facts.Fact) -> tuple[Any, Any]:
    """(Its type in the JSON, with its description; its value while the asset is pending) of one of the
    media pipeline's facts. A date is sent as ISO 8601 text and the problems as a list; every fact is null
    while pending, save a flag (false) and the problems (none)."""
    if typing.get_origin(fact.type) is tuple:  # tuple[X, ...]
        sent, pending = list[typing.get_args(fact.type)[0]], []
    elif fact.type is bool:
        sent, pending = bool, False
    else:
        sent, pending = (str if fact.type is dt.datetime else fact.type) | None, None
    return (Annotated[sent, Field(description=fact.description)] if fact.description else sent), pending


_FACTS = {fact.name: _as_sent(fact) for fact in facts.fields()}
_SENT = {name: sent for name, (sent, _) in _FACTS.items()}
_PROBLEMS = _SENT.pop("problems")

# An asset's JSON is a plain dict (TypedDict), not a model: a page carries up to 1,000 of them, and building
# model instances took a third of the time of listing the newest 200. Its media part is the row's state and
# error and damage, the preview's state and error, the media pipeline's facts (media/facts.py) and the Live
# Photo pairing, with the problems last.
MediaOut = TypedDict("MediaOut", {
    "state": Annotated[str, Field(description="pending (being processed), ready (its metadata read and its "
                                              "thumbnail made), or failed (no thumbnail nor preview; see error)")],
    "error": str | None,
    "damage": Annotated[str | None, Field(description="set when the file is damaged or truncated: the thumbnail "
                                                      "and preview show what of it decodes (as browsers do), and "
                                                      "this says why")],
    "preview_state": Annotated[str, Field(description="pending (not made yet: once state is ready, GET "
                                                      ".../preview makes it on the spot), ready, or failed (see "
                                                      "preview_error, or error)")],
    "preview_error": Annotated[str | None, Field(description="why there is no preview though there is a thumbnail")],
    **_SENT,
    "live_photo_pair_id": uuid.UUID | None,
    "problems": _PROBLEMS,
})

_PENDING: MediaOut = {**dict.fromkeys(MediaOut.__annotations__), "state": "pending", "preview_state": "pending",
                      **{name: pending for name, (_, pending) in _FACTS.items()}}


def media_out(media: AssetMedia | None) -> MediaOut:
    if media is None:
        return {**_PENDING, "problems": []}
    out = {name: getattr(media, name, None) for name in MediaOut.__annotations__}  # the columns of the same names
    out.update(taken_at=media.taken_at.isoformat() if media.taken_at else None,
               preview_state=preview_state(media),  # which no column holds
               problems=media.problems.splitlines() if media.problems else [])  # stored one a line
    return out


def preview_state(media: AssetMedia) -> str:
    if media.state == FAILED or media.preview_error:
        return FAILED
    return READY if media.preview_key else PENDING


class Place(BaseModel):
    latitude: float = Field(ge=-90, le=90)
    longitude: float = Field(ge=-180, le=180)
    altitude: float | None = Field(default=None, ge=-20_000, le=100_000)


def place_of(asset: Asset) -> Place | None:
    if asset.place_latitude is None or asset.place_longitude is None:
        return None
    return Place(latitude=asset.place_latitude, longitude=asset.place_longitude, altitude=asset.place_altitude)


class AssetOut(TypedDict):
    id: uuid.UUID
    kind: str
    mime_type: str
    original_filename: Annotated[str, Field(
        description="The name exactly as the client sent it (NUL shown as U+2400)")]
    filename: Annotated[str, Field(description="A safe form of the name, for saving the file")]
    size_bytes: int
    sha1: str
    file_modified_at: dt.datetime
    uploaded_at: dt.datetime
    sort_at: dt.datetime
    is_favorite: bool
    trashed: bool
    trashed_at: dt.datetime | None
    description: str
    is_archived: Annotated[bool, Field(description="Archived in Google Photos (kept, out of the way)")]
    people: Annotated[list[str], Field(description="People's names in it, as tags (from a Takeout)")]
    place: Annotated[Place | None, Field(description="Where Google Photos placed it, when that is not the "
                                         "file's own GPS (media has the file's)")]
    media: MediaOut


def asset_out(asset: Asset, media: AssetMedia | None = None) -> AssetOut:
    return {
        "id": asset.id, "kind": asset.kind, "mime_type": asset.mime_type,
        "original_filename": asset.original_filename,
        "filename": safe_filename(asset.original_filename, sniff_extension(asset.mime_type)),
        "size_bytes": asset.size_bytes, "sha1": asset.sha1, "file_modified_at": asset.file_modified_at,
        "uploaded_at": asset.uploaded_at, "sort_at": asset.sort_at, "is_favorite": asset.is_favorite,
        "trashed": asset.trashed_at is not None, "trashed_at": asset.trashed_at, "description": asset.description,
        "is_archived": asset.is_archived, "people": json.loads(asset.people), "place": place_of(asset),
        "media": media_out(media),
    }


class UploadOut(BaseModel):
    id: uuid.UUID
    duplicate: bool = Field(description="True when these bytes were already stored: nothing new was stored")
    asset: AssetOut


class AssetPage(BaseModel):
    items: list[AssetOut]
    next_cursor: str | None = Field(description="Pass as ?cursor= for the next page; null on the last page")


class MonthCount(BaseModel):
    month: str = Field(description="YYYY-MM, of the items' sort time in UTC", examples=["2024-06"])
    count: int


class MonthCounts(BaseModel):
    months: list[MonthCount] = Field(description="Newest first; months without items are left out")


# Plain dicts too: a check carries up to 10,000 items each way.
class CheckItem(TypedDict):
    id: Annotated[str, Field(max_length=256, description="The client's own id for the file, echoed back")]
    sha1: Annotated[str, Field(pattern=r"^[0-9a-fA-F]{40}$")]


class CheckRequest(BaseModel):
    max_body_bytes: ClassVar[int] = 4 << 20  # 10,000 items with ids of 256 characters, and room to spare
    items: list[CheckItem] = Field(max_length=MAX_PRECHECK_ITEMS, fail_fast=True)


class CheckResult(TypedDict):
    id: str
    sha1: str
    exists: bool
    asset_id: uuid.UUID | None
    trashed: bool


class CheckResponse(BaseModel):
    results: list[CheckResult]


class AssetPatch(BaseModel):
    max_body_bytes: ClassVar[int] = 256 << 10  # a description of 10,000 characters escaped, and the names
    description: str | None = Field(default=None, max_length=10_000)
    is_archived: bool | None = None
    people: list[Annotated[str, Field(min_length=1, max_length=200)]] | None = Field(default=None, max_length=200)
    place: Place | None = None


class AlbumIn(BaseModel):
    max_body_bytes: ClassVar[int] = 128 << 10  # a description of 10,000 characters, each escaped as \uXXXX
    title: str = Field(min_length=1, max_length=500)
    description: str = Field(default="", max_length=10_000)
    created_at: Moment | None = Field(default=None, description="When the album was made, if not now (an "
                                      "import restores it); UTC unless an offset is given")


class AlbumPatch(BaseModel):
    max_body_bytes: ClassVar[int] = 128 << 10
    title: str | None = Field(default=None, min_length=1, max_length=500)
    description: str | None = Field(default=None, max_length=10_000)


class AlbumOut(BaseModel):
    id: uuid.UUID
    title: str
    description: str
    asset_count: int
    created_at: dt.datetime
    updated_at: dt.datetime

    @classmethod
    def of(cls, album: Album, asset_count: int) -> AlbumOut:
        return cls(id=album.id, title=album.title, description=album.description, asset_count=asset_count,
                   created_at=album.created_at, updated_at=album.updated_at)


ORIGINALS_PER_REQUEST = 256


class AssetIds(BaseModel):
    max_body_bytes: ClassVar[int] = 1 << 20  # 10,000 UUIDs of 40 bytes each, pretty-printed or not
    asset_ids: list[uuid.UUID] = Field(min_length=1, max_length=MAX_ALBUM_CHANGE, fail_fast=True)


class OriginalsRequest(BaseModel):
    asset_ids: list[uuid.UUID] = Field(min_length=1, max_length=ORIGINALS_PER_REQUEST, fail_fast=True)


class AlbumChangeResult(BaseModel):
    asset_id: uuid.UUID
    result: str = Field(description="added, already, removed, not_member or not_found")


class AlbumChangeResponse(BaseModel):
    results: list[AlbumChangeResult]
