"""The fast path: the statements every write runs, straight on the driver, and on
PostgreSQL sent together in psycopg's pipeline mode.

SQLAlchemy manages the connection and the transaction; the few statements every write
runs go to the DBAPI cursor, because building and executing Core statements cost more
than the durable commit itself. SQL is written with :name parameters (sqlite3's named
style) and rewritten once to %(name)s for psycopg. Driver exceptions leave this module as
AuditError subclasses (audit.store.driver_errors).

Inside a unit of work on PostgreSQL, writes and reads sent ahead are queued (`Pipeline`)
and go to the server together, in one pipeline block (`Pipeline.send`), when something
needs an answer: a read of rows not sent ahead (it goes in the same block), an SQLAlchemy
statement (the engine's before_cursor_execute listener sends the queue first), or the
commit. The deferred row-count checks run right after each block, so every write is
checked before COMMIT. An action's transaction thus waits on PostgreSQL four times:

    unit of work opens          SET LOCAL synchronous_commit queued (psycopg's
                                BEGIN goes ahead of the first statement sent)
    prepare_to_act(X)           policy version, escalation row, opening texts queued
    the first of those reads    block 1: BEGIN, SET LOCAL, the three reads
    the log head, FOR UPDATE    a read of its own: its lock serialises every append,
                                so it is taken this late, once the action is allowed
    record()                    ledger row, content, projection, spans queued
    commit()                    head update queued; block 2, then the checks; COMMIT

On SQLite, or where libpq has no pipeline mode, nothing is queued: each statement runs
when called and each check right after its statement. A reader outside a unit of work
always runs its statement at once.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import psycopg
from sqlalchemy import Connection, Engine, event

from audit.store.driver_errors import reraise

_NAMED = re.compile(r":(\w+)")
_PG: dict[str, str] = {}
# conn.info key: the Pipeline of the unit of work whose transaction the connection runs.
_PIPELINE = "baton_pipeline"


def _sql(postgres: bool, text: str) -> str:
    if not postgres:
        return text
    found = _PG.get(text)
    if found is None:
        found = _PG.setdefault(text, _NAMED.sub(r"%(\1)s", text))
    return found


@dataclass(slots=True)
class _Statement:
    cursor: Any
    sql: str
    params: Any
    many: bool = False

    def execute(self) -> None:
        if self.many:
            self.cursor.executemany(self.sql, self.params)
        else:
            self.cursor.execute(self.sql, self.params)


class Pipeline:
    """What a unit of work's transaction has queued for PostgreSQL: statements, the reads
    sent ahead among them, and the row counts to check once they have run."""

    def __init__(self, conn: Connection):
        self._conn = conn
        self._driver: Any = conn.connection.driver_connection
        self._queued: list[_Statement] = []
        self._ahead: dict[tuple[str, tuple[Any, ...]], Any] = {}
        self._checks: list[Callable[[], None]] = []

    @classmethod
    def begin(cls, conn: Connection) -> Pipeline | None:
        """Queue the fast path's statements on `conn` until its transaction commits or
        rolls back; None (nothing is queued) on SQLite or a libpq without pipeline mode."""
        if conn.dialect.name != "postgresql" or not psycopg.Pipeline.is_supported():
            return None
        pipeline = conn.info[_PIPELINE] = cls(conn)
        return pipeline

    def send(self, also: _Statement | None = None) -> None:
        """Send every queued statement (and `also`) in one round trip, then run the
        row-count checks of the writes among them."""
        queued, self._queued = self._queued, []
        if also is not None:
            queued.append(also)
        if queued:
            try:
                with self._driver.pipeline():  # the only block psycopg's pipeline is open in
                    for statement in queued:
                        statement.execute()
            except Exception as exc:
                reraise(exc)
        checks, self._checks = self._checks, []
        for check in checks:
            check()

    def finish(self) -> None:
        """Send what is still queued and check it, before COMMIT; the connection's
        statements run at once again afterwards, and unread reads sent ahead are dropped."""
        try:
            self.send()
        finally:
            self._detach()

    def discard(self) -> None:
        """Drop what is queued, the checks and the reads sent ahead (a rollback)."""
        self._queued, self._checks = [], []
        self._detach()

    def _detach(self) -> None:
        self._ahead.clear()
        if self._conn.invalidated:  # the database dropped it (issue 20): no info to clear
            return
        if self._conn.info.get(_PIPELINE) is self:
            del self._conn.info[_PIPELINE]

    def _statement(self, text: str, params: Any, many: bool = False) -> _Statement:
        return _Statement(self._driver.cursor(), _sql(True, text), params, many)

    def _write(self, statement: _Statement) -> None:
        self._queued.append(statement)

    def _prefetch(self, text: str, params: Mapping[str, Any]) -> None:
        statement = self._statement(text, params)
        self._queued.append(statement)
        self._ahead[_key(text, params)] = statement.cursor

    def _check_later(self, check: Callable[[], None]) -> None:
        self._checks.append(check)

    def _read(self, text: str, params: Mapping[str, Any]) -> Any:
        cursor = self._ahead.pop(_key(text, params), None)
        if cursor is not None:
            if any(s.cursor is cursor for s in self._queued):
                self.send()
            return cursor
        statement = self._statement(text, params)
        if self._queued:
            self.send(also=statement)  # the read travels with what was queued before it
        else:
            try:
                statement.execute()
            except Exception as exc:
                reraise(exc)
        return statement.cursor


def _key(text: str, params: Mapping[str, Any]) -> tuple[str, tuple[Any, ...]]:
    return text, tuple(sorted(params.items()))


def _pipeline(conn: Connection) -> Pipeline | None:
    found: Pipeline | None = conn.info.get(_PIPELINE)
    return found


def _cursor(conn: Connection, text: str, params: Mapping[str, Any]) -> Any:
    pipeline = _pipeline(conn)
    if pipeline is not None:
        return pipeline._read(text, params)
    driver: Any = conn.connection.driver_connection
    cursor = driver.cursor()
    try:
        cursor.execute(_sql(conn.dialect.name == "postgresql", text), params)
    except Exception as exc:
        reraise(exc)
    return cursor


def read_one(conn: Connection, text: str, params: Mapping[str, Any]) -> Any:
    """The first row, or None."""
    cursor = _cursor(conn, text, params)
    try:
        return cursor.fetchone()
    except Exception as exc:
        reraise(exc)


def read_all(conn: Connection, text: str, params: Mapping[str, Any]) -> list[Any]:
    """Every row."""
    cursor = _cursor(conn, text, params)
    try:
        return list(cursor.fetchall())
    except Exception as exc:
        reraise(exc)


def prefetch(conn: Connection, text: str, params: Mapping[str, Any]) -> None:
    """Send a read ahead: it is queued, travels with the next round trip, and the same
    statement's read_one() or read_all() later in the transaction takes its rows (by
    statement and parameters). Without a pipeline (SQLite) there is no round trip to
    save, so nothing is done."""
    pipeline = _pipeline(conn)
    if pipeline is not None:
        pipeline._prefetch(text, params)


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
    statement = _write(conn, text, params)

    def check() -> None:
        if statement.cursor.rowcount != 1:
            otherwise()

    pipeline = _pipeline(conn)
    if pipeline is None:
        check()
    else:
        pipeline._check_later(check)


def _write(conn: Connection, text: str, params: Any, many: bool = False) -> _Statement:
    pipeline = _pipeline(conn)
    if pipeline is not None:
        statement = pipeline._statement(text, params, many)
        pipeline._write(statement)
        return statement
    driver: Any = conn.connection.driver_connection
    statement = _Statement(driver.cursor(), _sql(conn.dialect.name == "postgresql", text),
                           params, many)
    try:
        statement.execute()
    except Exception as exc:
        reraise(exc)
    return statement


def reads_waiting(conn: Connection) -> int:
    """How many reads sent ahead in the connection's unit of work are not yet taken."""
    pipeline = _pipeline(conn)
    return 0 if pipeline is None else len(pipeline._ahead)


def listen(engine: Engine) -> None:
    """Send a unit of work's queue before any SQLAlchemy statement on its connection
    (it reads its own results at once, which a pipeline cannot give it)."""

    @event.listens_for(engine, "before_cursor_execute")
    def _send_queued(conn: Connection, *_args: Any) -> None:
        pipeline = _pipeline(conn)
        if pipeline is not None:
            pipeline.send()
