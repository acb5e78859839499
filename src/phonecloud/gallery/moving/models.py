"""A move of a user's library to another service, started from the web app: its target (with the
credentials it needs, kept only while the move may still run), its progress and report, and the per-item
record that makes it resumable and verified (what the target answered for each asset, and how it was checked)."""

from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy import BigInteger, Boolean, ForeignKey, Index, Integer, String, Text, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from phonecloud.core.db import Base, UTCDateTime, utcnow

# Move states: queued → running → done | failed | paused (asked to stop; resumed → queued again).
QUEUED, RUNNING, PAUSED, DONE, FAILED = "queued", "running", "paused", "done", "failed"
STATES = (QUEUED, RUNNING, PAUSED, DONE, FAILED)


class LibraryMove(Base):
    __tablename__ = "library_moves"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    owner_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    target: Mapped[str] = mapped_column(String(32))  # phonecloud | immich | rclone
    label: Mapped[str] = mapped_column(Text)  # where to, for people: "Immich at https://…" (no secret)
    # SHA-256 of the target and its credentials: a later move to the same place takes over this one's record.
    target_digest: Mapped[str] = mapped_column(String(64))
    # JSON: what the target needs (its URL and API key, or the rclone remote); None once the move is over.
    credentials: Mapped[str | None] = mapped_column(Text)
    state: Mapped[str] = mapped_column(String(16), default=QUEUED)
    pause_requested: Mapped[bool] = mapped_column(Boolean, default=False)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    files_total: Mapped[int] = mapped_column(BigInteger, default=0)  # to send in the current run
    files_done: Mapped[int] = mapped_column(BigInteger, default=0)
    bytes_total: Mapped[int] = mapped_column(BigInteger, default=0)
    bytes_done: Mapped[int] = mapped_column(BigInteger, default=0)
    report: Mapped[str | None] = mapped_column(Text)  # JSON: the migration's summary, after each run
    error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    started_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    finished_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)

    __table_args__ = (Index("ix_library_moves_owner", "owner_id", "created_at"),
                      Index("ix_library_moves_target", "owner_id", "target_digest"))


class MovedItem(Base):
    """One asset's standing in a move: verified, already there, failed (why), or being sent."""

    __tablename__ = "library_move_items"

    move_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("library_moves.id", ondelete="CASCADE"), primary_key=True)
    asset_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    sha1: Mapped[str] = mapped_column(String(40))
    size_bytes: Mapped[int] = mapped_column(BigInteger)
    state: Mapped[str] = mapped_column(String(16))
    target_ref: Mapped[str | None] = mapped_column(Text)
    verified_by: Mapped[str | None] = mapped_column(String(32))
    reason: Mapped[str | None] = mapped_column(Text)
    settled: Mapped[bool] = mapped_column(Boolean, default=False)
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class MovedAlbum(Base):
    __tablename__ = "library_move_albums"

    move_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("library_moves.id", ondelete="CASCADE"), primary_key=True)
    album_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    target_ref: Mapped[str] = mapped_column(Text)
