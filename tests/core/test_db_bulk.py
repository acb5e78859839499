"""Bulk work on either database: insert_many converts each value as its column's type does (a UUID, an
aware time, text with a NUL), leaves out the rows whose unique key is taken and says how many it inserted;
a bulk session on SQLite reads without the memory map, and the ordinary sessions after it have it again."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest
from sqlalchemy import Boolean, Column, MetaData, Table, Uuid, select

from phonecloud.core.db import Database, UTCDateTime, insert_many
from phonecloud.messages.models import KeptText

_METADATA = MetaData()
ROWS = Table("bulk_rows", _METADATA, Column("id", Uuid, primary_key=True), Column("name", KeptText, unique=True),
             Column("at", UTCDateTime), Column("flag", Boolean))


def _database(url: str):
    database = Database(url)
    _METADATA.create_all(database.engine)
    yield database
    database.engine.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def db(request, tmp_path) -> Database:
    yield from _database(f"sqlite:///{tmp_path / 'bulk.sqlite3'}" if request.param == "sqlite"
                         else request.getfixturevalue("postgres_url"))


@pytest.fixture
def sqlite_db(tmp_path) -> Database:
    yield from _database(f"sqlite:///{tmp_path / 'bulk.sqlite3'}")


def _row(name: str) -> dict:
    return {"id": uuid.uuid4(), "name": name, "at": dt.datetime(2022, 10, 14, 12, 34, 56, 789000, dt.UTC),
            "flag": name.startswith("a")}


def test_insert_many_converts_as_the_columns_do_and_counts_what_it_inserted(db):
    first = [_row("anna"), _row("ben \x00 with a NUL"), _row("\ufdd0 starts with the escape marker")]
    with db.write() as session:
        assert insert_many(session.connection(), ROWS, first, skip_taken=("name",)) == 3
    again = [_row("anna"), _row("carl")]  # anna's name is taken: left out
    with db.write() as session:
        assert insert_many(session.connection(), ROWS, again, skip_taken=("name",)) == 1
        assert insert_many(session.connection(), ROWS, []) == 0
    with db.read() as session:
        stored = {row.name: row for row in session.execute(select(ROWS))}
    assert set(stored) == {"anna", "ben \x00 with a NUL", "\ufdd0 starts with the escape marker", "carl"}
    for row in (*first, again[1]):
        assert (stored[row["name"]].id, stored[row["name"]].at, stored[row["name"]].flag) == (
            row["id"], row["at"], row["flag"])


def test_a_bulk_session_on_sqlite_reads_without_the_memory_map(sqlite_db):
    db = sqlite_db

    def mmap_size(session) -> int:
        return session.connection().exec_driver_sql("PRAGMA mmap_size").scalar()

    with db.read() as session:
        mapped = mmap_size(session)
    assert mapped > 0
    with db.read(bulk=True) as session:
        assert mmap_size(session) == 0
    with db.write(bulk=True) as session:
        assert mmap_size(session) == 0
    with db.read() as session, db.write() as other:
        assert mmap_size(session) == mapped and mmap_size(other) == mapped
