"""Accounts service: users, devices and API keys, sign-in sessions and the storage counters."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError

from phonecloud.accounts import security
from phonecloud.accounts.models import ApiKey, Device, LoginSession, User
from phonecloud.core.db import Database, utcnow
from phonecloud.core.errors import BadRequest, Conflict, Forbidden, NotFound, Unauthorized

_EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]{1,255}$")
# Writing last_used_at on every request would turn each read into a write; once in a while is enough.
_LAST_USED_RESOLUTION = dt.timedelta(minutes=5)
MIN_PASSWORD_LENGTH = 8


@dataclass(frozen=True)
class Principal:
    """Who is calling: the user, and the device when the call came with a device's API key."""

    user_id: int
    email: str
    is_admin: bool
    device_id: int | None = None
    session_id: int | None = None


@dataclass(frozen=True)
class AccountSummary:
    email: str
    is_admin: bool
    region: str
    used_bytes: int
    quota_bytes: int
    asset_count: int


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


class AccountService:
    def __init__(self, db: Database, default_quota_bytes: int, session_days: int = 30):
        self.db = db
        self.default_quota_bytes = default_quota_bytes
        self.session_lifetime = dt.timedelta(days=session_days)

    # -- users -------------------------------------------------------------------------------------------

    def create_user(self, email: str, password: str, quota_bytes: int | None = None, is_admin: bool = False) -> User:
        email = normalise_email(email)
        if len(password) < MIN_PASSWORD_LENGTH:
            raise BadRequest(f"password too short: at least {MIN_PASSWORD_LENGTH} characters")
        quota = self.default_quota_bytes if quota_bytes is None else quota_bytes
        if quota < 0:
            raise BadRequest("quota must not be negative")
        user = User(email=email, password_hash=security.hash_password(password), quota_bytes=quota,
                    is_admin=is_admin, used_bytes=0, disabled=False, region="default")
        try:
            with self.db.write() as session:
                session.add(user)
        except IntegrityError:
            raise Conflict(f"a user with email {email} already exists") from None
        return user

    def user_by_email(self, email: str) -> User:
        with self.db.read() as session:
            user = session.scalar(select(User).where(User.email == normalise_email(email)))
        if user is None:
            raise NotFound(f"no user with email {email}")
        return user

    def set_quota(self, email: str, quota_bytes: int) -> User:
        user = self.user_by_email(email)
        with self.db.write() as session:
            session.execute(update(User).where(User.id == user.id).values(quota_bytes=quota_bytes))
        return self.user_by_email(email)

    def count_users(self) -> int:
        with self.db.read() as session:
            return session.scalar(select(func.count()).select_from(User)) or 0

    def summary(self, principal: Principal) -> AccountSummary:
        from phonecloud.gallery.models import Asset  # the account page reports on the gallery it owns

        with self.db.read() as session:
            user = session.get(User, principal.user_id)
            count = session.scalar(select(func.count()).select_from(Asset).where(Asset.owner_id == user.id))
        return AccountSummary(user.email, user.is_admin, user.region, user.used_bytes, user.quota_bytes, count or 0)

    # -- sessions ----------------------------------------------------------------------------------------

    def login(self, email: str, password: str) -> tuple[str, dt.datetime]:
        """A new session token for a correct email and password; one message for every failure."""
        with self.db.read() as session:
            user = session.scalar(select(User).where(User.email == email.strip().lower()))
        if not security.verify_password(user.password_hash if user else None, password) or user.disabled:
            raise Unauthorized("wrong email or password")
        token = security.new_token(security.SESSION_PREFIX)
        expires = utcnow() + self.session_lifetime
        with self.db.write() as session:
            session.add(LoginSession(user_id=user.id, token_hash=security.token_digest(token), expires_at=expires))
        return token, expires

    def logout(self, principal: Principal) -> None:
        if principal.session_id is None:
            raise BadRequest("this request was made with an API key, not a session; revoke keys instead")
        with self.db.write() as session:
            session.execute(update(LoginSession).where(LoginSession.id == principal.session_id)
                            .values(revoked_at=utcnow()))

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
        table = ApiKey if is_key else LoginSession
        digest_column = ApiKey.key_hash if is_key else LoginSession.token_hash
        moment_column = ApiKey.last_used_at if is_key else LoginSession.expires_at
        owner_column = ApiKey.device_id if is_key else LoginSession.id
        query = (
            select(table.id, table.revoked_at, moment_column, owner_column,
                   User.id, User.email, User.is_admin, User.disabled)
            .join(User, User.id == table.user_id)
            .where(digest_column == security.token_digest(token))
        )
        now = utcnow()
        with self.db.engine.connect() as connection:
            row = connection.execute(query).first()
        if row is None or row[1] is not None or (not is_key and row[2] <= now):
            raise Unauthorized("invalid, expired or revoked credentials")
        credential_id, _, moment, device_or_session, user_id, email, is_admin, disabled = row
        if disabled:
            raise Forbidden("this account is disabled")
        if not is_key:
            return Principal(user_id, email, is_admin, session_id=device_or_session)
        if moment is None or now - moment > _LAST_USED_RESOLUTION:
            with self.db.write() as session:
                session.execute(update(ApiKey).where(ApiKey.id == credential_id).values(last_used_at=now))
        return Principal(user_id, email, is_admin, device_id=device_or_session)
