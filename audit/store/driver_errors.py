"""Driver exceptions as audit errors: which sqlite3 or psycopg failure means what.

Decided by error code wherever the database gives one: PostgreSQL's SQLSTATE, SQLite's
result code (`sqlite_errorcode`, Python 3.11+). SQLite reports a missing table only as
its generic SQLITE_ERROR, shared with every syntax error, so there, and only there, the
stable prefix of SQLite's own message ("no such table") decides.
"""

from __future__ import annotations

import sqlite3
import threading
from typing import NoReturn

import psycopg
from sqlalchemy import Engine, event
from sqlalchemy.engine import ExceptionContext

from audit.errors import (
    DatabaseBusy,
    DatabaseFailed,
    DatabaseUnavailable,
    ReadOnly,
    RowRefused,
    SchemaMissing,
    StorageFull,
)

# PostgreSQL: an object the schema defines is missing (database, schema, table, column,
# function, type): `baton init` has not run on this database, or not to the end.
_UNDEFINED = frozenset({"3D000", "3F000", "42P01", "42703", "42883", "42704"})
_LOCK_NOT_AVAILABLE = "55P03"
# SQLite: another connection holds the lock past the busy timeout. Extended result codes
# keep the primary code in their low byte.
_BUSY = frozenset({sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED})
# PostgreSQL: the server cannot take statements now. Class 08 (connection exceptions),
# admin/crash shutdown and "starting up" (57P01-57P03), too many connections (53300),
# out of memory (53200), an I/O error of the server (58030).
_PG_UNAVAILABLE = frozenset({"57P01", "57P02", "57P03", "53300", "53200", "58030"})
_PG_DISK_FULL = "53100"
_PG_READ_ONLY = "25006"  # read_only_sql_transaction: a standby, or default read-only
# SQLite: the file cannot be opened or read/written (I/O error, or gone).
_SQLITE_UNAVAILABLE = frozenset({sqlite3.SQLITE_IOERR, sqlite3.SQLITE_CANTOPEN})
# A connection that reported one of these is not to be used again: SQLite opens a file it
# may not write read-only and keeps it so, even once the file is writable again.
_marked = threading.local()


def translate(exc: BaseException) -> DatabaseFailed | None:
    """The audit error a driver exception means, or None when it is not a driver's."""
    if isinstance(exc, psycopg.Error):
        state = exc.sqlstate or ""
        if state == _PG_DISK_FULL:
            return StorageFull(str(exc))
        if state == _PG_READ_ONLY:
            return ReadOnly(str(exc))
        if state.startswith("08") or state in _PG_UNAVAILABLE or (
                not state and isinstance(exc, (psycopg.OperationalError,
                                               psycopg.InterfaceError))):
            # No SQLSTATE at all: the client library's own (connection refused, closed).
            return DatabaseUnavailable(str(exc))
        if state in _UNDEFINED:
            return SchemaMissing(str(exc))
        if state == _LOCK_NOT_AVAILABLE:
            return DatabaseBusy(str(exc))
        if state.startswith("23"):
            return RowRefused(str(exc))
        return DatabaseFailed(str(exc))
    if isinstance(exc, sqlite3.Error):
        code = (getattr(exc, "sqlite_errorcode", None) or 0) & 0xFF
        found = _sqlite_unavailable(code, str(exc))
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
    return None


def _sqlite_unavailable(code: int, message: str) -> DatabaseUnavailable | None:
    if code == sqlite3.SQLITE_FULL:
        return StorageFull(message)
    if code == sqlite3.SQLITE_READONLY:
        return ReadOnly(message)
    if code in _SQLITE_UNAVAILABLE:
        return DatabaseUnavailable(message)
    return None


def take_discard_mark() -> bool:
    """True (once) when this thread's statement reported a database it cannot use: the
    connection it ran on should be discarded when given back (audit.store.db does)."""
    marked = getattr(_marked, "discard", False)
    _marked.discard = False
    return marked


def reraise(exc: Exception) -> NoReturn:
    """Raise the audit error `exc` means (from it), or `exc` itself if not a driver's:
    for statements run on the driver directly, which SQLAlchemy never sees."""
    found = translate(exc)
    if found is None:
        raise exc
    raise found from exc


def _on_error(ctx: ExceptionContext) -> BaseException | None:
    # Statements run through SQLAlchemy keep SQLAlchemy's own exceptions (whoever catches
    # SQLAlchemyError relies on them), except those the doors answer differently: no
    # schema, a database busy past its timeout, and one that cannot be used now (lost,
    # starting, full, read-only). Those last are also marked as a disconnect, so that
    # SQLAlchemy discards the connection (and the pool's others of its age): the next
    # request opens a fresh one, and recovery needs no restart. Pre-pings are the pool's.
    if ctx.is_pre_ping:
        return None
    found = translate(ctx.original_exception)
    if isinstance(found, DatabaseUnavailable):
        ctx.is_disconnect = True
        take_discard_mark()  # SQLAlchemy discards this one itself
        return found
    if isinstance(found, (SchemaMissing, DatabaseBusy)):
        return found
    return None


def listen(engine: Engine) -> None:
    """Translate the engine's driver exceptions that mean a missing schema, a busy
    database or one that cannot be used now (SQLAlchemy's handle_error event)."""
    event.listen(engine, "handle_error", _on_error, retval=True)
