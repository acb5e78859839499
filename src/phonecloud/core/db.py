"""Database engine, sessions and migrations. Code above this module never assumes SQLite or PostgreSQL."""

from __future__ import annotations

import datetime as dt
import json
import os
from collections.abc import Iterator, Sequence
import threading
from contextlib import contextmanager, nullcontext
from pathlib import Path

from sqlalchemy import (ColumnElement, DateTime, Engine, String, Table, bindparam, cast, create_engine, event, func,
                        select, text)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker
from sqlalchemy.types import TypeDecorator


_MIGRATION_LOCK = 0x70686F6E65  # any fixed number: the advisory lock key that serialises migrations
_SQLITE_MMAP_BYTES = 1 << 30  # address space only: the pages are the OS cache's, shared by every connection


class Base(DeclarativeBase):
    pass


class UTCDateTime(TypeDecorator):
    """Timestamps stored as UTC and always returned timezone-aware, whatever the database keeps."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given for a UTC column")
        value = value.astimezone(dt.UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def dialect_insert(dialect: str, table: Table):
    """INSERT with the database's own ON CONFLICT clauses (both SQLite and PostgreSQL have them)."""
    return {"sqlite": sqlite.insert, "postgresql": postgresql.insert}[dialect](table)


def upsert(dialect: str, table: Table, rows: dict | list[dict]):
    """INSERT the rows; one whose primary key is already there is updated to the given values instead. One
    statement, so two transactions writing the same row both succeed (the later one wins), on either database."""
    statement = dialect_insert(dialect, table).values(rows)
    key_names = [column.name for column in table.primary_key.columns]
    given = rows if isinstance(rows, dict) else rows[0]
    others = {name: statement.excluded[name] for name in given if name not in key_names}
    if not others:
        return statement.on_conflict_do_nothing(index_elements=key_names)
    return statement.on_conflict_do_update(index_elements=key_names, set_=others)


def one_of(dialect: str, column: ColumnElement[str], values: list[str]) -> ColumnElement[bool]:
    """`column IN values` with the whole list as one JSON text parameter, unpacked by the database: any
    length in one statement, and no parameter per value to compile or convert (psycopg writes a long array
    parameter in pure Python, 17 ms for 10,000 values). As a sub-select, not `= ANY(array)`, for which
    PostgreSQL scans the whole table once the list is long."""
    listed = bindparam(None, json.dumps(values), type_=String)
    if dialect == "postgresql":
        return column.in_(select(func.jsonb_array_elements_text(cast(listed, postgresql.JSONB))))
    return column.in_(select(func.json_each(listed).table_valued("value").c.value))


def _configure_sqlite(engine: Engine) -> None:
    """WAL for concurrent readers, FULL sync so a commit survives power loss, and explicit BEGINs.

    Reads go through a memory map of the file (up to 1 GiB of it): a page already in the OS cache is read
    without a system call and a copy, which makes the 10,000 index look-ups of a pre-upload check a quarter
    faster on a library of a million assets. Writes still go through the journal as before.

    Write transactions start with BEGIN IMMEDIATE (see Database.write) so two writers never deadlock
    upgrading a read lock; reads stay deferred and never block writers.
    """

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record):
        dbapi_connection.isolation_level = None  # let the begin hook below issue BEGIN itself
        cursor = dbapi_connection.cursor()
        for pragma in ("journal_mode=WAL", "synchronous=FULL", "foreign_keys=ON", "busy_timeout=60000",
                       f"mmap_size={_SQLITE_MMAP_BYTES}"):
            cursor.execute(f"PRAGMA {pragma}")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection):
        immediate = connection.get_execution_options().get("write", False)
        connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


def _configure_postgresql(engine: Engine) -> None:
    """SUM() of integers is NUMERIC on PostgreSQL, which psycopg returns as Decimal: return whole values as
    int, as SQLite does, so that no code above this module meets a Decimal (no column is NUMERIC)."""
    from psycopg.types.numeric import NumericLoader

    class WholeNumbersAsInt(NumericLoader):
        def load(self, data):
            value = super().load(data)
            return int(value) if value.is_finite() and value == value.to_integral_value() else value

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record):
        dbapi_connection.adapters.register_loader("numeric", WholeNumbersAsInt)


class Database:
    """The engine plus two session factories: one for reads and one for transactions that write."""

    def __init__(self, url: str):
        self.url = url
        if url.startswith("sqlite"):
            self.engine = create_engine(url, pool_size=20, max_overflow=20, pool_timeout=60)
            _configure_sqlite(self.engine)
        else:
            # READ COMMITTED: what the quota's conditional UPDATE and the queue's SKIP LOCKED claim need, and
            # no serialization failures for concurrent uploads of one user. Pre-ping and recycle ride out
            # a database restart or failover and idle-connection reaping by a proxy.
            self.engine = create_engine(url, pool_size=20, max_overflow=20, pool_timeout=60, pool_pre_ping=True,
                                        pool_recycle=1800, isolation_level="READ COMMITTED",
                                        connect_args={"application_name": "phonecloud"})
            _configure_postgresql(self.engine)
        # SQLite has one writer at a time and makes the others poll with sleeps of up to 100 ms; queueing
        # this process's writers on a lock hands the turn over at once instead.
        self._write_turn = threading.Lock() if url.startswith("sqlite") else nullcontext()
        self._reads = sessionmaker(self.engine, expire_on_commit=False)
        self._writes = sessionmaker(self.engine.execution_options(write=True), expire_on_commit=False)

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @contextmanager
    def read(self) -> Iterator[Session]:
        with self._reads() as session:
            yield session

    @contextmanager
    def write(self) -> Iterator[Session]:
        """A transaction that commits on success and rolls back on any exception."""
        with self._write_turn, self._writes() as session, session.begin():
            yield session

    def migrate(self, kind_migrations: Sequence[Path] = ()) -> None:
        """Bring the schema to the latest revision: the core's history, and each data kind's own revisions
        (a kind keeps them in its folder; they chain onto the same history)."""
        from alembic import command
        from alembic.config import Config

        migrations = Path(__file__).resolve().parent.parent / "migrations"
        config = Config()
        config.set_main_option("script_location", str(migrations))
        config.set_main_option("path_separator", "os")
        config.set_main_option("version_locations", os.pathsep.join(
            str(folder) for folder in (migrations / "versions", *kind_migrations)))
        config.attributes["engine"] = self.engine
        with self._migration_lock():
            command.upgrade(config, "head")

    @contextmanager
    def _migration_lock(self) -> Iterator[None]:
        """On PostgreSQL, processes starting together migrate one after the other (the later ones then
        find nothing to do); the lock is held on a connection of its own and dies with it."""
        if self.dialect != "postgresql":
            yield
            return
        with self.engine.connect() as connection:
            connection.execute(text("SELECT pg_advisory_lock(:key)"), {"key": _MIGRATION_LOCK})
            connection.commit()
            try:
                yield
            finally:
                connection.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": _MIGRATION_LOCK})
                connection.commit()

    def dispose(self) -> None:
        self.engine.dispose()
