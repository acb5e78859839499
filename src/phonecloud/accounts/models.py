from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy import BigInteger, Boolean, ForeignKey, Index, Integer, String, Text, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from phonecloud.core.db import Base, UTCDateTime, utcnow


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(320), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    is_admin: Mapped[bool] = mapped_column(Boolean, default=False)
    disabled: Mapped[bool] = mapped_column(Boolean, default=False)
    # An ISO 3166-1 alpha-2 country ("ZZ": not known): region groups enable features and schedule their
    # retirement by country.
    region: Mapped[str] = mapped_column(String(64), default="ZZ")
    locale: Mapped[str] = mapped_column(String(16), default="en")  # the language of the emails they get
    display_name: Mapped[str] = mapped_column(String(200), default="")
    notice_emails: Mapped[bool] = mapped_column(Boolean, default=True)  # False: unsubscribed (required ones still go)
    # The quota in force: the override when an administrator set one, else what the user's plans give
    # (kept here so that charging stays one conditional UPDATE).
    quota_bytes: Mapped[int] = mapped_column(BigInteger)
    quota_override_bytes: Mapped[int | None] = mapped_column(BigInteger)
    plan_kinds: Mapped[str | None] = mapped_column(Text)  # kinds the plans include, comma-separated; None: all
    # Kept as a counter updated in the same transaction as assets, so quota checks are one atomic UPDATE.
    used_bytes: Mapped[int] = mapped_column(BigInteger, default=0)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class Device(Base):
    __tablename__ = "devices"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class ApiKey(Base):
    __tablename__ = "api_keys"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    device_id: Mapped[int | None] = mapped_column(ForeignKey("devices.id", ondelete="CASCADE"))
    # Only a SHA-256 of the key is stored: keys are random 256-bit secrets, so a slow hash adds nothing.
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_used_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)


class LoginSession(Base):
    __tablename__ = "login_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    revoked_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)

    __table_args__ = (Index("ix_login_sessions_expires", "expires_at"),)


class LoginThrottleEntry(Base):
    """Failed sign-ins of one account or one client address, shared by every server process."""

    __tablename__ = "login_throttles"

    # SHA-256 of scope and subject: fixed width whatever was typed, and no list of tried emails or addresses.
    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    failures: Mapped[int] = mapped_column(Integer, default=0)
    window_started_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    lockouts: Mapped[int] = mapped_column(Integer, default=0)  # in a row; each one lasts twice the one before
    locked_until: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    __table_args__ = (Index("ix_login_throttles_updated", "updated_at"),)


class AccountDeletion(Base):
    """An account being deleted, then its receipt: kept without personal data beyond the email's SHA-256.
    Its id is unguessable and is the receipt's address (the account's credentials are gone by then)."""

    __tablename__ = "account_deletions"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    user_id: Mapped[int | None] = mapped_column(Integer, index=True)  # no foreign key: the user row goes first
    email_sha256: Mapped[str] = mapped_column(String(64))
    requested_by: Mapped[str] = mapped_column(String(16))  # "self" or "admin"
    state: Mapped[str] = mapped_column(String(16))  # "running" or "done"
    started_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    finished_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    receipt: Mapped[str] = mapped_column(Text, default="{}")  # JSON, filled in as the deletion goes
    # One runner at a time (a job worker, or the admin's command): whoever holds a live lease.
    lease_until: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
