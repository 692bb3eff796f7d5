"""Driver exceptions as audit errors: which sqlite3 or psycopg failure means what is each
recorder's (audit.store.sqlite_recorder, audit.store.postgres_recorder), decided by
error code wherever the database gives one; here, how a statement's exception reaches
its caller as one.
"""

from __future__ import annotations

from typing import NoReturn

from sqlalchemy import Engine, event
from sqlalchemy.engine import ExceptionContext

from audit.errors import DatabaseBusy, DatabaseFailed, DatabaseUnavailable, SchemaMissing
from audit.store import postgres_recorder, sqlite_recorder


def translate(exc: BaseException) -> DatabaseFailed | None:
    """The audit error a driver exception means, or None when it is not a driver's."""
    return sqlite_recorder.translate(exc) or postgres_recorder.translate(exc)


def take_discard_mark() -> bool:
    """True (once) when this thread's statement reported a database it cannot use: the
    connection it ran on should be discarded when given back (audit.store.db does)."""
    return sqlite_recorder.take_discard_mark()


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
