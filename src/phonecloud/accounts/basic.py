"""Sign-in for protocols that send an email and a secret with every request (HTTP Basic: CardDAV clients).

The secret is either an API key used as an app password (what a phone should hold: revocable, per device)
or the account's password. Every attempt that is not a known-good credential goes through the sign-in
throttle, so guessing passwords here is as slow as at /auth/login. A password that was right is remembered
for a few minutes (by an HMAC under a key of this process, with the hash it matched), so that a sync of
thousands of requests does not run Argon2 for each; changing the password ends that at once, and so does a
lockout of the account or the address (a locked account refuses even the right password, as everywhere).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
import time

from sqlalchemy import select

from phonecloud.accounts import security
from phonecloud.accounts.models import User
from phonecloud.accounts.service import AccountService, Principal, Standing
from phonecloud.core.errors import Forbidden, Unauthorized

REMEMBER_SECONDS = 300


class BasicSignIn:
    def __init__(self, accounts: AccountService):
        self.accounts = accounts
        self._key = secrets.token_bytes(32)
        self._remembered: dict[bytes, tuple[float, str]] = {}  # HMAC -> (until, the password hash it matched)
        self._lock = threading.Lock()

    def verify(self, email: str, secret: str, address: str) -> Principal:
        """The principal for this email and secret; Unauthorized, Forbidden or LoginThrottled otherwise."""
        email = email.strip().lower()
        if secret.startswith(security.API_KEY_PREFIX):
            return self._by_key(email, secret, address)
        digest = hmac.new(self._key, f"{email}\0{secret}".encode("utf-8", "surrogatepass"), hashlib.sha256).digest()
        with self._lock:
            until, matched_hash = self._remembered.get(digest, (0.0, ""))
        if until > time.monotonic() and not self.accounts.throttle.may_refuse(email, address):
            principal = self._still_valid(email, matched_hash)
            if principal is not None:
                return principal
        self.accounts.login(email, secret, address)  # throttled, and raises for a wrong password
        with self.accounts.db.read() as session:
            user = session.scalar(select(User).where(User.email == email))
        with self._lock:
            self._forget_expired()
            self._remembered[digest] = (time.monotonic() + REMEMBER_SECONDS, user.password_hash)
        return Principal(user.id, user.email, user.is_admin, standing=Standing.of(user))

    def _by_key(self, email: str, key: str, address: str) -> Principal:
        try:
            principal = self.accounts.authenticate(key)
        except Unauthorized:
            self.accounts.throttle.admit(email, address)  # counted as a failed sign-in (raises once locked)
            raise Unauthorized("wrong email or password") from None
        if principal.email != email:
            self.accounts.throttle.admit(email, address)
            raise Unauthorized("wrong email or password")
        return principal

    def _still_valid(self, email: str, matched_hash: str) -> Principal | None:
        with self.accounts.db.read() as session:
            user = session.scalar(select(User).where(User.email == email))
        if user is None or user.password_hash != matched_hash:
            return None
        if user.disabled:
            raise Forbidden("this account is disabled")
        return Principal(user.id, user.email, user.is_admin, standing=Standing.of(user))

    def _forget_expired(self) -> None:
        now = time.monotonic()
        for digest in [digest for digest, (until, _) in self._remembered.items() if until <= now]:
            del self._remembered[digest]
