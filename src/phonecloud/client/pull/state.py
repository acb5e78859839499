"""What a pull mirror holds: path → the asset, SHA-1, size and mtime it was written with, and for a file not
yet known to be on disk the boot of the system that wrote it (stdlib sqlite3); kept inside the mirror so
that the mirror and its memory move together."""

from __future__ import annotations

import os
import sqlite3
from dataclasses import dataclass
from pathlib import Path

STATE_FILE = ".phonecloud-pull.sqlite3"


@dataclass(frozen=True)
class Placed:
    path: str  # relative to the mirror, '/'-separated
    asset_id: str
    sha1: str
    size: int
    mtime_ns: int
    boot: str | None = None  # written without waiting for the disk during this boot; None: durable


class PullState:
    def __init__(self, root: Path):
        self._db = sqlite3.connect(root / STATE_FILE, check_same_thread=False)
        # A lost last write only means a file is hashed again to be recognised: never fetched twice.
        self._db.executescript(
            """
            PRAGMA journal_mode=WAL;
            PRAGMA synchronous=NORMAL;
            CREATE TABLE IF NOT EXISTS files (
                path BLOB PRIMARY KEY, asset_id TEXT NOT NULL, sha1 TEXT NOT NULL, size INTEGER NOT NULL,
                mtime_ns INTEGER NOT NULL
            );
            """
        )
        if "boot" not in {row[1] for row in self._db.execute("PRAGMA table_info(files)")}:  # a mirror's older state
            self._db.execute("ALTER TABLE files ADD COLUMN boot TEXT")

    def load(self) -> dict[str, Placed]:
        rows = self._db.execute("SELECT path, asset_id, sha1, size, mtime_ns, boot FROM files")
        return {os.fsdecode(path): Placed(os.fsdecode(path), *rest) for path, *rest in rows}

    def record(self, placed: list[Placed]) -> None:
        with self._db:
            self._db.executemany(
                "INSERT OR REPLACE INTO files (path, asset_id, sha1, size, mtime_ns, boot) VALUES (?, ?, ?, ?, ?, ?)",
                [(os.fsencode(p.path), p.asset_id, p.sha1, p.size, p.mtime_ns, p.boot) for p in placed])

    def settle(self, paths: list[str]) -> None:
        """These files are on disk now."""
        with self._db:
            self._db.executemany("UPDATE files SET boot = NULL WHERE path = ?", [(os.fsencode(path),) for path in paths])

    def forget(self, paths: list[str]) -> None:
        with self._db:
            self._db.executemany("DELETE FROM files WHERE path = ?", [(os.fsencode(path),) for path in paths])

    def close(self) -> None:
        self._db.close()
