"""The gallery's JSON shapes, shared by its routes and by the OpenAPI description."""

from __future__ import annotations

import datetime as dt
import uuid

from pydantic import BaseModel, Field

from phonecloud.gallery.models import Album, Asset
from phonecloud.gallery.names import safe_filename
from phonecloud.media.models import AssetMedia
from phonecloud.media.sniff import sniff_extension


class MediaOut(BaseModel):
    state: str = Field(description="pending (being processed), ready, or failed (no preview; see error)")
    error: str | None = None
    taken_at: str | None = Field(default=None, description="Capture time as the camera stated it (wall clock)")
    taken_at_offset_minutes: int | None = Field(default=None, description="Its zone offset, when known")
    date_source: str | None = Field(default=None, description="exif, xmp, quicktime, filename or file_mtime")
    latitude: float | None = None
    longitude: float | None = None
    altitude: float | None = None
    make: str | None = None
    model: str | None = None
    lens: str | None = None
    orientation: int | None = None
    width: int | None = None
    height: int | None = None
    duration_seconds: float | None = None
    video_codec: str | None = None
    motion_photo: bool = False
    motion_video_offset: int | None = None
    live_photo_pair_id: uuid.UUID | None = None
    problems: list[str] = Field(default_factory=list)

    @classmethod
    def of(cls, media: AssetMedia | None) -> MediaOut:
        if media is None:
            return cls(state="pending")
        fields = {name: getattr(media, name) for name in cls.model_fields if name not in ("taken_at", "problems")}
        return cls(**fields, taken_at=media.taken_at.isoformat() if media.taken_at else None,
                   problems=media.problems.splitlines() if media.problems else [])


class AssetOut(BaseModel):
    id: uuid.UUID
    kind: str
    mime_type: str
    original_filename: str = Field(description="The name exactly as the client sent it (NUL shown as U+2400)")
    filename: str = Field(description="A safe form of the name, for saving the file")
    size_bytes: int
    sha1: str
    file_modified_at: dt.datetime
    uploaded_at: dt.datetime
    sort_at: dt.datetime
    is_favorite: bool
    trashed: bool
    trashed_at: dt.datetime | None
    media: MediaOut

    @classmethod
    def of(cls, asset: Asset, media: AssetMedia | None = None) -> AssetOut:
        return cls(
            id=asset.id, kind=asset.kind, mime_type=asset.mime_type, original_filename=asset.original_filename,
            filename=safe_filename(asset.original_filename, sniff_extension(asset.mime_type)),
            size_bytes=asset.size_bytes, sha1=asset.sha1, file_modified_at=asset.file_modified_at,
            uploaded_at=asset.uploaded_at, sort_at=asset.sort_at, is_favorite=asset.is_favorite,
            trashed=asset.trashed_at is not None, trashed_at=asset.trashed_at, media=MediaOut.of(media),
        )


class UploadOut(BaseModel):
    id: uuid.UUID
    duplicate: bool = Field(description="True when these bytes were already stored: nothing new was stored")
    asset: AssetOut


class AssetPage(BaseModel):
    items: list[AssetOut]
    next_cursor: str | None = Field(description="Pass as ?cursor= for the next page; null on the last page")


class CheckItem(BaseModel):
    id: str = Field(max_length=1000, description="The client's own id for the file, echoed back")
    sha1: str = Field(pattern=r"^[0-9a-fA-F]{40}$")


class CheckRequest(BaseModel):
    items: list[CheckItem] = Field(max_length=10_000)


class CheckResult(BaseModel):
    id: str
    sha1: str
    exists: bool
    asset_id: uuid.UUID | None
    trashed: bool


class CheckResponse(BaseModel):
    results: list[CheckResult]


class AlbumIn(BaseModel):
    title: str = Field(min_length=1, max_length=500)
    description: str = Field(default="", max_length=10_000)


class AlbumPatch(BaseModel):
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


class AssetIds(BaseModel):
    asset_ids: list[uuid.UUID] = Field(min_length=1, max_length=10_000)


class AlbumChangeResult(BaseModel):
    asset_id: uuid.UUID
    result: str = Field(description="added, already, removed, not_member or not_found")


class AlbumChangeResponse(BaseModel):
    results: list[AlbumChangeResult]
