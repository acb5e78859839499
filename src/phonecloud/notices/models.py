from __future__ import annotations

import datetime as dt

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from phonecloud.core.db import Base, UTCDateTime, utcnow


class Notice(Base):
    """A message from the operator. Its audience is everyone, or the users who match every criterion it
    names: a country, a region group, a plan's members, the holders of a kind of data."""

    __tablename__ = "notices"

    id: Mapped[int] = mapped_column(primary_key=True)
    message: Mapped[str] = mapped_column(Text)
    subject: Mapped[str] = mapped_column(String(200), default="")  # the email's; default: the message's start
    level: Mapped[str] = mapped_column(String(16), default="info")  # info | warning | critical
    region: Mapped[str | None] = mapped_column(String(64))  # a country code
    group_name: Mapped[str | None] = mapped_column(String(100))
    plan_name: Mapped[str | None] = mapped_column(String(100))
    kind: Mapped[str | None] = mapped_column(String(64))
    countries: Mapped[str | None] = mapped_column(Text)  # several country codes, comma-separated
    # What posted it when not an operator by hand ("retirement:3:announce"): posted once, whatever retries.
    origin: Mapped[str | None] = mapped_column(String(100))
    retirement_id: Mapped[int | None] = mapped_column(Integer)  # the retirement it belongs to
    receipts_of: Mapped[int | None] = mapped_column(Integer)  # for the users a retirement gave a receipt
    email: Mapped[bool] = mapped_column(Boolean, default=False)  # also sent by email
    required: Mapped[bool] = mapped_column(Boolean, default=False)  # legally required: no unsubscribing
    starts_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    ends_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    withdrawn_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)

    __table_args__ = (Index("ix_notices_window", "starts_at", "ends_at"),
                      UniqueConstraint("origin", name="uq_notices_origin"))


class NoticeDelivery(Base):
    """One email of a notice to one user, and what became of it: the answer to "was this user told, and
    when?". Kept when the account goes (user_id cleared), as proof."""

    __tablename__ = "notice_deliveries"

    id: Mapped[int] = mapped_column(primary_key=True)
    notice_id: Mapped[int] = mapped_column(ForeignKey("notices.id", ondelete="CASCADE"))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    email: Mapped[str] = mapped_column(String(320))
    # queued | sending | sent | failed (refused for good) | uncertain (cut off while sending: never resent)
    # | skipped (unsubscribed)
    state: Mapped[str] = mapped_column(String(16))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    answer: Mapped[str] = mapped_column(Text, default="")  # the mail server's last reply, or why it failed
    token: Mapped[str] = mapped_column(String(64), unique=True)  # the email's unsubscribe link
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_attempt_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    sent_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)

    __table_args__ = (UniqueConstraint("notice_id", "user_id", name="uq_delivery_notice_user"),
                      Index("ix_deliveries_state", "notice_id", "state", "id"))
