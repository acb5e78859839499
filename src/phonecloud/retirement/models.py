from __future__ import annotations

import datetime as dt

from sqlalchemy import BigInteger, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from phonecloud.core.db import Base, UTCDateTime, utcnow


class Retirement(Base):
    """The retirement of one kind of data for the users of some region groups (minus exempt ones)."""

    __tablename__ = "retirements"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(64))
    groups: Mapped[str] = mapped_column(Text)  # the affected region groups' names, comma-separated
    exempt: Mapped[str] = mapped_column(Text, default="")  # groups whose countries are never affected
    announce_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    stop_sync_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    deadline_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    delete_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    refund: Mapped[str] = mapped_column(String(16))  # last-payment | prorated | none
    message: Mapped[str] = mapped_column(Text, default="")
    # scheduled | announced | sync-stopped | deleting | done | cancelled
    state: Mapped[str] = mapped_column(String(16), default="scheduled")
    created_by: Mapped[str] = mapped_column(String(320))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    report: Mapped[str] = mapped_column(Text, default="{}")  # JSON: the deletion's totals and final scan


class RetirementEvent(Base):
    """The audit log: who scheduled, changed or ran what, when, with what result."""

    __tablename__ = "retirement_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    retirement_id: Mapped[int] = mapped_column(ForeignKey("retirements.id", ondelete="CASCADE"))
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    actor: Mapped[str] = mapped_column(String(320))  # an administrator's email, "command line", or "job"
    action: Mapped[str] = mapped_column(String(32))
    detail: Mapped[str] = mapped_column(Text, default="{}")  # JSON

    __table_args__ = (Index("ix_retirement_events", "retirement_id", "id"),)


class DeletionReceipt(Base):
    """What a retirement deleted of one user's data, counted in the transactions that deleted it."""

    __tablename__ = "deletion_receipts"

    id: Mapped[int] = mapped_column(primary_key=True)
    retirement_id: Mapped[int] = mapped_column(ForeignKey("retirements.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(64))
    state: Mapped[str] = mapped_column(String(16), default="running")  # running | done
    items: Mapped[int] = mapped_column(BigInteger, default=0)
    rows: Mapped[int] = mapped_column(BigInteger, default=0)
    blobs: Mapped[int] = mapped_column(BigInteger, default=0)
    bytes: Mapped[int] = mapped_column(BigInteger, default=0)
    released_bytes: Mapped[int] = mapped_column(BigInteger, default=0)  # what the quota charged for it, before
    manifest_sha256: Mapped[str] = mapped_column(String(64), default="")  # of what the kind held, before
    rows_left: Mapped[int | None] = mapped_column(BigInteger)  # the final scan
    bytes_left: Mapped[int | None] = mapped_column(BigInteger)
    started_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    finished_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)

    __table_args__ = (UniqueConstraint("retirement_id", "user_id", name="uq_receipt_retirement_user"),
                      Index("ix_deletion_receipts_user", "user_id"))
