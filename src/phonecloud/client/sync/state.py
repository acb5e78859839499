"""The client's memory of what it has seen: path, size and mtime → hash and outcome (stdlib sqlite3)."""

from __future__ import annotations

import os
import sqlite3
from dataclasses import dataclass
from pathlib import Path

UPLOADED = "uploaded"
DUPLICATE = "duplicate"
NOT_MEDIA = "not_media"


@dataclass(frozen=True)
class Known:
    size: int
    mtime_ns: int
    outcome: str
    asset_id: str | None
    album: str | None


class SyncState:
    def __init__(self, path: Path):
        path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(path, check_same_thread=False)
        # A lost last write only means a file is hashed and checked again: the server de-duplicates.
        self._db.executescript(
            """
            PRAGMA journal_mode=WAL;
            PRAGMA synchronous=NORMAL;
            CREATE TABLE IF NOT EXISTS files (
                path BLOB PRIMARY KEY, size INTEGER NOT NULL, mtime_ns INTEGER NOT NULL,
                sha1 TEXT, outcome TEXT NOT NULL, asset_id TEXT, album TEXT
            );
            CREATE TABLE IF NOT EXISTS resumable (
                path BLOB PRIMARY KEY, size INTEGER NOT NULL, mtime_ns INTEGER NOT NULL, sha1 TEXT NOT NULL,
                url TEXT NOT NULL
            );
            """
        )

    def load(self) -> dict[str, Known]:
        rows = self._db.execute("SELECT path, size, mtime_ns, outcome, asset_id, album FROM files")
        return {os.fsdecode(path): Known(size, mtime_ns, outcome, asset_id, album)
                for path, size, mtime_ns, outcome, asset_id, album in rows}

    def record(self, rows: list[tuple[str, int, int, str | None, str, str | None, str | None]]) -> None:
        """Rows of (path, size, mtime_ns, sha1, outcome, asset_id, album)."""
        with self._db:
            # Paths are kept as their bytes: a name need not be UTF-8.
            self._db.executemany("INSERT OR REPLACE INTO files VALUES (?, ?, ?, ?, ?, ?, ?)",
                                 [(os.fsencode(path), *rest) for path, *rest in rows])

    def set_album(self, paths: list[str], album: str) -> None:
        with self._db:
            self._db.executemany("UPDATE files SET album = ? WHERE path = ?", [(album, os.fsencode(p)) for p in paths])

    # A resumable upload in progress: its server URL, so that a restarted client continues it.

    def resumable_url(self, path: str, size: int, mtime_ns: int, sha1: str) -> str | None:
        """The upload started for exactly this version of the file, if any."""
        row = self._db.execute("SELECT url FROM resumable WHERE path = ? AND size = ? AND mtime_ns = ? AND sha1 = ?",
                               (os.fsencode(path), size, mtime_ns, sha1)).fetchone()
        return row[0] if row else None

    def remember_resumable(self, path: str, size: int, mtime_ns: int, sha1: str, url: str) -> None:
        with self._db:
            self._db.execute("INSERT OR REPLACE INTO resumable VALUES (?, ?, ?, ?, ?)",
                             (os.fsencode(path), size, mtime_ns, sha1, url))

    def forget_resumable(self, path: str) -> None:
        with self._db:
            self._db.execute("DELETE FROM resumable WHERE path = ?", (os.fsencode(path),))

    def close(self) -> None:
        self._db.close()
