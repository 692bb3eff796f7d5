"""The fast path: the statements every write runs, straight on the driver, and on
PostgreSQL sent together in psycopg's pipeline mode (audit.store.postgres_recorder).

SQLAlchemy manages the connection and the transaction; the few statements every write
runs go to the DBAPI cursor, because building and executing Core statements cost more
than the durable commit itself. SQL is written with :name parameters; the database's
recorder renders it for its driver (audit.store.recorder). Driver exceptions leave this
module as AuditError subclasses (audit.store.driver_errors).

A read that may be sent ahead is a `Query`, named by its owner (the read model or the
store module that reads it): `prefetch` queues it, and the same query object's `fetch`
or `fetch_one` with the same parameters later in the transaction takes its rows. An
action's transaction on PostgreSQL thus waits on the server four times:

    unit of work opens          SET LOCAL synchronous_commit queued (psycopg's
                                BEGIN goes ahead of the first statement sent)
    prepare_to_act(X)           policy version, escalation row (and the reads its
                                response shows) queued
    the first of those reads    block 1: BEGIN, SET LOCAL, the reads sent ahead
    the log head, FOR UPDATE    a read of its own: its lock serialises every append,
                                so it is taken this late, once the action is allowed
    record()                    ledger row, content, projection, spans queued
    commit()                    head update queued; block 2, then the checks; COMMIT

On SQLite, or where libpq has no pipeline mode, nothing is queued: each statement runs
when called and each check right after its statement. A reader outside a unit of work
always runs its statement at once.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

from sqlalchemy import Connection

from audit.store.db import recorder_of
from audit.store.driver_errors import reraise
from audit.store.recorder import PIPELINE, Pipeline


class Query:
    """A read of the fast path, named: `prefetch` sends it ahead (on PostgreSQL it travels
    with the next round trip), and `fetch` or `fetch_one` with the same parameters takes
    its rows, or runs it when nothing was sent ahead. `lock` is the row-lock clause a
    PostgreSQL read takes (e.g. "FOR UPDATE"); SQLite's writers are serialised already."""

    __slots__ = ("sql", "lock")

    def __init__(self, sql: str, *, lock: str = ""):
        self.sql = sql
        self.lock = lock

    def __repr__(self) -> str:
        return f"Query({self.sql!r}, lock={self.lock!r})"

    def prefetch(self, conn: Connection, params: Mapping[str, Any]) -> None:
        """Send the read ahead in the connection's unit of work; without a pipeline
        (SQLite) there is no round trip to save, so nothing is done."""
        recorder = recorder_of(conn)
        pipeline = _pipeline(conn, recorder)
        if pipeline is not None:
            sql = recorder.render(self.sql, self.lock)
            pipeline.prefetch(_key(self, params), sql, params)

    def fetch(self, conn: Connection, params: Mapping[str, Any]) -> list[Any]:
        """Every row."""
        cursor = _cursor(conn, self.sql, self.lock, params, self)
        try:
            return list(cursor.fetchall())
        except Exception as exc:
            reraise(exc)

    def fetch_one(self, conn: Connection, params: Mapping[str, Any]) -> Any:
        """The first row, or None."""
        cursor = _cursor(conn, self.sql, self.lock, params, self)
        try:
            return cursor.fetchone()
        except Exception as exc:
            reraise(exc)


def _key(query: Query, params: Mapping[str, Any]) -> tuple[Query, tuple[Any, ...]]:
    return query, tuple(sorted(params.items()))


def _pipeline(conn: Connection, recorder: Any) -> Pipeline | None:
    """The unit of work's pipeline on `conn` (whose recorder is `recorder`): none where
    its database has none (SQLite), without looking."""
    if not recorder.pipelines:
        return None
    found: Pipeline | None = conn.info.get(PIPELINE)
    return found


def _cursor(conn: Connection, text: str, lock: str, params: Mapping[str, Any],
            query: Query | None = None) -> Any:
    recorder = recorder_of(conn)
    sql = recorder.render(text, lock)
    pipeline = _pipeline(conn, recorder)
    if pipeline is not None:
        return pipeline.read(None if query is None else _key(query, params), sql, params)
    cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
    try:
        cursor.execute(sql, params)
    except Exception as exc:
        reraise(exc)
    return cursor


def read_one(conn: Connection, text: str, params: Mapping[str, Any]) -> Any:
    """The first row of a statement run now (with what is queued), or None."""
    cursor = _cursor(conn, text, "", params)
    try:
        return cursor.fetchone()
    except Exception as exc:
        reraise(exc)


def read_all(conn: Connection, text: str, params: Mapping[str, Any]) -> list[Any]:
    """Every row of a statement run now (with what is queued)."""
    cursor = _cursor(conn, text, "", params)
    try:
        return list(cursor.fetchall())
    except Exception as exc:
        reraise(exc)


def write(conn: Connection, text: str, params: Mapping[str, Any]) -> None:
    """Execute a write (queued, inside a unit of work on PostgreSQL)."""
    _write(conn, text, params)


def write_many(conn: Connection, text: str, rows: Iterable[Mapping[str, Any]]) -> None:
    """Execute a write once per parameter set (queued as write() is)."""
    _write(conn, text, list(rows), many=True)


def write_one_row(conn: Connection, text: str, params: Mapping[str, Any],
                  otherwise: Callable[[], None]) -> None:
    """Execute a write that must touch exactly one row; when it touches none or more,
    `otherwise` runs (and raises): at once, or once the queue is sent, before COMMIT."""
    cursor, pipeline = _write(conn, text, params)

    def check() -> None:
        if cursor.rowcount != 1:
            otherwise()

    if pipeline is None:
        check()
    else:
        pipeline.check_later(check)


def _write(conn: Connection, text: str, params: Any, many: bool = False
           ) -> tuple[Any, Pipeline | None]:
    """The write's cursor (queued, when `conn` has a pipeline), and that pipeline."""
    recorder = recorder_of(conn)
    sql = recorder.render(text, "")
    pipeline = _pipeline(conn, recorder)
    if pipeline is not None:
        return pipeline.write(sql, params, many), pipeline
    cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
    try:
        if many:
            cursor.executemany(sql, params)
        else:
            cursor.execute(sql, params)
    except Exception as exc:
        reraise(exc)
    return cursor, None


def reads_waiting(conn: Connection) -> int:
    """How many reads sent ahead in the connection's unit of work are not yet taken."""
    pipeline = _pipeline(conn, recorder_of(conn))
    return 0 if pipeline is None else pipeline.waiting()
