"""The per-item record of a migration, in the client's folder (stdlib sqlite3): for each asset of the
library, what the target answered (its reference there), how its arrival was verified, or why it failed;
and for each album, the target's album. One record per library and target, so a second run knows what is
done.

Rows are written after the target verified the item, durably (synchronous=FULL): a run killed before the
row was written finds the item on the target (by checksum or by path and size) and records it then, never
sending it twice. A target that verifies items batch by batch (rclone) writes a batch's rows together, in
one transaction: a durable write costs a wait for the disk, which row by row was most of a run's time."""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import sqlite3
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from phonecloud.client.config import Connection

VERIFIED = "verified"
ALREADY_THERE = "already_there"
FAILED = "failed"
SENDING = "sending"  # handed to a target that writes in place (rclone): a killed run may leave it cut short


@dataclass(frozen=True)
class Row:
    asset_id: str
    sha1: str
    state: str
    target_ref: str | None
    verified_by: str | None
    reason: str | None
    settled: bool  # the item's metadata (favourite, description, trash…) is on the target

    @property
    def arrived(self) -> bool:
        return self.state in (VERIFIED, ALREADY_THERE)


def record_path(folder: Path, source: Connection, target: str) -> Path:
    """The record of moving the library of `source` (a server and key) to `target` (its identity)."""
    digest = hashlib.sha256(f"{source.server}\n{source.key}\n{target}".encode()).hexdigest()[:16]
    return folder / "migrations" / f"migration-{digest}.sqlite3"


# What a record keeps of an item: (asset_id, sha1, size, state, target_ref, verified_by, reason)
Outcome = tuple[str, str, int, str, str | None, str | None, str | None]


class Outcomes:
    """What a record is told of each item; a record keeps outcomes with `_put_all` (a file here, the server's
    database for a move started from the web app), each at once or, inside `together`, all at its end."""

    def __init__(self):
        self._held = threading.local()  # this thread's outcomes told inside `together`, not yet kept

    @contextlib.contextmanager
    def together(self) -> Iterator[None]:
        """What this thread tells of items meanwhile, kept in one write as the block ends (even by an error)."""
        held = self._held.outcomes = []
        try:
            yield
        finally:
            self._held.outcomes = None
            if held:
                self._put_all(held)

    def arrived(self, asset_id: str, sha1: str, size: int, state: str, target_ref: str, verified_by: str) -> None:
        self._put(asset_id, sha1, size, state, target_ref, verified_by, None)

    def failed(self, asset_id: str, sha1: str, size: int, reason: str) -> None:
        self._put(asset_id, sha1, size, FAILED, None, None, reason)

    def sending(self, asset_id: str, sha1: str, size: int, target_ref: str) -> None:
        self._put(asset_id, sha1, size, SENDING, target_ref, None, None)

    def _put(self, asset_id: str, sha1: str, size: int, state: str, target_ref: str | None,
             verified_by: str | None, reason: str | None) -> None:
        outcome = (asset_id, sha1, size, state, target_ref, verified_by, reason)
        held = getattr(self._held, "outcomes", None)
        if held is None:
            self._put_all([outcome])
        else:
            held.append(outcome)

    def _put_all(self, outcomes: list[Outcome]) -> None:
        """Keep these outcomes, durably, in one transaction."""
        raise NotImplementedError


class MigrationRecord(Outcomes):
    def __init__(self, path: Path):
        super().__init__()
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._lock = threading.Lock()  # the targets' transfer threads record as items arrive
        self._db.executescript(
            """
            PRAGMA journal_mode=WAL;
            PRAGMA synchronous=FULL;
            CREATE TABLE IF NOT EXISTS items (
                asset_id TEXT PRIMARY KEY, sha1 TEXT NOT NULL, size INTEGER NOT NULL, state TEXT NOT NULL,
                target_ref TEXT, verified_by TEXT, reason TEXT, settled INTEGER NOT NULL DEFAULT 0,
                at TEXT NOT NULL
            );
            CREATE TABLE IF NOT EXISTS albums (album_id TEXT PRIMARY KEY, target_ref TEXT NOT NULL);
            """
        )

    def close(self) -> None:
        self._db.close()

    def load(self) -> dict[str, Row]:
        with self._lock:
            rows = self._db.execute("SELECT asset_id, sha1, state, target_ref, verified_by, reason, settled FROM items")
            return {row[0]: Row(*row[:6], bool(row[6])) for row in rows}

    def _put_all(self, outcomes: list[Outcome]) -> None:
        at = dt.datetime.now(dt.UTC).isoformat()
        with self._lock:
            self._db.execute("BEGIN")
            try:
                self._db.executemany(
                    "INSERT OR REPLACE INTO items (asset_id, sha1, size, state, target_ref, verified_by, reason,"
                    " settled, at) VALUES (?, ?, ?, ?, ?, ?, ?, 0, ?)", [(*outcome, at) for outcome in outcomes])
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    def settle(self, asset_ids: list[str]) -> None:
        with self._lock:
            self._db.executemany("UPDATE items SET settled = 1 WHERE asset_id = ?",
                                 [(asset_id,) for asset_id in asset_ids])

    def albums(self) -> dict[str, str]:
        with self._lock:
            return dict(self._db.execute("SELECT album_id, target_ref FROM albums"))

    def album(self, album_id: str, target_ref: str) -> None:
        with self._lock:
            self._db.execute("INSERT OR REPLACE INTO albums (album_id, target_ref) VALUES (?, ?)",
                             (album_id, target_ref))
