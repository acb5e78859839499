"""Quota while bytes are still arriving: a plain upload of unknown or large length is stopped as soon as it
passes what its owner has left, counting the owner's other uploads in flight in this process, so that no
user can fill the staging disk with a body that will be refused at its end.

The charge itself stays one conditional UPDATE in the transaction that records an asset (exact under any
number of processes); this bound is per process, which caps any user's staging at their free quota times
the number of API processes. Resumable uploads reserve their whole length in the database instead.
"""

from __future__ import annotations

import threading
from collections import defaultdict
from collections.abc import Callable

from phonecloud.core.errors import QuotaExceeded


class UploadsInFlight:
    """Bytes received so far by this process's unfinished plain uploads, per user."""

    def __init__(self):
        self._lock = threading.Lock()
        self._bytes: dict[int, int] = defaultdict(int)

    def allowance(self, user_id: int, room: int, size_if_duplicate: Callable[[], int | None],
                  refusal: Callable[[int, int], Exception]) -> Allowance:
        """An upload's share: room is the user's free quota when it started; size_if_duplicate tells, when
        the upload passes its room, the size of the stored file its declared SHA-1 names (a duplicate costs
        no quota, and may be exactly that long), or None; refusal(received, in_flight_elsewhere) is the error
        to stop it with."""
        return Allowance(self, user_id, room, size_if_duplicate, refusal)

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
    """One upload's share of its owner's free quota (see UploadsInFlight.allowance)."""

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
