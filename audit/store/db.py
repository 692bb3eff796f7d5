"""Engines: SQLite (WAL, durable commits, BEGIN IMMEDIATE for writers) or PostgreSQL."""

from __future__ import annotations

import errno
import fcntl
import os
import threading
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.pool import StaticPool

from audit.errors import (
    DatabaseFailed,
    DatabaseUnavailable,
    OutcomeUnknown,
    ReadOnly,
    StorageFull,
)
from audit.store import driver_errors, fast_path, private_files

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
        except OSError as exc:
            self._thread.release()
            raise _unusable(exc) from exc
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


def _unusable(exc: OSError) -> DatabaseFailed:
    # The lock file beside the database cannot be opened: its directory or the file is
    # not writable (read-only), or the disk has no room for it.
    if exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        return ReadOnly(f"the database's lock file is not writable ({exc.strerror})")
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return StorageFull(f"no room for the database's lock file ({exc.strerror})")
    return DatabaseUnavailable(f"the database's lock file failed ({exc.strerror})")


def is_sqlite(engine: Engine) -> bool:
    """True when the engine is SQLite."""
    return engine.dialect.name == "sqlite"


def write_lock(engine: Engine) -> WriteLock:
    """The writer lock of an SQLite database (one per database per process)."""
    key = str(engine.url)
    database = engine.url.database
    with _LOCKS_GUARD:
        if key not in _WRITE_LOCKS:
            if database is None or _memory(database):
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


# Durable before acknowledged, with the locks released before the flush ("group commit"
# without a single writer). A unit of work in that mode commits without waiting for the
# disk: on SQLite with synchronous=NORMAL (the WAL frames are written, not synced), on
# PostgreSQL with synchronous_commit off. The writer lock (SQLite) or the log-head row
# lock (PostgreSQL) is released at once, so the next writer's statements overlap this
# one's flush (and PostgreSQL merges flushes that meet: its own group commit). Then
# `flush` makes the commit durable, and only then is the write acknowledged. A reader
# may see such a commit up to one flush (about a millisecond) before it is durable;
# signed checkpoints never: they commit synchronously.
_SYNC_MODE = "baton_synchronous"  # conn.info: the SQLite connection's synchronous setting


def set_synchronous(conn: Connection, relaxed: bool) -> None:
    """SQLite: commit without (relaxed) or with a sync of the WAL. Takes effect at the
    next BEGIN, so call it between transactions; a no-op when already so."""
    if not is_sqlite(conn.engine) or _memory(conn.engine.url.database):
        return
    mode = "NORMAL" if relaxed else "FULL"
    if conn.info.get(_SYNC_MODE, "FULL") != mode:
        try:
            conn.connection.driver_connection.execute(  # type: ignore[union-attr]
                f"PRAGMA synchronous={mode}")
        except Exception as exc:
            driver_errors.reraise(exc)
        conn.info[_SYNC_MODE] = mode


def flush(conn: Connection) -> None:
    """Make every commit made so far on this database durable (see above): fdatasync of
    SQLite's WAL file, or on PostgreSQL a transaction that writes a WAL record and
    commits synchronously, which flushes the WAL up to and past our commit record. Called
    after a commit: a failure is OutcomeUnknown (committed, durability not confirmed)."""
    try:
        _flush(conn)
    except Exception as exc:  # noqa: BLE001 - whatever failed, the commit went first
        raise OutcomeUnknown(f"the commit's flush failed: {type(exc).__name__}") from exc


def _flush(conn: Connection) -> None:
    engine = conn.engine
    if is_sqlite(engine):
        if _memory(engine.url.database):
            return
        try:
            fd = os.open(f"{os.path.abspath(str(engine.url.database))}-wal", os.O_RDONLY)
        except FileNotFoundError:
            return  # the last connection checkpointed it into the (synced) database file
        try:
            os.fdatasync(fd)
        finally:
            os.close(fd)
        return
    driver = conn.connection.driver_connection
    was = driver.autocommit  # type: ignore[union-attr]
    driver.autocommit = True  # type: ignore[union-attr]
    try:
        driver.execute(  # type: ignore[union-attr]
            "SELECT pg_logical_emit_message(true, 'baton', 'flush')")
    except Exception as exc:
        driver_errors.reraise(exc)
    finally:
        driver.autocommit = was  # type: ignore[union-attr]


def _memory(database: str | None) -> bool:
    """True for an in-memory SQLite database (no file, no WAL, no durability)."""
    return database in (None, "", ":memory:")


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
    parsed = make_url(url)
    kw.setdefault("hide_parameters", True)  # errors and logs never quote a row's values
    if parsed.get_backend_name() != "sqlite":
        engine = create_engine(url, pool_pre_ping=True, **kw)
        driver_errors.listen(engine)
        fast_path.listen(engine)
        _discard_unusable(engine)
        return engine
    memory = _memory(parsed.database)
    engine = create_engine(
        url,
        connect_args={"check_same_thread": False, "timeout": 30},
        poolclass=StaticPool if memory else None,
        **kw,
    )
    driver_errors.listen(engine)
    if not memory:
        _discard_unusable(engine)

    @event.listens_for(engine, "connect")
    def _connect(dbapi_conn: Any, _record: Any) -> None:
        # Let SQLAlchemy's "begin" event issue BEGIN itself (pysqlite's own is deferred).
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        if not memory:
            # Before the WAL exists: SQLite gives -wal and -shm the database file's mode.
            private_files.restrict_sqlite(str(parsed.database))
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
        # Straight to the driver: this runs for every transaction, reads included. An
        # exception raised here bypasses SQLAlchemy's handle_error, hence reraise.
        try:
            conn.connection.driver_connection.execute(  # type: ignore[union-attr]
                "BEGIN IMMEDIATE" if writer else "BEGIN")
        except Exception as exc:
            driver_errors.reraise(exc)

    return engine


def create_schema(engine: Engine) -> None:
    """Bring the schema to the newest migration (idempotent)."""
    from audit.store import migrate  # alembic is only needed by whoever migrates

    migrate.upgrade(engine)
