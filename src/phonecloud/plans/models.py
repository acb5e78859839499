from __future__ import annotations

import datetime as dt

from sqlalchemy import BigInteger, Boolean, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from phonecloud.core.db import Base, UTCDateTime, utcnow


class Plan(Base):
    """One entry of the catalogue. Prices are kept in the currency's minor unit (cents)."""

    __tablename__ = "plans"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    quota_bytes: Mapped[int] = mapped_column(BigInteger)
    price_minor: Mapped[int] = mapped_column(BigInteger, default=0)
    currency: Mapped[str | None] = mapped_column(String(3))
    period: Mapped[str] = mapped_column(String(16), default="month")  # month | year | once | none
    kinds: Mapped[str | None] = mapped_column(Text)  # comma-separated data kinds it includes; None: every kind
    is_default: Mapped[bool] = mapped_column(Boolean, default=False)  # what a user without a membership has
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    retired_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)  # no new memberships from then on


class Membership(Base):
    """A user on a plan from starts_at until ends_at (None: until ended)."""

    __tablename__ = "memberships"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    plan_id: Mapped[int] = mapped_column(ForeignKey("plans.id"))
    starts_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    ends_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    __table_args__ = (Index("ix_memberships_user", "user_id", "starts_at"), Index("ix_memberships_plan", "plan_id"))


class LedgerEntry(Base):
    """A payment or a refund, as the operator's billing system reported it. Kept for accounting when the
    account goes (user_id is then cleared; the email stays, as invoices keep it)."""

    __tablename__ = "ledger_entries"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    email: Mapped[str] = mapped_column(String(320))
    plan_name: Mapped[str] = mapped_column(String(100))
    kind: Mapped[str] = mapped_column(String(16))  # payment | refund
    amount_minor: Mapped[int] = mapped_column(BigInteger)  # positive for both kinds
    currency: Mapped[str] = mapped_column(String(3))
    reference: Mapped[str] = mapped_column(String(200))
    note: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    # A billing system that retries sends the same reference again: recorded once.
    __table_args__ = (UniqueConstraint("kind", "reference", name="uq_ledger_kind_reference"),
                      Index("ix_ledger_at", "at"), Index("ix_ledger_user", "user_id"))
