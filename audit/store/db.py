"""Engines, and the recorder of each database (audit.store.recorder): SQLite (WAL, durable
commits, BEGIN IMMEDIATE for writers) or PostgreSQL."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, Engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.pool import StaticPool

from audit.errors import OutcomeUnknown
from audit.store import driver_errors
from audit.store.postgres_recorder import RECORDER as POSTGRES
from audit.store.recorder import Recorder
from audit.store.sqlite_recorder import RECORDER as SQLITE
from audit.store.sqlite_recorder import WRITING as WRITING
from audit.store.sqlite_recorder import WriteLock

_RECORDERS: dict[str, Recorder] = {SQLITE.name: SQLITE, POSTGRES.name: POSTGRES}


def recorder_of(bind: Engine | Connection) -> Recorder:
    """The recorder of an engine's or connection's database."""
    return _RECORDERS[bind.dialect.name]


def is_sqlite(engine: Engine) -> bool:
    """True when the engine is SQLite."""
    return recorder_of(engine) is SQLITE


def write_lock(engine: Engine) -> WriteLock:
    """The writer lock of an SQLite database (one per database per process)."""
    return SQLITE.writer_lock(engine)


def single_read(engine: Engine) -> Connection:
    """A connection for one read statement: autocommit on PostgreSQL, which saves the
    BEGIN and ROLLBACK round trips (SQLite reads from its WAL snapshot either way)."""
    return recorder_of(engine).single_read(engine)


# Durable before acknowledged, with the locks released before the flush ("group commit"
# without a single writer). A unit of work in that mode commits without waiting for the
# disk: on SQLite with synchronous=NORMAL (the WAL frames are written, not synced), on
# PostgreSQL with synchronous_commit off. The writer lock (SQLite) or the log-head row
# lock (PostgreSQL) is released at once, so the next writer's statements overlap this
# one's flush (and PostgreSQL merges flushes that meet: its own group commit). Then
# `flush` makes the commit durable, and only then is the write acknowledged. A reader
# may see such a commit up to one flush (about a millisecond) before it is durable;
# signed checkpoints never: they commit synchronously.


def flush(conn: Connection) -> None:
    """Make every commit made so far on this database durable (see above): fdatasync of
    SQLite's WAL file, or on PostgreSQL a transaction that writes a WAL record and
    commits synchronously, which flushes the WAL up to and past our commit record. Called
    after a commit: a failure is OutcomeUnknown (committed, durability not confirmed)."""
    try:
        recorder_of(conn).flush(conn)
    except Exception as exc:  # noqa: BLE001 - whatever failed, the commit went first
        raise OutcomeUnknown(f"the commit's flush failed: {type(exc).__name__}") from exc


def _discard_unusable(engine: Engine) -> None:
    # A statement run on the driver directly (the fast path) that reported a database it
    # cannot use (read-only, I/O error, full) marks its thread; the connection given back
    # next is flagged, and refused at its next checkout, so the pool opens a fresh one.
    # (Statements run through SQLAlchemy are discarded by SQLAlchemy: driver_errors.)
    @event.listens_for(engine, "checkin")
    def _checkin(_dbapi_conn: Any, record: Any) -> None:
        if driver_errors.take_discard_mark():
            record.info["baton_discard"] = True

    @event.listens_for(engine, "checkout")
    def _checkout(_dbapi_conn: Any, record: Any, _proxy: Any) -> None:
        if record.info.pop("baton_discard", False):
            raise DisconnectionError("reported an unusable database: reconnecting")


def make_engine(url: str, **kw: Any) -> Engine:
    """An engine for `url`, with Baton's connection settings."""
    kw.setdefault("hide_parameters", True)  # errors and logs never quote a row's values
    engine = _RECORDERS[make_url(url).get_backend_name()].make_engine(url, **kw)
    driver_errors.listen(engine)
    if not isinstance(engine.pool, StaticPool):  # its one connection is the database
        _discard_unusable(engine)
    return engine


def create_schema(engine: Engine) -> None:
    """Bring the schema to the newest migration (idempotent)."""
    from audit.store import migrate  # alembic is only needed by whoever migrates

    migrate.upgrade(engine)
