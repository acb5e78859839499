"""Startup recovery: remove what a crash left behind and put every user's used bytes right.

Run by every `phonecloud serve` before it takes requests, and by `phonecloud admin recover`. It is safe
with other server processes running or starting at the same time:

1. Staging data (bytes of uploads never committed) untouched for `staging_max_age` is removed. A live
   upload writes to its staging file all the time, so only an abandoned one gets that old.
2. A blob under `users/` that a data kind recognises as its own and that none of its rows references is
   removed, once it is `orphan_min_age` old. Kinds commit an upload's blob under a key of its own
   *before* the transaction that inserts its row, so a crash between the two leaves a blob without a
   row; but so does, for a moment, every upload in flight in another process: hence the age, longer
   than any upload takes from its commit to its insert (a minute at worst, with the database's
   60-second busy timeout). Each kind says which of a batch of keys are its orphans (DataKind.orphans;
   the gallery's rules are in gallery/blobs.py). Keys no kind recognises are never touched. Removing a
   blob twice is harmless, so several processes may sweep at once.
3. Each user's used bytes are set to what they really hold, by the quota ledger (accounts/quota.py):
   the bytes every kind charges them plus the bytes reserved by their unfinished resumable uploads, in
   one transaction that locks every user's row first (its docstring says why that is exact).

Every repair is logged as one line `recovery <event> key=value ...` at WARNING (it means something had
gone wrong), with the user and the old and new values where there are some.
"""

from __future__ import annotations

import itertools
import logging
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field


from phonecloud.accounts.quota import QuotaLedger, UsageRepair
from phonecloud.core.blobstore import BlobNotFound, BlobStore
from phonecloud.core.db import Database
from phonecloud.core.kinds import DataKind, Orphan

USERS_PREFIX = "users/"  # every kind's blobs are below users/{id}/
BATCH = 500  # keys looked up at once: within every database's limit on bound parameters

log = logging.getLogger("phonecloud.recovery")


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
    def __init__(self, db: Database, blobs: BlobStore, kinds: Sequence[DataKind], quota: QuotaLedger,
                 staging_max_age: float, orphan_min_age: float):
        self.db = db
        self.blobs = blobs
        self.kinds = kinds
        self.quota = quota
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
        for batch in _batches(self.blobs.iterate(USERS_PREFIX), BATCH):
            with self.db.read() as session:
                orphans = [orphan for kind in self.kinds for orphan in kind.orphans(session, batch)]
            for orphan in orphans:
                self._remove_if_old(orphan, report)

    def _remove_if_old(self, orphan: Orphan, report: RecoveryReport) -> None:
        try:
            age = time.time() - self.blobs.modified_at(orphan.key)
            size = self.blobs.size(orphan.key)
        except BlobNotFound:  # removed meanwhile (by its own upload, or another process recovering)
            return
        if age < self.orphan_min_age:
            return  # maybe an upload in flight: its row is on its way
        self.blobs.delete(orphan.key)
        report.orphans_removed += 1
        report.orphan_bytes += size
        _event("orphan_removed", kind=orphan.what, user_id=orphan.owner_id, key=orphan.key, bytes=size, age_s=int(age))

    # -- used bytes --------------------------------------------------------------------------------------

    def reconcile_usage(self) -> list[UsageRepair]:
        repairs = self.quota.repair()
        for repair in repairs:  # after the commit: only what was really written is reported
            _event("used_bytes_repaired", user_id=repair.user_id, email=repair.email, old=repair.old,
                   new=repair.new)
        return repairs
