"""The quota ledger: the one place that reads a user's limit and changes what they are charged.

Every change to `users.used_bytes` happens here, inside the transaction of the change that causes it (an
item stored or deleted, a resumable upload's reservation made or released), as one conditional UPDATE: no
number of processes can push a user over their limit. What a user is charged is the sum over the data kinds
of their charged bytes plus their reservations; `repair` puts it right after a crash.

While a plain upload's bytes arrive, `allowance` stops it as soon as it passes the room its owner has left,
counting their other uploads in flight in this process (UploadsInFlight), so no body that will be refused
fills the staging disk. That bound is per process: a user's staging is at most their free quota times the
number of API processes. Resumable uploads reserve their whole length instead.
"""

from __future__ import annotations

import threading
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from phonecloud.accounts.models import User
from phonecloud.core.db import Database
from phonecloud.core.errors import QuotaExceeded

# Declared this small, an upload is received whole before the quota decides (it may be a duplicate).
SMALL_UPLOAD = 1 << 20

ChargedBytes = Callable[[Session], dict[int, int]]  # owner id -> bytes charged, for one source


@dataclass(frozen=True)
class UsageRepair:
    user_id: int
    email: str
    old: int
    new: int


class QuotaLedger:
    def __init__(self, db: Database):
        self.db = db
        self.in_flight = UploadsInFlight()
        self._sources: list[ChargedBytes] = []

    def add_source(self, charged_bytes: ChargedBytes) -> None:
        """Something users are charged for (a data kind's items, resumable uploads' reservations)."""
        self._sources.append(charged_bytes)

    # -- the limit -----------------------------------------------------------------------------------------

    @staticmethod
    def limit(user: User) -> int:
        """The user's quota: what their plans give (or an administrator's override), kept on their row."""
        return user.quota_bytes

    def room(self, user_id: int) -> int:
        """What the user may still store."""
        with self.db.read() as session:
            user = session.get(User, user_id)
        return max(0, self.limit(user) - user.used_bytes)

    # -- changes, in the caller's transaction ---------------------------------------------------------------

    def charge(self, session: Session, user_id: int, size: int) -> None:
        """Charge size bytes, or QuotaExceeded (with the numbers) if they do not fit."""
        charged = session.execute(update(User).where(User.id == user_id, User.used_bytes + size <= User.quota_bytes)
                                  .values(used_bytes=User.used_bytes + size))
        if charged.rowcount != 1:
            raise self.exceeded(session.get(User, user_id), size)

    def release(self, session: Session, user_id: int, size: int) -> None:
        session.execute(update(User).where(User.id == user_id).values(used_bytes=User.used_bytes - size))

    @staticmethod
    def exceeded(user: User, size: int, at_least: bool = False, in_flight: int = 0) -> QuotaExceeded:
        """The one "storage quota exceeded" error. size: the file's, or (at_least) what arrived of it before
        it passed the quota; in_flight: the user's other bytes arriving meanwhile."""
        parallel = {"in_flight_bytes": in_flight} if in_flight else {}
        over = user.used_bytes > user.quota_bytes
        return QuotaExceeded(
            f"storage quota exceeded: {user.used_bytes} of {user.quota_bytes} bytes used, the file has {size}"
            + (" bytes or more" if at_least else "")
            + (f"; {in_flight} more bytes are being uploaded in parallel" if in_flight else "")
            + ("; you keep more than your plan now allows, and nothing of it is deleted" if over else "")
            + "; to add more, free space (delete items and empty the trash), move to a larger plan, or download "
              "everything (Download all) and keep it elsewhere",
            used_bytes=user.used_bytes, quota_bytes=user.quota_bytes, file_size=size, **parallel)

    # -- bytes on their way ---------------------------------------------------------------------------------

    def allowance(self, user_id: int, room: int | None, declared_size: int | None,
                  size_if_duplicate: Callable[[], int | None]) -> Allowance:
        """A plain upload's share of its owner's free quota (room: as known when the request was
        authenticated, None to read it). A small declared file is always taken whole, unless the owner's
        other uploads in flight already fill the room."""
        room = self.room(user_id) if room is None else room
        small = declared_size if declared_size is not None and declared_size <= SMALL_UPLOAD else 0

        def refusal(received: int, in_flight: int) -> QuotaExceeded:
            with self.db.read() as session:
                user = session.get(User, user_id)
            return self.exceeded(user, declared_size or received, at_least=declared_size is None, in_flight=in_flight)

        return Allowance(self.in_flight, user_id, room + small, size_if_duplicate, refusal)

    # -- repair -----------------------------------------------------------------------------------------------

    def repair(self) -> list[UsageRepair]:
        """Set every user's charge to the sum of its sources, in ONE transaction that first locks every
        user's row (in id order, so that processes doing this at once queue instead of deadlocking). Every
        change to a source happens in a transaction that touches the user's row, or inserts a row that
        references it (a foreign-key check PostgreSQL's FOR UPDATE excludes): each either committed before
        the locks were granted or applies its change to the repaired value."""
        repairs = []
        with self.db.write() as session:
            users = list(session.execute(select(User.id, User.email, User.used_bytes).order_by(User.id)
                                         .with_for_update()))
            totals: dict[int, int] = defaultdict(int)
            for source in self._sources:
                for owner_id, size in source(session).items():
                    totals[owner_id] += size
            for user_id, email, used in users:
                if used != totals.get(user_id, 0):
                    session.execute(update(User).where(User.id == user_id).values(used_bytes=totals.get(user_id, 0)))
                    repairs.append(UsageRepair(user_id, email, used, totals.get(user_id, 0)))
        return repairs


class UploadsInFlight:
    """Bytes received so far by this process's unfinished plain uploads, per user."""

    def __init__(self):
        self._lock = threading.Lock()
        self._bytes: dict[int, int] = defaultdict(int)

    def in_flight(self, user_id: int) -> int:
        with self._lock:
            return self._bytes.get(user_id, 0)

    def count(self, user_id: int, count: int, room: int) -> int | None:
        """Counts count more bytes unless the user's total would pass room; then returns the total so far."""
        with self._lock:
            total = self._bytes[user_id] + count
            if total > room:
                return self._bytes[user_id]
            self._bytes[user_id] = total
            return None

    def uncount(self, user_id: int, count: int) -> None:
        with self._lock:
            left = self._bytes[user_id] - count
            if left:
                self._bytes[user_id] = left
            else:
                del self._bytes[user_id]


class Allowance:
    """One upload's share of its owner's free quota (see QuotaLedger.allowance)."""

    def __init__(self, ledger: UploadsInFlight, user_id: int, room: int,
                 size_if_duplicate: Callable[[], int | None], refusal: Callable[[int, int], Exception]):
        self._ledger = ledger
        self._user_id = user_id
        self._room = room
        self._size_if_duplicate = size_if_duplicate
        self._refusal = refusal
        self._duplicate_size: int | None = None
        self._received = 0
        self._counted = 0  # of the received bytes, those counted in flight

    def take(self, count: int) -> None:
        """Count count more bytes of this upload; its refusal once it passes its room."""
        self._received += count
        if self._duplicate_size is None:
            in_flight = self._ledger.count(self._user_id, count, self._room)
            if in_flight is None:
                self._counted += count
                return
            self._duplicate_size = self._size_if_duplicate()
            if self._duplicate_size is None:
                raise self._refusal(self._received, in_flight - self._counted)
            self.release()  # a duplicate costs no quota: its bytes leave the count
        if self._received > self._duplicate_size:
            raise QuotaExceeded(f"storage quota exceeded: the upload is longer than the {self._duplicate_size} "
                                "bytes of the stored file its SHA-1 names; nothing was stored",
                                file_size=self._received)

    def release(self) -> None:
        """The upload ended (stored, refused or cut off): its bytes no longer count as in flight."""
        if self._counted:
            self._ledger.uncount(self._user_id, self._counted)
            self._counted = 0
