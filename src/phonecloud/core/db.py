"""Database engine, sessions and migrations. Code above this module never assumes SQLite or PostgreSQL."""

from __future__ import annotations

import datetime as dt
import json
import operator
import os
from collections.abc import Iterator, Sequence
import threading
from contextlib import contextmanager, nullcontext
from pathlib import Path

from sqlalchemy import (BigInteger, ColumnElement, Connection, DateTime, Engine, Integer, String, Table, bindparam,
                        cast, create_engine, event, func, select, text)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker
from sqlalchemy.types import TypeDecorator

from phonecloud.core.clock import CLOCK


_MIGRATION_LOCK = 0x70686F6E65  # any fixed number: the advisory lock key that serialises migrations
_SQLITE_MMAP_BYTES = 1 << 30  # address space only: the pages are the OS cache's, shared by every connection


# Row ids of large tables: SQLite's rowid (which an FTS5 index can refer to), PostgreSQL's BIGSERIAL.
BIG_ROW_ID = BigInteger().with_variant(Integer(), "sqlite")


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
    """Now, by the server's one clock (core.clock), which tests can move."""
    return CLOCK.now()


def dialect_insert(dialect: str, table: Table):
    """INSERT with the database's own ON CONFLICT clauses (both SQLite and PostgreSQL have them)."""
    return {"sqlite": sqlite.insert, "postgresql": postgresql.insert}[dialect](table)


def insert_many(connection: Connection, table: Table, rows: list[dict], *,
                skip_taken: Sequence[str] | None = None) -> int:
    """INSERT many rows (dicts with the same keys) by the driver's own executemany, each value converted as
    its column's type converts it; with `skip_taken`, a row whose unique key of these columns is taken is
    left out. Returns how many rows were inserted (-1 where the driver cannot say).

    For bulk work (an import's thousands of rows a second), where Core's executemany spends longer per row
    preparing the parameters than the database spends storing them; no RETURNING, no defaults: every column
    written is in the rows."""
    if not rows:
        return 0
    dialect = connection.dialect
    names = list(rows[0])
    quote = dialect.identifier_preparer.quote
    marker = "?" if dialect.paramstyle == "qmark" else "%s"
    statement = (f"INSERT INTO {dialect.identifier_preparer.format_table(table)} "
                 f"({', '.join(map(quote, names))}) VALUES ({', '.join([marker] * len(names))})")
    if skip_taken:
        statement += f" ON CONFLICT ({', '.join(map(quote, skip_taken))}) DO NOTHING"
    converters = [table.c[name].type.dialect_impl(dialect).bind_processor(dialect) for name in names]
    converted = [(index, convert) for index, convert in enumerate(converters) if convert is not None]
    values = operator.itemgetter(*names)
    parameters = []
    for row in rows:
        row_values = values(row) if len(names) > 1 else (values(row),)
        if converted:
            row_values = list(row_values)
            for index, convert in converted:
                row_values[index] = convert(row_values[index])
            row_values = tuple(row_values)
        parameters.append(row_values)
    return connection.exec_driver_sql(statement, parameters).rowcount


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
    faster on a library of a million assets. Writes still go through the journal as before. Bulk sessions
    (Database.read/write with bulk=True) turn the map off on their connection: every page read through it
    stays in the process's resident memory, so an import would seem to grow by the size of the indexes it
    touches (364 MiB for a 1 GB messages backup), where the page cache holds a bounded 2 MiB.

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
        options = connection.get_execution_options()
        # Bulk work reads through the page cache rather than the mapping, whose pages count in the process's
        # resident memory: an import touching a large index would otherwise seem to grow by its size.
        mmap_bytes = 0 if options.get("bulk", False) else _SQLITE_MMAP_BYTES
        held = connection.connection.info
        if held.get("mmap_bytes", _SQLITE_MMAP_BYTES) != mmap_bytes:
            connection.exec_driver_sql(f"PRAGMA mmap_size={mmap_bytes}")
            held["mmap_bytes"] = mmap_bytes
        connection.exec_driver_sql("BEGIN IMMEDIATE" if options.get("write", False) else "BEGIN")


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
        self._bulk_reads = sessionmaker(self.engine.execution_options(bulk=True), expire_on_commit=False)
        self._bulk_writes = sessionmaker(self.engine.execution_options(write=True, bulk=True), expire_on_commit=False)

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @contextmanager
    def read(self, *, bulk: bool = False) -> Iterator[Session]:
        """A session for reading. `bulk`: for work that goes through much of a large table (an import), in
        bounded memory on SQLite (see _configure_sqlite)."""
        with (self._bulk_reads if bulk else self._reads)() as session:
            yield session

    @contextmanager
    def write(self, *, bulk: bool = False) -> Iterator[Session]:
        """A transaction that commits on success and rolls back on any exception; `bulk` as for read()."""
        with self._write_turn, (self._bulk_writes if bulk else self._writes)() as session, session.begin():
            yield session

    def migrate(self, kind_migrations: Sequence[Path] = ()) -> None:
        """Bring the schema to the latest revisions: the core's history, and each data kind's own revisions
        (a kind keeps them in its folder; they branch off the core's history, so there may be several heads)."""
        from alembic import command

        with self._migration_lock():
            command.upgrade(self._alembic_config(kind_migrations), "heads")

    def downgrade(self, revision: str, kind_migrations: Sequence[Path] = ()) -> None:
        """Take the schema back to an earlier revision, running each later revision's downgrade: what an
        operator does before going back to an older version (and what an upgrade test starts from)."""
        from alembic import command

        with self._migration_lock():
            command.downgrade(self._alembic_config(kind_migrations), revision)

    def _alembic_config(self, kind_migrations: Sequence[Path]):
        from alembic.config import Config

        migrations = Path(__file__).resolve().parent.parent / "migrations"
        config = Config()
        config.set_main_option("script_location", str(migrations))
        config.set_main_option("path_separator", "os")
        config.set_main_option("version_locations", os.pathsep.join(
            str(folder) for folder in (migrations / "versions", *kind_migrations)))
        config.attributes["engine"] = self.engine
        return config

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
