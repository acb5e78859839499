"""Export snapshots: what each part of an export holds, frozen when the export is prepared, and the
SHA-256 of each original (computed once, by the first export that needs it)."""

from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy import BigInteger, ForeignKey, Index, Integer, String, Text, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from phonecloud.core.db import Base, UTCDateTime, utcnow

PREPARING = "preparing"
READY = "ready"
FAILED = "failed"


class Export(Base):
    __tablename__ = "exports"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    owner_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    state: Mapped[str] = mapped_column(String(16), default=PREPARING)
    error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    ready_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    # The server's address as the request that asked for the export saw it, for the sidecars' links.
    base_url: Mapped[str] = mapped_column(String(500))
    part_size: Mapped[int] = mapped_column(BigInteger)
    zip64_from: Mapped[int] = mapped_column(BigInteger)
    # Progress while preparing: bytes of originals whose SHA-256 was still to be computed, and done.
    hash_total_bytes: Mapped[int] = mapped_column(BigInteger, default=0)
    hash_done_bytes: Mapped[int] = mapped_column(BigInteger, default=0)
    # Once ready: the blob that holds every generated file (sidecars, album metadata, index, manifest).
    generated_key: Mapped[str | None] = mapped_column(String(200))
    asset_count: Mapped[int] = mapped_column(Integer, default=0)
    file_count: Mapped[int] = mapped_column(Integer, default=0)
    total_bytes: Mapped[int] = mapped_column(BigInteger, default=0)
    manifest_sha256: Mapped[str | None] = mapped_column(String(64))
    # When `phonecloud export` last reported every part checked against the manifest (SHA-256 of each file).
    verified_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)


class ExportPart(Base):
    __tablename__ = "export_parts"

    export_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("exports.id", ondelete="CASCADE"), primary_key=True)
    number: Mapped[int] = mapped_column(Integer, primary_key=True)
    size: Mapped[int] = mapped_column(BigInteger)
    entries: Mapped[int] = mapped_column(Integer)
    cd_offset: Mapped[int] = mapped_column(BigInteger)
    cd_size: Mapped[int] = mapped_column(BigInteger)
    # When a response last delivered the part's final byte (a whole download, or the end of resumed ones).
    downloaded_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)


class ExportEntry(Base):
    """One file in one part: where its local header starts, and where its bytes come from."""

    __tablename__ = "export_entries"

    export_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("exports.id", ondelete="CASCADE"), primary_key=True)
    seq: Mapped[int] = mapped_column(Integer, primary_key=True)
    part: Mapped[int] = mapped_column(Integer)
    offset: Mapped[int] = mapped_column(BigInteger)
    path: Mapped[str] = mapped_column(Text)
    kind: Mapped[str] = mapped_column(String(16))
    size: Mapped[int] = mapped_column(BigInteger)
    crc32: Mapped[int] = mapped_column(BigInteger)
    sha256: Mapped[str] = mapped_column(String(64))
    mtime: Mapped[int] = mapped_column(BigInteger)  # Unix seconds
    # An original's blob (kept here: the export stays readable whatever happens to the asset's row), or
    # None for a generated file, whose bytes are at blob_offset in the export's generated blob.
    blob_key: Mapped[str | None] = mapped_column(String(200))
    blob_offset: Mapped[int] = mapped_column(BigInteger, default=0)
    asset_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)

    __table_args__ = (Index("ix_export_entries_part_offset", "export_id", "part", "offset"),)


class AssetDigest(Base):
    __tablename__ = "asset_digests"

    asset_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("assets.id", ondelete="CASCADE"), primary_key=True)
    sha256: Mapped[str] = mapped_column(String(64))
    computed_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
