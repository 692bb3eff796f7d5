"""Driver exceptions as audit errors: which sqlite3 or psycopg failure means what.

Decided by error code wherever the database gives one: PostgreSQL's SQLSTATE, SQLite's
result code (`sqlite_errorcode`, Python 3.11+). SQLite reports a missing table only as
its generic SQLITE_ERROR, shared with every syntax error, so there, and only there, the
stable prefix of SQLite's own message ("no such table") decides.
"""

from __future__ import annotations

import sqlite3
from typing import NoReturn

import psycopg
from sqlalchemy import Engine, event
from sqlalchemy.engine import ExceptionContext

from audit.errors import DatabaseBusy, DatabaseFailed, RowRefused, SchemaMissing

# PostgreSQL: an object the schema defines is missing (database, schema, table, column,
# function, type): `baton init` has not run on this database, or not to the end.
_UNDEFINED = frozenset({"3D000", "3F000", "42P01", "42703", "42883", "42704"})
_LOCK_NOT_AVAILABLE = "55P03"
# SQLite: another connection holds the lock past the busy timeout. Extended result codes
# keep the primary code in their low byte.
_BUSY = frozenset({sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED})


def translate(exc: BaseException) -> DatabaseFailed | None:
    """The audit error a driver exception means, or None when it is not a driver's."""
    if isinstance(exc, psycopg.Error):
        state = exc.sqlstate or ""
        if state in _UNDEFINED:
            return SchemaMissing(str(exc))
        if state == _LOCK_NOT_AVAILABLE:
            return DatabaseBusy(str(exc))
        if state.startswith("23"):
            return RowRefused(str(exc))
        return DatabaseFailed(str(exc))
    if isinstance(exc, sqlite3.Error):
        code = (getattr(exc, "sqlite_errorcode", None) or 0) & 0xFF
        if code in _BUSY:
            return DatabaseBusy(str(exc))
        if code == sqlite3.SQLITE_ERROR and str(exc).startswith("no such table"):
            return SchemaMissing(str(exc))
        if isinstance(exc, sqlite3.IntegrityError):
            return RowRefused(str(exc))
        return DatabaseFailed(str(exc))
    return None


def reraise(exc: Exception) -> NoReturn:
    """Raise the audit error `exc` means (from it), or `exc` itself if not a driver's:
    for statements run on the driver directly, which SQLAlchemy never sees."""
    found = translate(exc)
    if found is None:
        raise exc
    raise found from exc


def _on_error(ctx: ExceptionContext) -> BaseException | None:
    # Statements run through SQLAlchemy keep SQLAlchemy's own exceptions (its pool, and
    # whoever catches SQLAlchemyError, rely on them), except the two the doors answer
    # differently: no schema, and a database busy past its timeout. Pre-pings and
    # disconnects are SQLAlchemy's to handle.
    if ctx.is_pre_ping or ctx.is_disconnect:
        return None
    found = translate(ctx.original_exception)
    if isinstance(found, (SchemaMissing, DatabaseBusy)):
        return found
    return None


def listen(engine: Engine) -> None:
    """Translate the engine's driver exceptions that mean a missing schema or a busy
    database (SQLAlchemy's handle_error event)."""
    event.listen(engine, "handle_error", _on_error, retval=True)
