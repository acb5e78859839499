from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy import BigInteger, Boolean, Float, ForeignKey, Index, String, Text, UniqueConstraint, Uuid, false, text
from sqlalchemy.orm import Mapped, mapped_column

from phonecloud.core.db import Base, UTCDateTime, utcnow


class Asset(Base):
    __tablename__ = "assets"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    owner_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    device_id: Mapped[int | None] = mapped_column(ForeignKey("devices.id", ondelete="SET NULL"))
    kind: Mapped[str] = mapped_column(String(8))  # photo | video
    mime_type: Mapped[str] = mapped_column(String(100))
    # The client's name exactly as sent (any characters); never used as a path.
    original_filename: Mapped[str] = mapped_column(Text)
    size_bytes: Mapped[int] = mapped_column(BigInteger)
    sha1: Mapped[str] = mapped_column(String(40))
    crc32: Mapped[int] = mapped_column(BigInteger)
    blob_key: Mapped[str] = mapped_column(String(200))
    file_modified_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    uploaded_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    # When the media pipeline knows the capture time it replaces the modification time here.
    sort_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    is_favorite: Mapped[bool] = mapped_column(Boolean, default=False)
    trashed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    # What Google Photos (and people) say of a photo beyond its bytes: kept from imports, given back by exports.
    description: Mapped[str] = mapped_column(Text, default="", server_default="")
    is_archived: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    people: Mapped[str] = mapped_column(Text, default="[]", server_default="[]")  # JSON: the names, as tags
    # Where Google Photos placed it when that is not the file's own GPS (edited, or estimated); the media
    # pipeline's place (AssetMedia) stays the file's.
    place_latitude: Mapped[float | None] = mapped_column(Float)
    place_longitude: Mapped[float | None] = mapped_column(Float)
    place_altitude: Mapped[float | None] = mapped_column(Float)

    __table_args__ = (
        UniqueConstraint("owner_id", "sha1", name="uq_assets_owner_sha1"),
        Index("ix_assets_timeline", "owner_id", "sort_at", "id"),
        # The daily purge of the trash; partial, so no planner ever takes it for the timeline.
        Index("ix_assets_trashed_at", "trashed_at", sqlite_where=text("trashed_at IS NOT NULL"),
              postgresql_where=text("trashed_at IS NOT NULL")),
    )


class Album(Base):
    __tablename__ = "albums"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    owner_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    title: Mapped[str] = mapped_column(String(500))
    description: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class AlbumAsset(Base):
    __tablename__ = "album_assets"

    album_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("albums.id", ondelete="CASCADE"), primary_key=True)
    asset_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("assets.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    added_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    # A copy of the asset's sort_at, kept equal by database triggers (migration 0007), so that an album is
    # listed in order from its own index rather than by walking the owner's whole timeline.
    sort_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)

    __table_args__ = (Index("ix_album_assets_order", "album_id", "sort_at", "asset_id"),)
