"""Engines: SQLite (WAL, durable commits, BEGIN IMMEDIATE for writers) or PostgreSQL."""

from __future__ import annotations

import fcntl
import os
import threading
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.pool import StaticPool

_WRITE_LOCKS: dict[str, WriteLock] = {}
_LOCKS_GUARD = threading.Lock()


class WriteLock:
    """Serialises SQLite writers: threads of this process on a lock, processes (gunicorn
    workers, sweepers) on an flock'd file beside the database. Waiters wake the moment
    the writer is done instead of sleeping in SQLite's busy-retry backoff."""

    def __init__(self, database: str | None):
        self._thread = threading.Lock()
        self._path = f"{database}-writer.lock" if database else None

    def acquire(self) -> None:
        self._thread.acquire()
        if self._path is None:
            return
        try:
            self._fd = os.open(self._path, os.O_RDWR | os.O_CREAT, 0o600)
            fcntl.flock(self._fd, fcntl.LOCK_EX)
        except BaseException:
            self._thread.release()
            raise

    def release(self) -> None:
        try:
            if self._path is not None:
                fcntl.flock(self._fd, fcntl.LOCK_UN)
                os.close(self._fd)
        finally:
            self._thread.release()


def is_sqlite(engine: Engine) -> bool:
    """True when the engine is SQLite."""
    return engine.dialect.name == "sqlite"


def write_lock(engine: Engine) -> WriteLock:
    """The writer lock of an SQLite database (one per database per process)."""
    key = str(engine.url)
    database = engine.url.database
    with _LOCKS_GUARD:
        if key not in _WRITE_LOCKS:
            if database is None or database in ("", ":memory:"):
                _WRITE_LOCKS[key] = WriteLock(None)
            else:
                _WRITE_LOCKS[key] = WriteLock(os.path.abspath(database))
        return _WRITE_LOCKS[key]


def single_read(engine: Engine) -> Connection:
    """A connection for one read statement: autocommit on PostgreSQL, which saves the
    BEGIN and ROLLBACK round trips (SQLite reads from its WAL snapshot either way)."""
    conn = engine.connect()
    if not is_sqlite(engine):
        conn.execution_options(isolation_level="AUTOCOMMIT")
    return conn


# conn.info key: how to end a unit of work's pipeline (audit.uow) before SQLAlchemy runs
# a statement of its own on that connection.
END_PIPELINE = "baton_end_pipeline"


def make_engine(url: str, **kw: Any) -> Engine:
    """An engine for `url`, with Baton's connection settings."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        engine = create_engine(url, pool_pre_ping=True, **kw)

        @event.listens_for(engine, "before_cursor_execute")
        def _end_pipeline(conn: Connection, *_args: Any) -> None:
            end = conn.info.get(END_PIPELINE)
            if end is not None:
                end()

        return engine
    memory = parsed.database in (None, "", ":memory:")
    engine = create_engine(
        url,
        connect_args={"check_same_thread": False, "timeout": 30},
        poolclass=StaticPool if memory else None,
        **kw,
    )

    @event.listens_for(engine, "connect")
    def _connect(dbapi_conn: Any, _record: Any) -> None:
        # Let SQLAlchemy's "begin" event issue BEGIN itself (pysqlite's own is deferred).
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        if not memory:
            cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=FULL")
        cur.execute("PRAGMA busy_timeout=30000")
        cur.execute("PRAGMA foreign_keys=ON")
        # Erased personal data must not linger in free pages of the file.
        cur.execute("PRAGMA secure_delete=ON")
        cur.close()

    @event.listens_for(engine, "begin")
    def _begin(conn: Connection) -> None:
        writer = conn.get_execution_options().get("baton_write", False)
        # Straight to the driver: this runs for every transaction, reads included.
        conn.connection.driver_connection.execute(  # type: ignore[union-attr]
            "BEGIN IMMEDIATE" if writer else "BEGIN")

    return engine


def create_schema(engine: Engine) -> None:
    """Bring the schema to the newest migration (idempotent)."""
    from audit import migrate  # alembic is only needed by whoever migrates

    migrate.upgrade(engine)
