"""Throttling of password sign-ins, per account and per client address, kept in the database.

The counts live in the database, not in process memory, so that every API process behind a load balancer
sees the same ones. The rule, for each of the two subjects (the email as typed, the client's address):

- every attempt is counted as a failure *before* the password is checked, and given back when it was
  right, so that a burst of parallel guesses cannot all slip in before the first is recorded;
- after `limit` failures within `window` (counted from the first of them), the next attempt locks the
  subject for `first_lockout`, and each further lockout in a row lasts twice the one before, up to
  `max_lockout`; a quiet window after a lockout ends starts the doubling over;
- while either subject is locked every attempt is answered 429 with Retry-After, without checking the
  password, so a correct password is refused too and nothing is learned from it.

An email is throttled the same way whether or not such an account exists, so neither the 401s nor the
429s tell an attacker which emails have accounts. A successful sign-in clears its account's record (the
address keeps its other failures: a valid account must not whitewash an address spraying others).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import math
from dataclasses import dataclass

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from phonecloud.accounts.models import LoginThrottleEntry
from phonecloud.core.db import Database, utcnow
from phonecloud.core.errors import PhonecloudError


class LoginThrottled(PhonecloudError):
    status = 429
    code = "too_many_attempts"


@dataclass(frozen=True)
class ThrottlePolicy:
    account_failures: int = 5
    address_failures: int = 20
    window: dt.timedelta = dt.timedelta(minutes=15)
    first_lockout: dt.timedelta = dt.timedelta(minutes=1)
    max_lockout: dt.timedelta = dt.timedelta(hours=1)

    @classmethod
    def from_settings(cls, settings) -> ThrottlePolicy:
        return cls(settings.login_account_failures, settings.login_address_failures,
                   dt.timedelta(seconds=settings.login_failure_window_seconds),
                   dt.timedelta(seconds=settings.login_lockout_seconds),
                   dt.timedelta(seconds=settings.login_lockout_max_seconds))

    def lockout(self, lockouts_before: int) -> dt.timedelta:
        return min(self.first_lockout * 2 ** min(lockouts_before, 32), self.max_lockout)

    @property
    def retention(self) -> dt.timedelta:
        """After this long without an attempt a record no longer matters (its window and lockout are over)."""
        return self.window + self.max_lockout


@dataclass(frozen=True)
class Admission:
    """An attempt let through: the records it was counted in, to give back if the password was right."""

    account_key: str
    address_key: str


def subject_key(scope: str, subject: str) -> str:
    return hashlib.sha256(f"{scope}\0{subject}".encode("utf-8", "surrogatepass")).hexdigest()


class LoginThrottle:
    def __init__(self, db: Database, policy: ThrottlePolicy):
        self.db = db
        self.policy = policy

    def admit(self, email: str, address: str) -> Admission:
        """Count an attempt for the email and the address, or raise LoginThrottled while either is locked."""
        now = utcnow()
        admission = Admission(subject_key("account", email), subject_key("address", address))
        limits = {admission.account_key: self.policy.account_failures,
                  admission.address_key: self.policy.address_failures}
        with self.db.write() as session:  # one transaction: parallel attempts are counted one after another
            self._prune(session, now)  # records are what an attacker makes: keep the table to the live ones
            entries = [self._entry(session, key, now) for key in limits]
            for entry in entries:
                if entry.failures >= limits[entry.key] and not self._locked(entry, now):
                    entry.locked_until = now + self.policy.lockout(entry.lockouts)
                    entry.lockouts += 1
                    entry.failures, entry.window_started_at = 0, None
                entry.updated_at = now
            locked_until = max((entry.locked_until for entry in entries if self._locked(entry, now)), default=None)
            if locked_until is None:
                for entry in entries:
                    entry.failures += 1
                    entry.window_started_at = entry.window_started_at or now
        if locked_until is not None:  # raised after the commit, which keeps a lockout just started
            wait = max(1, math.ceil((locked_until - now).total_seconds()))
            raise LoginThrottled(f"too many failed sign-ins; try again in {wait} seconds", retry_after=wait)
        return admission

    def may_refuse(self, email: str, address: str) -> bool:
        """Whether admit() could refuse this attempt now (either subject locked, or at its limit so that the
        attempt would start a lockout), read without writing: for sign-ins that skip admit() when the
        credential is known to be right."""
        now = utcnow()
        limits = {subject_key("account", email): self.policy.account_failures,
                  subject_key("address", address): self.policy.address_failures}
        with self.db.read() as session:
            entries = session.scalars(select(LoginThrottleEntry).where(LoginThrottleEntry.key.in_(list(limits))))
            return any(self._locked(entry, now) or entry.failures >= limits[entry.key] for entry in entries)

    def succeeded(self, session: Session, admission: Admission) -> None:
        """The password was right: forget the account's failures and give the address its attempt back."""
        session.execute(delete(LoginThrottleEntry).where(LoginThrottleEntry.key == admission.account_key))
        entry = session.get(LoginThrottleEntry, admission.address_key, with_for_update=True)
        if entry is not None and entry.failures > 0:
            entry.failures -= 1

    def _prune(self, session: Session, now: dt.datetime) -> None:
        """Remove the records that no longer matter (an index range that is nearly always empty)."""
        session.execute(delete(LoginThrottleEntry).where(LoginThrottleEntry.updated_at < now - self.policy.retention))

    @staticmethod
    def _locked(entry: LoginThrottleEntry, now: dt.datetime) -> bool:
        return entry.locked_until is not None and entry.locked_until > now

    def _entry(self, session: Session, key: str, now: dt.datetime) -> LoginThrottleEntry:
        """The record for key, locked for this transaction, with what has aged out of it forgotten."""
        entry = session.get(LoginThrottleEntry, key, with_for_update=True)
        if entry is None:
            try:
                with session.begin_nested():
                    entry = LoginThrottleEntry(key=key, failures=0, lockouts=0, updated_at=now)
                    session.add(entry)
            except IntegrityError:  # another process made it first (PostgreSQL; SQLite writers take turns)
                entry = session.get(LoginThrottleEntry, key, with_for_update=True, populate_existing=True)
        window = self.policy.window
        if entry.window_started_at is not None and now - entry.window_started_at >= window:
            entry.failures, entry.window_started_at = 0, None
        if entry.locked_until is not None and now - entry.locked_until >= window:
            entry.lockouts, entry.locked_until = 0, None
        return entry
