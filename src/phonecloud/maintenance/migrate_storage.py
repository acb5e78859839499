"""Moving an install onto other storage (typically embedded SQLite + local disk → PostgreSQL + S3):
every blob and every row, each blob hashed on the way and read back from the destination before it
counts as copied.

Resumable: the blobs verified so far are listed in a progress file (a small SQLite database beside the
source's data), so a run that stopped for any reason (a crash, Ctrl-C, --max-blobs) carries on where it
was; rows are upserted, so a later run also brings rows changed since. Servers should be stopped during
the final run, or the destination misses what they write meanwhile (docs/deployment.md).

Order: blobs first, rows last, so that a destination row never points at a blob not there yet.
"""

from __future__ import annotations

import hashlib
import sqlite3
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import Integer, Table, func, select, text, tuple_

from phonecloud.core.blobstore import BlobNotFound, BlobStore
from phonecloud.core.db import Database, upsert
from phonecloud.server.models import metadata
from phonecloud.core.kinds import DataKind

ROW_BATCH = 500  # rows per INSERT: within every database's limit on bound parameters


@dataclass
class MigrationReport:
    blobs_copied: int = 0
    bytes_copied: int = 0
    blobs_already_copied: int = 0
    resumable_copied: int = 0
    rows: dict[str, int] = field(default_factory=dict)  # table -> rows in the destination after the run
    problems: list[str] = field(default_factory=list)
    complete: bool = False  # every blob and row is across (problems aside)


class MigrationProgress:
    """The blobs already copied and verified, on local disk: constant memory however many there are."""

    def __init__(self, path: Path):
        path.parent.mkdir(parents=True, exist_ok=True)
        self._connection = sqlite3.connect(path, isolation_level=None)
        self._connection.execute("PRAGMA journal_mode=WAL")
        self._connection.execute("CREATE TABLE IF NOT EXISTS copied (key TEXT PRIMARY KEY, sha1 TEXT, size INTEGER)")

    def has(self, key: str) -> bool:
        return self._connection.execute("SELECT 1 FROM copied WHERE key = ?", (key,)).fetchone() is not None

    def add(self, key: str, sha1: str, size: int) -> None:
        self._connection.execute("INSERT OR REPLACE INTO copied VALUES (?, ?, ?)", (key, sha1, size))

    def forget(self, key: str) -> None:
        self._connection.execute("DELETE FROM copied WHERE key = ?", (key,))

    def note_present(self, keys: Iterator[str]) -> None:
        """What the destination holds now, listed afresh: the final check trusts no earlier run."""
        self._connection.execute("CREATE TEMP TABLE IF NOT EXISTS present (key TEXT PRIMARY KEY)")
        self._connection.execute("BEGIN")
        self._connection.executemany("INSERT OR IGNORE INTO present VALUES (?)", ((key,) for key in keys))
        self._connection.execute("COMMIT")

    def is_present(self, key: str) -> bool:
        return self._connection.execute("SELECT 1 FROM present WHERE key = ?", (key,)).fetchone() is not None

    def close(self) -> None:
        self._connection.close()


def _sha1(chunks: Iterator[bytes]) -> tuple[str, int]:
    digest, size = hashlib.sha1(), 0
    for chunk in chunks:
        digest.update(chunk)
        size += len(chunk)
    return digest.hexdigest(), size


class StorageMigration:
    def __init__(self, source_db: Database, source_blobs: BlobStore, target_db: Database, target_blobs: BlobStore,
                 progress_path: Path, kinds: Sequence[DataKind], migrations: Sequence[Path] = ()):
        """kinds: the data kinds, whose rows name the blobs; migrations: the kinds' schema folders."""
        self.kinds = kinds
        self.migrations = migrations
        self.source_db = source_db
        self.source_blobs = source_blobs
        self.target_db = target_db
        self.target_blobs = target_blobs
        self.progress_path = progress_path

    def run(self, max_blobs: int | None = None, on_blob: Callable[[str, int], None] = lambda key, size: None,
            ) -> MigrationReport:
        """Copy what is not across yet; stops after max_blobs new blobs (then complete is False)."""
        report = MigrationReport()
        self.target_db.migrate(self.migrations)
        progress = MigrationProgress(self.progress_path)
        try:
            if not self._copy_blobs(progress, report, max_blobs, on_blob):
                return report
            self._copy_resumable(report)
            self._copy_rows(report)
            self._verify(progress, report)
        finally:
            progress.close()
        report.complete = True
        return report

    # -- blobs -------------------------------------------------------------------------------------------

    def _copy_blobs(self, progress: MigrationProgress, report: MigrationReport, max_blobs: int | None,
                    on_blob: Callable[[str, int], None]) -> bool:
        for key in self.source_blobs.iterate():
            if progress.has(key):
                report.blobs_already_copied += 1
                continue
            if max_blobs is not None and report.blobs_copied >= max_blobs:
                return False
            sha1, size = self._copy_blob(key, report)
            progress.add(key, sha1, size)
            report.blobs_copied += 1
            report.bytes_copied += size
            on_blob(key, size)
        return True

    def _copy_blob(self, key: str, report: MigrationReport) -> tuple[str, int]:
        """Stream one blob across, hashing it; then hash what the destination holds and compare."""
        digest, size = hashlib.sha1(), 0
        with self.target_blobs.writer() as writer:
            for chunk in self.source_blobs.get(key):
                digest.update(chunk)
                size += len(chunk)
                writer.write(chunk)
            writer.commit(key)
        sha1 = digest.hexdigest()
        named = next((found for kind in self.kinds if (found := kind.content_sha1(key))), None)
        if named is not None and named != sha1:
            # Copied as it is (the destination mirrors the source), but the damage is reported.
            report.problems.append(f"{key}: the source's bytes have SHA-1 {sha1}, not the {named} "
                                   "recorded at upload (damaged before the migration; see `admin scrub`)")
        if _sha1(self.target_blobs.get(key)) != (sha1, size):
            raise OSError(f"{key}: the destination's copy differs from the source; nothing was recorded, "
                          "run again to retry")
        return sha1, size

    def _copy_resumable(self, report: MigrationReport) -> None:
        """The staged bytes of resumable uploads still in progress, so that their clients can resume."""
        for name in self.source_blobs.resumable_names():
            source, target = self.source_blobs.resumable(name), self.target_blobs.resumable(name)
            try:
                expected = _sha1(source.read())
            except BlobNotFound:
                continue
            if target.size() == expected[1] and _sha1(target.read()) == expected:
                continue
            target.truncate(0)
            try:
                for chunk in source.read():
                    target.write_many([chunk])
                target.seal()
            finally:
                target.abort()
            if _sha1(target.read()) != expected:
                raise OSError(f"resumable upload {name}: the destination's copy differs from the source")
            report.resumable_copied += 1

    # -- rows --------------------------------------------------------------------------------------------

    def _copy_rows(self, report: MigrationReport) -> None:
        for table in metadata.sorted_tables:  # parents before children, for the foreign keys
            self._copy_table(table)
        if self.target_db.dialect == "postgresql":
            self._advance_sequences()

    def _copy_table(self, table: Table) -> None:
        """Keyset pages in primary-key order, each upserted in one transaction."""
        key = list(table.primary_key.columns)
        after = None
        while True:
            query = select(table).order_by(*key).limit(ROW_BATCH)
            if after is not None:
                query = query.where(tuple_(*key) > tuple_(*after))
            with self.source_db.read() as session:
                rows = [dict(row) for row in session.execute(query).mappings()]
            if not rows:
                return
            with self.target_db.write() as session:
                session.execute(upsert(self.target_db.dialect, table, rows))
            after = [rows[-1][column.name] for column in key]

    def _advance_sequences(self) -> None:
        """Rows came with their ids: move each id sequence past them, or the next INSERT collides."""
        with self.target_db.write() as session:
            for table in metadata.sorted_tables:
                key = list(table.primary_key.columns)
                if len(key) == 1 and isinstance(key[0].type, Integer):
                    session.execute(text(
                        f"SELECT setval(pg_get_serial_sequence(:table, :column), "
                        f"coalesce(max({key[0].name}), 1), max({key[0].name}) IS NOT NULL) FROM {table.name}"),
                        {"table": table.name, "column": key[0].name})

    # -- verification ------------------------------------------------------------------------------------

    def _verify(self, progress: MigrationProgress, report: MigrationReport) -> None:
        for table in metadata.sorted_tables:
            counted = []
            for db in (self.source_db, self.target_db):
                with db.read() as session:
                    counted.append(session.scalar(select(func.count()).select_from(table)))
            report.rows[table.name] = counted[1]
            if counted[0] != counted[1]:
                report.problems.append(f"table {table.name}: {counted[0]} rows in the source, "
                                       f"{counted[1]} in the destination")
        progress.note_present(self.target_blobs.iterate())
        for key in self._referenced_keys():
            if not progress.has(key):
                report.problems.append(f"blob {key}: referenced by a row but not copied (missing in the source?)")
            elif not progress.is_present(key):
                progress.forget(key)
                report.problems.append(f"blob {key}: copied earlier but gone from the destination since; "
                                       "run again to copy it again")

    def _referenced_keys(self) -> Iterator[str]:
        """Every blob key the destination's rows point at, kind by kind."""
        for kind in self.kinds:
            with self.target_db.read() as session:
                yield from (key for key in kind.referenced_keys(session) if key is not None)
