"""Account deletion's part for contacts: every contact (tombstones too), a batch at a time, each batch's
removal and the bytes it frees recorded in its own transaction; then the address books."""

from __future__ import annotations

from phonecloud.accounts.quota import QuotaLedger
from phonecloud.contacts import repository
from phonecloud.core.db import Database
from phonecloud.core.kinds import Purged, Record

BATCH = 1000


def purge_user(db: Database, quota: QuotaLedger, owner_id: int, record: Record) -> None:
    while True:
        with db.write() as session:
            rows, items, size = repository.delete_batch(session, owner_id, BATCH)
            quota.release(session, owner_id, size)
            record(Purged(items=items, rows=rows, bytes=size), session)
        if rows < BATCH:
            break
    with db.write() as session:
        record(Purged(rows=repository.delete_books(session, owner_id)), session)
