"""The SQLite recorder: WAL, durable commits, writers serialised by BEGIN IMMEDIATE and a
writer lock, statements run when called, sqlite3's result codes as audit errors."""

from __future__ import annotations

import errno
import fcntl
import logging
import os
import sqlite3
import threading
import weakref
from typing import Any, NoReturn

from sqlalchemy import Connection, Engine, Select, Table, create_engine, event
from sqlalchemy.dialects import sqlite
from sqlalchemy.engine import make_url
from sqlalchemy.pool import StaticPool

from audit.errors import (
    DatabaseBusy,
    DatabaseFailed,
    DatabaseUnavailable,
    ReadOnly,
    RowRefused,
    SchemaMissing,
    StorageFull,
)
from audit.store import private_files
from audit.store.recorder import Pipeline

log = logging.getLogger(__name__)

# Another connection holds the lock past the busy timeout. Extended result codes keep the
# primary code in their low byte.
_BUSY = frozenset({sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED})
# The file cannot be opened or read/written (I/O error, or gone).
_UNAVAILABLE = frozenset({sqlite3.SQLITE_IOERR, sqlite3.SQLITE_CANTOPEN})
# A connection that reported one of these is not to be used again: SQLite opens a file it
# may not write read-only and keeps it so, even once the file is writable again.
_marked = threading.local()
# Below this much free space a write may fail half-way through a WAL frame: the disk is
# reported full before a write finds it out (a write of Baton's is a few KiB).
MIN_FREE_BYTES = 1 << 20
_SYNC_MODE = "baton_synchronous"  # conn.info: the connection's synchronous setting
# conn.info: the connection's next transactions write (BEGIN IMMEDIATE), set by a unit of
# work from its start to its commit; the connection's execution option of the same name
# does the same until the connection is given back (info is cheaper to set and clear per
# transaction than an execution option).
WRITING = "baton_write"


def translate(exc: BaseException) -> DatabaseFailed | None:
    """The audit error an sqlite3 exception means (by result code), or None. SQLite reports
    a missing table only as its generic SQLITE_ERROR, shared with every syntax error, so
    there, and only there, the stable prefix of its message ("no such table") decides."""
    if not isinstance(exc, sqlite3.Error):
        return None
    code = (getattr(exc, "sqlite_errorcode", None) or 0) & 0xFF
    found = _unavailable(code, str(exc))
    if found is not None:
        _marked.discard = True
        return found
    if code in _BUSY:
        return DatabaseBusy(str(exc))
    if code == sqlite3.SQLITE_ERROR and str(exc).startswith("no such table"):
        return SchemaMissing(str(exc))
    if isinstance(exc, sqlite3.IntegrityError):
        return RowRefused(str(exc))
    return DatabaseFailed(str(exc))


def _unavailable(code: int, message: str) -> DatabaseUnavailable | None:
    if code == sqlite3.SQLITE_FULL:
        return StorageFull(message)
    if code == sqlite3.SQLITE_READONLY:
        return ReadOnly(message)
    if code in _UNAVAILABLE:
        return DatabaseUnavailable(message)
    return None


def take_discard_mark() -> bool:
    """True (once) when this thread's statement reported a database it cannot use."""
    marked = getattr(_marked, "discard", False)
    _marked.discard = False
    return marked


def _reraise(exc: Exception) -> NoReturn:
    found = translate(exc)
    if found is None:
        raise exc
    raise found from exc


def _issue_begin(engine: Engine) -> None:
    """BEGIN (IMMEDIATE for a writer) from the dialect's own begin step, straight to the
    driver: this runs for every transaction, reads included. Not a "begin" listener: any
    connection event makes SQLAlchemy consult the engine's event dispatch at
    every connect, statement, commit and close (about 15 us a transaction); the dialect's
    step also runs inside SQLAlchemy's error handling, so handle_error translates."""
    dialect: Any = engine.dialect
    plain_options = dialect.set_connection_execution_options
    plain_engine_options = dialect.set_engine_execution_options

    def do_begin(dbapi_conn: Any) -> None:
        dbapi_conn.driver_connection.execute(
            "BEGIN IMMEDIATE" if dbapi_conn.info.get(WRITING) else "BEGIN")

    def connection_options(conn: Connection, opts: dict[str, Any]) -> None:
        # The execution option writes the connection's info, which the checkin below
        # clears: the option lasts as long as the checkout, as before.
        if WRITING in opts:
            if opts[WRITING]:
                conn.info[WRITING] = True
            else:
                conn.info.pop(WRITING, None)
        plain_options(conn, opts)

    def engine_options(option_engine: Engine, opts: dict[str, Any]) -> None:
        if WRITING in opts:
            raise ValueError(f"{WRITING} is an option of a connection, not of an engine")
        plain_engine_options(option_engine, opts)

    dialect.do_begin = do_begin
    dialect.set_connection_execution_options = connection_options
    dialect.set_engine_execution_options = engine_options

    @event.listens_for(engine, "checkin")
    def _no_writer_after(_dbapi_conn: Any, record: Any) -> None:
        record.info.pop(WRITING, None)


class WriteLock:
    """Serialises SQLite writers: threads of this process on a lock, processes (gunicorn
    workers, sweepers) on an flock'd file beside the database. Waiters wake the moment
    the writer is done instead of sleeping in SQLite's busy-retry backoff."""

    def __init__(self, database: str | None):
        self._thread = threading.Lock()
        self._path = f"{database}-writer.lock" if database else None

    def acquire(self) -> None:
        """Wait for and take the lock."""
        self._thread.acquire()
        if self._path is None:
            return
        try:
            self._fd = os.open(self._path, os.O_RDWR | os.O_CREAT, 0o600)
            fcntl.flock(self._fd, fcntl.LOCK_EX)
        except OSError as exc:
            self._thread.release()
            raise _lock_unusable(exc) from exc
        except BaseException:
            self._thread.release()
            raise

    def release(self) -> None:
        """Give the lock back."""
        try:
            if self._path is not None:
                fcntl.flock(self._fd, fcntl.LOCK_UN)
                os.close(self._fd)
        finally:
            self._thread.release()


# Each connection's settings, after journal_mode=WAL on a file (bench.lean_floor replays
# Baton's statements with them too). secure_delete: erased personal data must not linger
# in free pages of the file.
CONNECTION_PRAGMAS = ("PRAGMA synchronous=FULL", "PRAGMA busy_timeout=30000",
                      "PRAGMA foreign_keys=ON", "PRAGMA secure_delete=ON")


def _lock_unusable(exc: OSError) -> DatabaseFailed:
    # The lock file beside the database cannot be opened: its directory or the file is
    # not writable (read-only), or the disk has no room for it.
    if exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        return ReadOnly(f"the database's lock file is not writable ({exc.strerror})")
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return StorageFull(f"no room for the database's lock file ({exc.strerror})")
    return DatabaseUnavailable(f"the database's lock file failed ({exc.strerror})")


_WRITE_LOCKS: dict[str, WriteLock] = {}
# The lock of each engine, found without rendering its URL each time.
_ENGINE_LOCKS: weakref.WeakKeyDictionary[Engine, WriteLock] = weakref.WeakKeyDictionary()
_LOCKS_GUARD = threading.Lock()


def memory(database: str | None) -> bool:
    """True for an in-memory database (no file, no WAL, no durability)."""
    return database in (None, "", ":memory:")


class SqliteRecorder:
    """SQLite (see the module's docstring)."""

    name = "sqlite"
    pipelines = False

    def render(self, sql: str, lock: str) -> str:
        """The statement as written: sqlite3 takes :name parameters, and BEGIN IMMEDIATE
        serialises writers, so no row lock is taken."""
        return sql

    def translate(self, exc: BaseException) -> DatabaseFailed | None:
        """See translate()."""
        return translate(exc)

    def make_engine(self, url: str, **kw: Any) -> Engine:
        """WAL, synchronous=FULL, a busy timeout, foreign keys, secure delete; BEGIN
        IMMEDIATE for writers (connections whose info or execution option baton_write is
        set)."""
        parsed = make_url(url)
        in_memory = memory(parsed.database)
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30},
                               poolclass=StaticPool if in_memory else None, **kw)

        @event.listens_for(engine, "connect")
        def _connect(dbapi_conn: Any, _record: Any) -> None:
            # Let SQLAlchemy's "begin" event issue BEGIN itself (pysqlite's is deferred).
            dbapi_conn.isolation_level = None
            cur = dbapi_conn.cursor()
            if not in_memory:
                # Before the WAL exists: SQLite gives -wal and -shm the file's mode.
                private_files.restrict_sqlite(str(parsed.database))
                cur.execute("PRAGMA journal_mode=WAL")
            for pragma in CONNECTION_PRAGMAS:
                cur.execute(pragma)
            cur.close()

        _issue_begin(engine)
        return engine

    def single_read(self, engine: Engine) -> Connection:
        """A plain connection: a read sees its WAL snapshot either way."""
        return engine.connect()

    def writer_lock(self, engine: Engine) -> WriteLock:
        """The writer lock of the database (one per database per process)."""
        found = _ENGINE_LOCKS.get(engine)
        if found is not None:
            return found
        key = str(engine.url)
        database = engine.url.database
        with _LOCKS_GUARD:
            if key not in _WRITE_LOCKS:
                _WRITE_LOCKS[key] = WriteLock(None if memory(database) else
                                              os.path.abspath(str(database)))
            found = _ENGINE_LOCKS[engine] = _WRITE_LOCKS[key]
            return found

    def before_write(self, conn: Connection, relaxed: bool, lent: bool) -> None:
        """Commit without (relaxed) or with a sync of the WAL. Takes effect at the next
        BEGIN; a no-op when already so."""
        if memory(conn.engine.url.database):
            return
        mode = "NORMAL" if relaxed else "FULL"
        if conn.info.get(_SYNC_MODE, "FULL") != mode:
            try:
                conn.connection.driver_connection.execute(  # type: ignore[union-attr]
                    f"PRAGMA synchronous={mode}")
            except Exception as exc:
                _reraise(exc)
            conn.info[_SYNC_MODE] = mode

    def began(self, conn: Connection, relaxed: bool) -> Pipeline | None:
        """No pipeline: each statement runs when called."""
        return None

    def commit_and_flush(self, conn: Connection) -> bool:
        """False: the commit, then the WAL file's fdatasync (flush)."""
        return False

    def flush(self, conn: Connection) -> None:
        """fdatasync of the WAL file."""
        database = conn.engine.url.database
        if memory(database):
            return
        try:
            fd = os.open(f"{os.path.abspath(str(database))}-wal", os.O_RDONLY)
        except FileNotFoundError:
            return  # the last connection checkpointed it into the (synced) database file
        try:
            os.fdatasync(fd)
        finally:
            os.close(fd)

    def lock_rows(self, conn: Connection, query: Select[Any]) -> None:
        """Nothing: the writer lock already serialises writers."""

    def skip_locked(self, query: Select[Any]) -> Select[Any]:
        """`query` as is: one writer at a time."""
        return query

    def serialise(self, conn: Connection, key: int) -> None:
        """Nothing: the writer lock already serialises writers."""

    def upsert(self, table: Table) -> Any:
        """sqlite's INSERT … ON CONFLICT."""
        return sqlite.insert(table)

    def empty_wal(self, conn: Connection) -> bool:
        """Copy the WAL into the database file and truncate it to zero bytes, so that erased
        text (deleted, and zeroed by secure_delete in the file) leaves no copy in the log.
        Call it outside a transaction; waits for readers (busy_timeout)."""
        if memory(conn.engine.url.database):
            return True
        row = conn.connection.driver_connection.execute(  # type: ignore[union-attr]
            "PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
        if row is None or row[0]:
            log.warning("write-ahead log not emptied after an erasure (readers held it); "
                        "the next checkpoint of the log will")
            return False
        return True

    def readiness(self, conn: Connection) -> str:
        """The files must be writable by this process, with space left on their disk."""
        database = conn.engine.url.database
        if memory(database):
            return "ok"
        path = os.path.abspath(str(database))
        for name in (path, f"{path}-wal", f"{path}-shm", f"{path}-writer.lock"):
            if os.path.exists(name) and not os.access(name, os.W_OK, effective_ids=True):
                return "read-only"
        if not os.access(os.path.dirname(path), os.W_OK, effective_ids=True):
            return "read-only"
        disk = os.statvfs(os.path.dirname(path))
        if disk.f_bavail * disk.f_frsize < MIN_FREE_BYTES:
            return "storage-full"
        return "ok"


RECORDER = SqliteRecorder()
