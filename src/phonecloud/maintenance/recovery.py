"""Startup recovery: remove what a crash left behind and put every user's used bytes right.

Run by every `phonecloud serve` before it takes requests, and by `phonecloud admin recover`. It is safe
with other server processes running or starting at the same time:

1. Staging data (bytes of uploads never committed) untouched for `staging_max_age` is removed. A live
   upload writes to its staging file all the time, so only an abandoned one gets that old.
2. An original or derivative blob that no row references is removed, once it is `orphan_min_age` old.
   The gallery commits an upload's blob under a key of its own (content hash plus a random suffix)
   *before* the transaction that inserts its asset, so a crash between the two leaves a blob without a
   row; but so does, for a moment, every upload in flight in another process. The rule is therefore:
   an original is orphaned when no asset has exactly its key (an older asset with the same bytes has a
   key of its own, and de-duplication never points a row at another upload's key) AND it was committed
   longer ago than any upload can take from its commit to its insert (a minute at worst, with the
   database's 60-second busy timeout); a derivative is orphaned when its asset no longer exists (the
   pipeline writes derivatives only for an asset it has read, so an unreferenced one of a live asset
   is being written right now) and it is as old. Keys of any other shape are never touched. Removing
   a blob twice is harmless, so several processes may sweep at once.
3. Each user's used bytes are set to what they really hold: the sizes of their assets (trashed ones
   included, as the gallery charges them until they are deleted) plus the bytes reserved by their
   unfinished resumable uploads. This happens in ONE transaction that first locks every user's row
   (SELECT ... FOR UPDATE; SQLite's writer lock does the same). Every change to those two sums happens
   in a transaction that also touches the user's row: a plain upload, a reservation, its release and a
   deletion UPDATE it; a resumable upload's prepaid asset INSERTs a row referencing it, whose foreign-key
   check takes a KEY SHARE lock that FOR UPDATE excludes. So each such change either committed before
   the locks were granted (and is in both sums) or waits until the repair has committed (and then
   applies its change to the repaired value). Processes starting together take turns; the later ones
   find nothing left to repair.

Every repair is logged as one line `recovery <event> key=value ...` at WARNING (it means something had
gone wrong), with the user and the old and new values where there are some.
"""

from __future__ import annotations

import itertools
import logging
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from sqlalchemy import update

from phonecloud.accounts.models import User
from phonecloud.core.blobstore import BlobNotFound, BlobStore
from phonecloud.core.db import Database
from phonecloud.maintenance import blobkeys, repository
from phonecloud.uploads.service import UploadService

log = logging.getLogger("phonecloud.recovery")


@dataclass(frozen=True)
class UsageRepair:
    user_id: int
    email: str
    old: int
    new: int


@dataclass
class RecoveryReport:
    staging_removed: int = 0
    orphans_removed: int = 0
    orphan_bytes: int = 0
    usage_repairs: list[UsageRepair] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def repaired_anything(self) -> bool:
        return bool(self.staging_removed or self.orphans_removed or self.usage_repairs)

    def as_dict(self) -> dict:
        return {"staging_removed": self.staging_removed, "orphans_removed": self.orphans_removed,
                "orphan_bytes": self.orphan_bytes, "seconds": round(self.seconds, 3),
                "usage_repairs": [vars(repair) for repair in self.usage_repairs]}


def _event(name: str, **fields) -> None:
    log.warning("recovery %s %s", name, " ".join(f"{key}={value!r}" if isinstance(value, str) else f"{key}={value}"
                                               for key, value in fields.items()))


def _batches(items: Iterable, size: int) -> Iterator[list]:
    iterator = iter(items)
    while batch := list(itertools.islice(iterator, size)):
        yield batch


class RecoveryService:
    def __init__(self, db: Database, blobs: BlobStore, staging_max_age: float, orphan_min_age: float):
        self.db = db
        self.blobs = blobs
        self.staging_max_age = staging_max_age
        self.orphan_min_age = orphan_min_age

    def run(self) -> RecoveryReport:
        """All three steps, as every start runs them."""
        def every_step(report: RecoveryReport) -> None:
            self._sweep_into(report)
            report.usage_repairs = self.reconcile_usage()

        return self._report(every_step)

    def sweep(self) -> RecoveryReport:
        """Steps 1 and 2 only, as the periodic `maintenance.sweep` job runs them while servers serve: what a
        crashed process left is removed without waiting for a restart (used bytes need no sweep: every change
        to them is transactional)."""
        return self._report(self._sweep_into)

    def _report(self, steps) -> RecoveryReport:
        started = time.monotonic()
        report = RecoveryReport()
        steps(report)
        report.seconds = time.monotonic() - started
        summary = (f"recovery done in {report.seconds:.2f} s: {report.staging_removed} staging pieces and "
                   f"{report.orphans_removed} unreferenced blobs removed, {len(report.usage_repairs)} users' "
                   "used bytes repaired")
        log.log(logging.WARNING if report.repaired_anything else logging.INFO, summary)
        return report

    def _sweep_into(self, report: RecoveryReport) -> None:
        report.staging_removed = self.blobs.remove_stale_staging(self.staging_max_age)
        if report.staging_removed:
            _event("staging_removed", count=report.staging_removed, older_than_s=self.staging_max_age)
        self._remove_orphans(report)

    # -- orphaned blobs ----------------------------------------------------------------------------------

    def _remove_orphans(self, report: RecoveryReport) -> None:
        """One pass over the users' blobs, looked up in the database a batch at a time (constant memory)."""
        parsed = ((key, blobkeys.parse(key)) for key in self.blobs.iterate(blobkeys.USERS_PREFIX))
        for batch in _batches(((key, owner) for key, owner in parsed if owner is not None), repository.BATCH):
            for key, owner in self._unreferenced(batch):
                self._remove_if_old(key, owner, report)

    def _unreferenced(self, batch: list[tuple[str, blobkeys.BlobOwner]]) -> list[tuple[str, blobkeys.BlobOwner]]:
        originals = [(owner.owner_id, owner.sha1) for _, owner in batch if isinstance(owner, blobkeys.OriginalKey)]
        derived = [(owner.owner_id, owner.asset_id) for _, owner in batch if isinstance(owner, blobkeys.DerivedKey)]
        with self.db.read() as session:
            referenced = repository.referenced_originals(session, originals) if originals else set()
            live_assets = repository.existing_assets(session, derived) if derived else set()

        def in_use(key: str, owner: blobkeys.BlobOwner) -> bool:
            if isinstance(owner, blobkeys.OriginalKey):
                return key in referenced
            return (owner.owner_id, owner.asset_id) in live_assets

        return [(key, owner) for key, owner in batch if not in_use(key, owner)]

    def _remove_if_old(self, key: str, owner: blobkeys.BlobOwner, report: RecoveryReport) -> None:
        try:
            age = time.time() - self.blobs.modified_at(key)
            size = self.blobs.size(key)
        except BlobNotFound:  # removed meanwhile (by its own upload, or another process recovering)
            return
        if age < self.orphan_min_age:
            return  # maybe an upload in flight: its row is on its way
        self.blobs.delete(key)
        report.orphans_removed += 1
        report.orphan_bytes += size
        kind = "original" if isinstance(owner, blobkeys.OriginalKey) else "derivative"
        _event("orphan_removed", kind=kind, user_id=owner.owner_id, key=key, bytes=size, age_s=int(age))

    # -- used bytes --------------------------------------------------------------------------------------

    def reconcile_usage(self) -> list[UsageRepair]:
        repairs = []
        with self.db.write() as session:
            users = repository.lock_users(session)
            stored = repository.stored_bytes_by_owner(session)
            reserved = UploadService.reserved_bytes_by_user(session)
            for user_id, email, used in users:
                actual = stored.get(user_id, 0) + reserved.get(user_id, 0)
                if used != actual:
                    session.execute(update(User).where(User.id == user_id).values(used_bytes=actual))
                    repairs.append(UsageRepair(user_id, email, used, actual))
        for repair in repairs:  # after the commit: only what was really written is reported
            _event("used_bytes_repaired", user_id=repair.user_id, email=repair.email, old=repair.old,
                   new=repair.new)
        return repairs
