"""Accounts service: users, devices and API keys, sign-in sessions and the storage counters."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from phonecloud.accounts import security
from phonecloud.accounts.models import ApiKey, Device, LoginSession, User
from phonecloud.accounts.throttle import LoginThrottle, ThrottlePolicy
from phonecloud.core.countries import UNKNOWN, country_code
from phonecloud.core.db import Database, utcnow
from phonecloud.core.errors import BadRequest, Conflict, Forbidden, NotFound, Unauthorized
from phonecloud.core.kinds import DataKind, Usage, usage_of

_EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]{1,255}$")
_LOCALE = re.compile(r"^[a-z]{2,3}(-[A-Za-z0-9]{2,8})*$")  # a BCP 47 language tag such as en, de, pt-BR
# Writing last_used_at on every request would turn each read into a write; once in a while is enough.
_LAST_USED_RESOLUTION = dt.timedelta(minutes=5)
MIN_PASSWORD_LENGTH = 8


@dataclass(frozen=True)
class Standing:
    """What decides which kinds of data an account may add, as read with its credentials: its country and
    the kinds its plans include (None: every kind). The intake gate's rules read it without a query."""

    region: str
    plan_kinds: str | None

    @classmethod
    def of(cls, user: User) -> Standing:
        return cls(user.region, user.plan_kinds)


@dataclass(frozen=True)
class Principal:
    """Who is calling: the user, and the device when the call came with a device's API key."""

    user_id: int
    email: str
    is_admin: bool
    device_id: int | None = None
    session_id: int | None = None
    room_bytes: int | None = None  # free quota when the request was authenticated (None: not looked up)
    standing: Standing | None = None  # None: not looked up (the gate's rules read it themselves)

    def require_admin(self) -> None:
        if not self.is_admin:
            raise Forbidden("administrators only")


@dataclass(frozen=True)
class AccountSummary:
    email: str
    is_admin: bool
    region: str
    used_bytes: int
    quota_bytes: int
    usage: dict[str, Usage]  # by data kind
    extra: dict[str, Any] = field(default_factory=dict)  # fields kinds add for older clients ("asset_count")

    def as_dict(self) -> dict[str, Any]:
        return {"email": self.email, "is_admin": self.is_admin, "region": self.region, "used_bytes": self.used_bytes,
                "quota_bytes": self.quota_bytes, "usage": {name: used.as_dict() for name, used in self.usage.items()},
                **self.extra}


@dataclass(frozen=True)
class IssuedKey:
    key: str
    device_id: int
    device_name: str


def normalise_email(email: str) -> str:
    email = email.strip().lower()
    if not _EMAIL.match(email):
        raise BadRequest(f"not an email address: {email!r}")
    return email


def locale_code(text: str) -> str:
    locale = (text or "").strip()
    if len(locale) > 16 or not _LOCALE.match(locale):
        raise BadRequest(f"not a language tag: {text!r} (examples: en, de, pt-BR)")
    return locale


def profile_name(text: str) -> str:
    name = " ".join((text or "").split())
    if len(name) > 200:
        raise BadRequest("a name is at most 200 characters")
    return name


@dataclass(frozen=True)
class SessionInfo:
    id: int
    created_at: dt.datetime
    expires_at: dt.datetime
    current: bool


@dataclass(frozen=True)
class UserRow:
    """One user as the administrators see them."""

    id: int
    email: str
    is_admin: bool
    disabled: bool
    region: str
    quota_bytes: int
    used_bytes: int
    created_at: dt.datetime
    usage: dict[str, Usage] = field(default_factory=dict)  # by data kind

    def as_dict(self, kinds: Sequence[DataKind] = ()) -> dict[str, Any]:
        extra = {name: value for kind in kinds for name, value in kind.summary_fields(
            self.usage.get(kind.name, Usage())).items()}
        return {**{name: getattr(self, name) for name in ("id", "email", "is_admin", "disabled", "region",
                                                           "quota_bytes", "used_bytes", "created_at")},
                "usage": {name: used.as_dict() for name, used in self.usage.items()}, **extra}


@dataclass(frozen=True)
class ServerTotals:
    users: int
    used_bytes: int
    usage: dict[str, Usage]  # by data kind: every user's items and bytes


class AccountService:
    def __init__(self, db: Database, default_quota_bytes: int, session_days: int = 30,
                 throttle_policy: ThrottlePolicy = ThrottlePolicy(), default_region: str = UNKNOWN):
        self.db = db
        self.default_quota_bytes = default_quota_bytes
        self.default_region = default_region
        # Told of each new user in the transaction that creates them (plans set their entitlement).
        self.on_created: list[Callable[[Session, int], None]] = []
        self.session_lifetime = dt.timedelta(days=session_days)
        self.throttle = LoginThrottle(db, throttle_policy)
        self.kinds: Sequence[DataKind] = ()  # the server's data kinds, whose usage accounts report

    # -- users -------------------------------------------------------------------------------------------

    def create_user(self, email: str, password: str, quota_bytes: int | None = None, is_admin: bool = False,
                    region: str | None = None, locale: str = "en", display_name: str = "") -> User:
        """A new user. quota_bytes: an override of what their plans give (None: the plans decide)."""
        email = normalise_email(email)
        if len(password) < MIN_PASSWORD_LENGTH:
            raise BadRequest(f"password too short: at least {MIN_PASSWORD_LENGTH} characters")
        if quota_bytes is not None and quota_bytes < 0:
            raise BadRequest("quota must not be negative")
        user = User(email=email, password_hash=security.hash_password(password),
                    quota_bytes=self.default_quota_bytes if quota_bytes is None else quota_bytes,
                    quota_override_bytes=quota_bytes, is_admin=is_admin, used_bytes=0, disabled=False,
                    region=country_code(region or self.default_region), locale=locale_code(locale),
                    display_name=profile_name(display_name), notice_emails=True)
        try:
            with self.db.write() as session:
                session.add(user)
                session.flush()
                for created in self.on_created:
                    created(session, user.id)
        except IntegrityError:
            raise Conflict(f"a user with email {email} already exists") from None
        return self.user_by_email(email)

    def user_by_email(self, email: str) -> User:
        with self.db.read() as session:
            user = session.scalar(select(User).where(User.email == normalise_email(email)))
        if user is None:
            raise NotFound(f"no user with email {email}")
        return user

    def set_quota(self, email: str, quota_bytes: int) -> User:
        """Override the quota EMAIL's plans give (until the override is cleared)."""
        if quota_bytes < 0:
            raise BadRequest("quota must not be negative")
        user = self.user_by_email(email)
        with self.db.write() as session:
            session.execute(update(User).where(User.id == user.id).values(quota_bytes=quota_bytes,
                                                                          quota_override_bytes=quota_bytes))
        return self.user_by_email(email)

    def set_profile(self, email: str, locale: str | None = None, display_name: str | None = None,
                    notice_emails: bool | None = None) -> User:
        values = {}
        if locale is not None:
            values["locale"] = locale_code(locale)
        if display_name is not None:
            values["display_name"] = profile_name(display_name)
        if notice_emails is not None:
            values["notice_emails"] = notice_emails
        user = self.user_by_email(email)
        if values:
            with self.db.write() as session:
                session.execute(update(User).where(User.id == user.id).values(**values))
        return self.user_by_email(email)

    def count_users(self) -> int:
        with self.db.read() as session:
            return session.scalar(select(func.count()).select_from(User)) or 0

    def summary(self, principal: Principal) -> AccountSummary:
        with self.db.read() as session:
            user = session.get(User, principal.user_id)
            usage = usage_of(self.kinds, session, user.id)
        extra = {name: value for kind in self.kinds for name, value in kind.summary_fields(usage[kind.name]).items()}
        return AccountSummary(user.email, user.is_admin, user.region, user.used_bytes, user.quota_bytes, usage, extra)

    # -- sessions ----------------------------------------------------------------------------------------

    def login(self, email: str, password: str, address: str) -> tuple[str, dt.datetime]:
        """A new session token for a correct email and password; one message for every failure, and
        LoginThrottled (429) while the email or the client address has failed too often (see throttle)."""
        email = email.strip().lower()
        admission = self.throttle.admit(email, address)
        with self.db.read() as session:
            user = session.scalar(select(User).where(User.email == email))
        if not security.verify_password(user.password_hash if user else None, password) or user.disabled:
            raise Unauthorized("wrong email or password")
        token = security.new_token(security.SESSION_PREFIX)
        expires = utcnow() + self.session_lifetime
        # Today's parameters replace older ones now, the only moment the password is at hand (hashed before
        # the transaction: Argon2 is slow on purpose).
        rehashed = security.hash_password(password) if security.needs_rehash(user.password_hash) else None
        with self.db.write() as session:
            self.throttle.succeeded(session, admission)
            if rehashed is not None:
                session.execute(update(User).where(User.id == user.id).values(password_hash=rehashed))
            session.add(LoginSession(user_id=user.id, token_hash=security.token_digest(token), expires_at=expires))
        return token, expires

    def logout(self, principal: Principal) -> None:
        if principal.session_id is None:
            raise BadRequest("this request was made with an API key, not a session; revoke keys instead")
        with self.db.write() as session:
            session.execute(update(LoginSession).where(LoginSession.id == principal.session_id)
                            .values(revoked_at=utcnow()))

    def list_sessions(self, principal: Principal) -> list[SessionInfo]:
        """The caller's sessions that still work, oldest first."""
        with self.db.read() as session:
            rows = session.scalars(
                select(LoginSession).where(LoginSession.user_id == principal.user_id,
                                           LoginSession.revoked_at.is_(None), LoginSession.expires_at > utcnow())
                .order_by(LoginSession.id)
            )
            return [SessionInfo(row.id, row.created_at, row.expires_at, row.id == principal.session_id)
                    for row in rows]

    def revoke_session(self, principal: Principal, session_id: int) -> None:
        with self.db.write() as session:
            owned = session.scalar(select(LoginSession.id).where(LoginSession.id == session_id,
                                                                 LoginSession.user_id == principal.user_id))
            if owned is None:
                raise NotFound(f"no session {session_id}")
            session.execute(update(LoginSession).where(LoginSession.id == session_id,
                                                       LoginSession.revoked_at.is_(None))
                            .values(revoked_at=utcnow()))

    def revoke_all_sessions(self, principal: Principal, keep_current: bool = False) -> int:
        """Sign the user out everywhere (a lost phone, a leaked password); API keys are revoked per device."""
        query = update(LoginSession).where(LoginSession.user_id == principal.user_id,
                                           LoginSession.revoked_at.is_(None), LoginSession.expires_at > utcnow())
        if keep_current and principal.session_id is not None:
            query = query.where(LoginSession.id != principal.session_id)
        with self.db.write() as session:
            return session.execute(query.values(revoked_at=utcnow())).rowcount

    # -- devices and API keys ----------------------------------------------------------------------------

    def create_api_key(self, user_id: int, device_name: str) -> IssuedKey:
        device_name = device_name.strip()
        if not device_name or len(device_name) > 200:
            raise BadRequest("device name must be 1 to 200 characters")
        key = security.new_token(security.API_KEY_PREFIX)
        with self.db.write() as session:
            device = Device(user_id=user_id, name=device_name)
            session.add(device)
            session.flush()
            session.add(ApiKey(user_id=user_id, device_id=device.id, key_hash=security.token_digest(key),
                               prefix=key[:10]))
        return IssuedKey(key, device.id, device.name)

    def list_devices(self, user_id: int) -> list[dict]:
        with self.db.read() as session:
            rows = session.execute(
                select(Device, ApiKey).join(ApiKey, ApiKey.device_id == Device.id)
                .where(Device.user_id == user_id).order_by(Device.id)
            ).all()
        return [
            {"id": device.id, "name": device.name, "created_at": device.created_at, "key_prefix": key.prefix,
             "last_used_at": key.last_used_at, "revoked": key.revoked_at is not None}
            for device, key in rows
        ]

    def revoke_device(self, user_id: int, device_id: int) -> None:
        with self.db.write() as session:
            result = session.execute(
                update(ApiKey).where(ApiKey.device_id == device_id, ApiKey.user_id == user_id,
                                     ApiKey.revoked_at.is_(None)).values(revoked_at=utcnow())
            )
            if result.rowcount == 0 and session.scalar(
                select(func.count()).select_from(Device).where(Device.id == device_id, Device.user_id == user_id)
            ) == 0:
                raise NotFound(f"no device {device_id}")

    # -- authentication ----------------------------------------------------------------------------------

    def authenticate(self, token: str) -> Principal:
        """The principal behind a bearer token (API key or session); Unauthorized for anything else.

        Every request passes here, so it reads plain columns with one query rather than ORM objects.
        """
        is_key = token.startswith(security.API_KEY_PREFIX)
        digest = security.token_digest(token)
        table = ApiKey if is_key else LoginSession
        digest_column = ApiKey.key_hash if is_key else LoginSession.token_hash
        moment_column = ApiKey.last_used_at if is_key else LoginSession.expires_at
        owner_column = ApiKey.device_id if is_key else LoginSession.id
        query = (
            select(table.id, table.revoked_at, moment_column, owner_column,
                   User.id, User.email, User.is_admin, User.disabled, digest_column,
                   User.quota_bytes - User.used_bytes, User.region, User.plan_kinds)
            .join(User, User.id == table.user_id)
            .where(digest_column == digest)
        )
        now = utcnow()
        with self.db.engine.connect() as connection:
            row = connection.execute(query).first()
        # Found by its digest through an index: the lookup's timing can only tell about a SHA-256 of the
        # token, which the attacker cannot steer; the final comparison is constant-time all the same.
        if row is None or row[1] is not None or (not is_key and row[2] <= now) or not security.digests_match(
                row[8], digest):
            raise Unauthorized("invalid, expired or revoked credentials")
        credential_id, _, moment, device_or_session, user_id, email, is_admin, disabled, _, room, region, kinds = row
        if disabled:
            raise Forbidden("this account is disabled")
        standing = Standing(region, kinds)
        if not is_key:
            return Principal(user_id, email, is_admin, session_id=device_or_session, room_bytes=max(0, room),
                             standing=standing)
        if moment is None or now - moment > _LAST_USED_RESOLUTION:
            with self.db.write() as session:
                session.execute(update(ApiKey).where(ApiKey.id == credential_id).values(last_used_at=now))
        return Principal(user_id, email, is_admin, device_id=device_or_session, room_bytes=max(0, room),
                         standing=standing)

    # -- administration and self-service -----------------------------------------------------------------

    def list_users(self, limit: int = 1000, email: str | None = None) -> list[UserRow]:
        query = select(User).order_by(User.email).limit(limit)
        if email is not None:
            query = query.where(User.id == self.user_by_email(email).id)
        with self.db.read() as session:
            users = list(session.scalars(query))
            by_kind = {kind.name: kind.usage_by_owner(session) for kind in self.kinds}
        return [UserRow(user.id, user.email, user.is_admin, user.disabled, user.region, user.quota_bytes,
                        user.used_bytes, user.created_at,
                        {name: owners.get(user.id, Usage()) for name, owners in by_kind.items()}) for user in users]

    def update_user(self, acting: Principal, email: str, quota_bytes: int | None = None,
                    disabled: bool | None = None, region: str | None = None) -> User:
        """An administrator's change to a user: the quota, or disabling (which also ends their sessions)."""
        acting.require_admin()
        user = self.user_by_email(email)
        if quota_bytes is not None and quota_bytes < 0:
            raise BadRequest("quota must not be negative")
        if disabled and user.id == acting.user_id:
            raise BadRequest("administrators cannot disable their own account")
        values = {name: value for name, value in (("quota_bytes", quota_bytes), ("quota_override_bytes", quota_bytes),
                                                  ("disabled", disabled)) if value is not None}
        if region is not None:
            values["region"] = country_code(region)
        with self.db.write() as session:
            if values:
                session.execute(update(User).where(User.id == user.id).values(**values))
            if disabled:
                session.execute(update(LoginSession).where(LoginSession.user_id == user.id,
                                                           LoginSession.revoked_at.is_(None))
                                .values(revoked_at=utcnow()))
        return self.user_by_email(email)

    def change_password(self, principal: Principal, current: str, new: str, address: str) -> None:
        """Replace the caller's password (the current one is checked, with sign-in's throttling) and end
        their other sessions; devices keep their API keys."""
        admission = self.throttle.admit(principal.email, address)
        with self.db.read() as session:
            user = session.get(User, principal.user_id)
        if not security.verify_password(user.password_hash, current):
            raise BadRequest("the current password is wrong")
        if len(new) < MIN_PASSWORD_LENGTH:
            raise BadRequest(f"password too short: at least {MIN_PASSWORD_LENGTH} characters")
        with self.db.write() as session:
            self.throttle.succeeded(session, admission)
            session.execute(update(User).where(User.id == user.id).values(password_hash=security.hash_password(new)))
            others = update(LoginSession).where(LoginSession.user_id == user.id, LoginSession.revoked_at.is_(None))
            if principal.session_id is not None:
                others = others.where(LoginSession.id != principal.session_id)
            session.execute(others.values(revoked_at=utcnow()))

    def totals(self) -> ServerTotals:
        with self.db.read() as session:
            users, used = session.execute(select(func.count(), func.coalesce(func.sum(User.used_bytes), 0))).one()
            usage = {kind.name: kind.usage_by_owner(session) for kind in self.kinds}
        return ServerTotals(users, used, {name: Usage(sum(u.items for u in owners.values()),
                                                      sum(u.bytes for u in owners.values()))
                                          for name, owners in usage.items()})
