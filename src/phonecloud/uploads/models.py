from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy import BigInteger, Boolean, ForeignKey, Index, String, Text, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from phonecloud.core.db import Base, UTCDateTime, utcnow

ACTIVE = "active"  # receiving bytes; its whole length is reserved in the owner's used_bytes
COMPLETED = "completed"  # became an item (or named an existing one); the reservation became its charge
EXPIRED = "expired"  # abandoned: bytes removed, reservation released; kept a while to answer 410


class ResumableUpload(Base):
    __tablename__ = "resumable_uploads"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    owner_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    device_id: Mapped[int | None] = mapped_column(ForeignKey("devices.id", ondelete="SET NULL"))
    state: Mapped[str] = mapped_column(String(16), default=ACTIVE)
    length: Mapped[int] = mapped_column(BigInteger)
    # The acknowledged offset: only ever moved after the bytes below it are durable in the blob store.
    offset: Mapped[int] = mapped_column(BigInteger, default=0)
    metadata_header: Mapped[str | None] = mapped_column(Text)  # Upload-Metadata as sent, echoed by HEAD
    filename: Mapped[str] = mapped_column(Text)
    file_modified_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    declared_sha1: Mapped[str | None] = mapped_column(String(40))
    destination: Mapped[str] = mapped_column(String(64))  # where it finishes: a destination of uploads.intake
    asset_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)  # the item it became (an asset in the gallery)
    duplicate: Mapped[bool | None] = mapped_column(Boolean)  # the bytes were already stored as asset_id
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    # One writer at a time across processes: a token with a lease that the writer renews as it goes.
    lock_token: Mapped[str | None] = mapped_column(String(100))
    lock_until: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)

    __table_args__ = (Index("ix_resumable_uploads_expiry", "state", "expires_at"),)
