from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy import BigInteger, Boolean, DateTime, Float, ForeignKey, Integer, String, Text, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from phonecloud.core.db import Base, UTCDateTime, utcnow

PENDING = "pending"
READY = "ready"
FAILED = "failed"


# Each derivative by name: its file name beside the asset's others, and its MIME type.
DERIVATIVES = {"thumbnail": ("thumbnail.webp", "image/webp"), "preview": ("preview.jpg", "image/jpeg")}

class AssetMedia(Base):
    """What the media pipeline learned about an asset, and where its derivatives are. One row per asset,
    written by the pipeline only: the asset row itself stays what the upload recorded.

    The media job reads the metadata and makes the thumbnail (state ready, or failed with the error); the
    preview follows, made by a job of lower priority or by its first request, whichever comes first:
    preview_key once it is made, preview_error when it could not be (the thumbnail could)."""

    __tablename__ = "asset_media"

    asset_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("assets.id", ondelete="CASCADE"), primary_key=True)
    state: Mapped[str] = mapped_column(String(16), default=PENDING)  # of the metadata and the thumbnail
    error: Mapped[str | None] = mapped_column(Text)  # why there are no derivatives (state failed)
    # Why the derivatives show only part of the picture: a damaged or truncated file, decoded as far as it goes.
    damage: Mapped[str | None] = mapped_column(Text)
    # The capture time as the camera stated it (wall clock), never shifted by the server's own zone.
    taken_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=False))
    taken_at_offset_minutes: Mapped[int | None] = mapped_column(Integer)
    date_source: Mapped[str | None] = mapped_column(String(16))
    latitude: Mapped[float | None] = mapped_column(Float)
    longitude: Mapped[float | None] = mapped_column(Float)
    altitude: Mapped[float | None] = mapped_column(Float)
    make: Mapped[str | None] = mapped_column(String(200))
    model: Mapped[str | None] = mapped_column(String(200))
    lens: Mapped[str | None] = mapped_column(String(200))
    orientation: Mapped[int | None] = mapped_column(Integer)
    width: Mapped[int | None] = mapped_column(Integer)
    height: Mapped[int | None] = mapped_column(Integer)
    duration_seconds: Mapped[float | None] = mapped_column(Float)
    video_codec: Mapped[str | None] = mapped_column(String(50))
    motion_photo: Mapped[bool] = mapped_column(Boolean, default=False)
    motion_video_offset: Mapped[int | None] = mapped_column(BigInteger)
    live_photo_pair_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    problems: Mapped[str | None] = mapped_column(Text)  # one per line
    thumbnail_key: Mapped[str | None] = mapped_column(String(200))
    preview_key: Mapped[str | None] = mapped_column(String(200))
    preview_error: Mapped[str | None] = mapped_column(Text)  # why there is no preview though there is a thumbnail
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
