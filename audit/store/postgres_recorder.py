"""The PostgreSQL recorder: rows locked FOR UPDATE, a unit of work's statements queued and
sent in psycopg's pipeline mode, SQLSTATEs as audit errors.

Inside a unit of work, writes and reads sent ahead are queued (`Pipeline`) and go to the
server together, in one pipeline block, when something needs an answer: a read of rows
not sent ahead (it goes in the same block), an SQLAlchemy statement (the dialect's
execute steps send the queue first), or the commit. The deferred
row-count checks run right after each block, so every write is checked before COMMIT
(the round trips of an action: audit.store.fast_path)."""

from __future__ import annotations

import re
import select
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, NoReturn

import psycopg
from sqlalchemy import Connection, Engine, Select, Table, create_engine, make_url, text
from sqlalchemy.dialects import postgresql

from audit.errors import (
    DatabaseBusy,
    DatabaseFailed,
    DatabaseUnavailable,
    OutcomeUnknown,
    ReadOnly,
    RowRefused,
    SchemaMissing,
    StorageFull,
)
from audit.store.recorder import PIPELINE

# An object the schema defines is missing (database, schema, table, column, function,
# type): `baton init` has not run on this database, or not to the end.
_UNDEFINED = frozenset({"3D000", "3F000", "42P01", "42703", "42883", "42704"})
_LOCK_NOT_AVAILABLE = "55P03"
# The server cannot take statements now. Class 08 (connection exceptions), admin/crash
# shutdown and "starting up" (57P01-57P03), too many connections (53300), out of memory
# (53200), an I/O error of the server (58030).
_UNAVAILABLE = frozenset({"57P01", "57P02", "57P03", "53300", "53200", "58030"})
_DISK_FULL = "53100"
_READ_ONLY = "25006"  # read_only_sql_transaction: a standby, or default read-only
_NAMED = re.compile(r":(\w+)")


def translate(exc: BaseException) -> DatabaseFailed | None:
    """The audit error a psycopg exception means (by SQLSTATE), or None."""
    if not isinstance(exc, psycopg.Error):
        return None
    state = exc.sqlstate or ""
    if state == _DISK_FULL:
        return StorageFull(str(exc))
    if state == _READ_ONLY:
        return ReadOnly(str(exc))
    if state.startswith("08") or state in _UNAVAILABLE or (
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


def _reraise(exc: Exception) -> NoReturn:
    found = translate(exc)
    if found is None:
        raise exc
    raise found from exc


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
    """What a unit of work's transaction has queued: statements, the reads sent ahead
    among them (by key: the query object and its parameters), and the row counts to check
    once they have run."""

    def __init__(self, conn: Connection):
        self._conn = conn
        self._driver: Any = conn.connection.driver_connection
        self._queued: list[_Statement] = []
        self._ahead: dict[Any, Any] = {}
        self._checks: list[Callable[[], None]] = []

    def write(self, sql: str, params: Any, many: bool) -> Any:
        """Queue a write; returns its cursor."""
        statement = _Statement(self._driver.cursor(), sql, params, many)
        self._queued.append(statement)
        return statement.cursor

    def prefetch(self, key: Any, sql: str, params: Any) -> None:
        """Queue a read sent ahead, taken by read(key, …)."""
        statement = _Statement(self._driver.cursor(), sql, params)
        self._queued.append(statement)
        self._ahead[key] = statement.cursor

    def read(self, key: Any, sql: str, params: Any) -> Any:
        """The cursor sent ahead under `key`, once sent; or the read run now, in the same
        round trip as what was queued before it."""
        cursor = self._ahead.pop(key, None) if key is not None else None
        if cursor is not None:
            if any(s.cursor is cursor for s in self._queued):
                self.send()
            return cursor
        statement = _Statement(self._driver.cursor(), sql, params)
        if self._queued:
            self._send(also=statement)
        else:
            try:
                statement.execute()
            except Exception as exc:
                _reraise(exc)
        return statement.cursor

    def check_later(self, check: Callable[[], None]) -> None:
        """Run `check` right after the next block is sent."""
        self._checks.append(check)

    def send(self) -> None:
        """Send every queued statement in one round trip, then run the row-count checks of
        the writes among them."""
        self._send()

    def _send(self, also: _Statement | None = None) -> None:
        queued, self._queued = self._queued, []
        if also is not None:
            queued.append(also)
        if queued:
            try:
                with self._driver.pipeline():  # the only block psycopg's pipeline is open in
                    for statement in queued:
                        statement.execute()
            except Exception as exc:
                _reraise(exc)
        checks, self._checks = self._checks, []
        for check in checks:
            check()

    def finish(self) -> None:
        """Send what is still queued and check it, before COMMIT; the connection's
        statements run at once again afterwards, and unread reads sent ahead are dropped."""
        try:
            self._send()
        finally:
            self._detach()

    def discard(self) -> None:
        """Drop what is queued, the checks and the reads sent ahead (a rollback)."""
        self._queued, self._checks = [], []
        self._detach()

    def waiting(self) -> int:
        """How many reads sent ahead are not yet taken."""
        return len(self._ahead)

    def _detach(self) -> None:
        self._ahead.clear()
        if self._conn.invalidated:  # the database dropped it (issue 20): no info to clear
            return
        if self._conn.info.get(PIPELINE) is self:
            del self._conn.info[PIPELINE]


def _send_queued_first(engine: Engine) -> None:
    """Before an SQLAlchemy statement runs on a connection whose unit of work has queued
    statements, send them, from the dialect's own execute steps. Not a
    "before_cursor_execute" listener: any connection event makes SQLAlchemy consult the
    engine's event dispatch at every begin, statement, commit and close (SQLite's BEGIN
    is issued from its dialect for the same reason)."""
    dialect: Any = engine.dialect

    def queued_sent_before(step: Callable[..., None]) -> Callable[..., None]:
        def run(cursor: Any, *args: Any) -> None:
            context = args[-1]  # the ExecutionContext, always given (SQLAlchemy 2)
            try:
                pipeline: Pipeline | None = context.root_connection.info.get(PIPELINE)
            except (AttributeError, NotImplementedError):
                pipeline = None  # the dialect's first-connect checks: no unit of work
            if pipeline is not None:
                pipeline.send()
            step(cursor, *args)
        return run

    for name in ("do_execute", "do_executemany", "do_execute_no_params"):
        setattr(dialect, name, queued_sent_before(getattr(dialect, name)))


_PENDING = select.POLLIN | select.POLLPRI | select.POLLERR | select.POLLHUP \
    | getattr(select, "POLLRDHUP", 0)


def _pending(fd: int) -> bool:
    """Whether the server wrote to the socket (or hung up) since it was last read."""
    poller = select.poll()
    poller.register(fd, _PENDING)
    return bool(poller.poll(0))


def _ping_from_the_socket(engine: Engine) -> None:
    """The pool's ping before each checkout, without a round trip when the socket says
    enough: an idle connection the server has not written to since (nothing to read, no
    hang-up) is alive as far as SELECT 1 could tell; one it has written to (a shutdown's
    FATAL, a terminated backend's EOF) or not idle is pinged with SELECT 1 as before,
    which finds it dead and has it replaced. A host gone without a word is found once the
    keepalives fail (TCP_DEFAULTS: the socket then reports the error). Saves a round
    trip on every request (issue #29)."""
    dialect: Any = engine.dialect
    select_one = dialect.do_ping

    def do_ping(dbapi_connection: Any) -> bool:
        try:
            idle = dbapi_connection.info.transaction_status == psycopg.pq.TransactionStatus.IDLE
            fd = dbapi_connection.pgconn.socket
        except psycopg.Error:
            return select_one(dbapi_connection)  # closed or broken: let SELECT 1 say so
        return (idle and not _pending(fd)) or select_one(dbapi_connection)

    dialect.do_ping = do_ping


# A transaction that writes a WAL record and commits synchronously: its commit waits for
# the WAL to be flushed past every commit before it (flush, commit_and_flush).
FLUSH_SQL = "SELECT pg_logical_emit_message(true, 'baton', 'flush')"
# libpq's TCP settings unless the URL's query sets them (docs/postgresql.md): a server
# whose host is gone without a word (a failover, a cut link) is given up on after about a
# minute, not TCP's ~15 minutes of retries with a worker stuck waiting on it. Keepalives
# probe an idle or waiting connection after 30 s, every 10 s, 3 times; data sent and not
# acknowledged for 30 s ends the connection. libpq ignores them on a Unix socket.
TCP_DEFAULTS: dict[str, int] = {"keepalives": 1, "keepalives_idle": 30,
                                "keepalives_interval": 10, "keepalives_count": 3,
                                "tcp_user_timeout": 30_000}


class PostgresRecorder:
    """PostgreSQL (see the module's docstring)."""

    name = "postgresql"
    pipelines = True

    def __init__(self) -> None:
        self._rendered: dict[tuple[str, str], str] = {}

    def render(self, sql: str, lock: str) -> str:
        """%(name)s parameters for psycopg, and the row-lock clause (cached per text)."""
        found = self._rendered.get((sql, lock))
        if found is None:
            found = self._rendered.setdefault(
                (sql, lock), _NAMED.sub(r"%(\1)s", sql) + (f" {lock}" if lock else ""))
        return found

    def translate(self, exc: BaseException) -> DatabaseFailed | None:
        """See translate()."""
        return translate(exc)

    def make_engine(self, url: str, **kw: Any) -> Engine:
        """A pooled engine whose connections are pinged before use (from the socket when
        it can: _ping_from_the_socket); a unit of work's queue is sent before any
        SQLAlchemy statement on its connection (that statement reads its own results at
        once, which a pipeline cannot give it). TCP_DEFAULTS where the URL does not say."""
        given = make_url(url).query
        kw["connect_args"] = {**{k: v for k, v in TCP_DEFAULTS.items() if k not in given},
                              **kw.get("connect_args", {})}
        engine = create_engine(url, pool_pre_ping=True, **kw)
        _send_queued_first(engine)
        _ping_from_the_socket(engine)
        return engine

    def single_read(self, engine: Engine) -> Connection:
        """Autocommit, which saves the BEGIN and ROLLBACK round trips."""
        conn = engine.connect()
        conn.execution_options(isolation_level="AUTOCOMMIT")
        return conn

    def writer_lock(self, engine: Engine) -> None:
        """None: writers lock the rows they change, and the log head serialises appends."""
        return None

    def before_write(self, conn: Connection, relaxed: bool, lent: bool) -> None:
        """A lent connection may have been lent for autocommit reads: transactions again."""
        if lent:
            conn.execution_options(isolation_level=conn.default_isolation_level)

    def began(self, conn: Connection, relaxed: bool) -> Pipeline | None:
        """Queue the fast path's statements on `conn` until its transaction ends (None
        where libpq has no pipeline mode); a relaxed commit does not wait for its flush."""
        pipeline = None
        if psycopg.Pipeline.is_supported():
            pipeline = conn.info[PIPELINE] = Pipeline(conn)
        if relaxed:
            sql = "SET LOCAL synchronous_commit = off"
            if pipeline is not None:
                pipeline.write(sql, {}, False)  # queued
            else:
                conn.connection.driver_connection.execute(sql)  # type: ignore[union-attr]
        return pipeline

    def flush(self, conn: Connection) -> None:
        """A transaction that writes a WAL record and commits synchronously, which flushes
        the WAL up to and past our commit record."""
        driver = conn.connection.driver_connection
        was = driver.autocommit  # type: ignore[union-attr]
        driver.autocommit = True  # type: ignore[union-attr]
        try:
            driver.execute(FLUSH_SQL)  # type: ignore[union-attr]
        except Exception as exc:
            _reraise(exc)
        finally:
            driver.autocommit = was  # type: ignore[union-attr]

    def commit_and_flush(self, conn: Connection) -> bool:
        """COMMIT and the flush in one round trip, where libpq has pipeline mode (False,
        nothing done, where it has not): one pipeline block, in which the flush's
        statement after the COMMIT runs in the block's implicit transaction, committed
        synchronously at its end. The transaction's row locks go at the COMMIT, before
        the flush waits on the disk, as when the two went apart. OutcomeUnknown when the
        COMMIT went through and the flush did not (audit.store.db.flush), or when the
        connection was lost once the COMMIT was sent."""
        if not psycopg.Pipeline.is_supported():
            return False
        driver: Any = conn.connection.driver_connection
        commit = driver.cursor()
        try:
            with driver.pipeline():
                commit.execute("COMMIT")
                driver.cursor().execute(FLUSH_SQL)
        except Exception as exc:
            # Committed, or the connection lost with the COMMIT sent (its answer may have
            # been lost with it): either may have committed. A COMMIT refused by the server
            # (a deferred trigger) rolled back: the error as it is.
            if commit.statusmessage == "COMMIT" or driver.broken:
                after = ("the commit's flush" if commit.statusmessage == "COMMIT"
                         else "the COMMIT's answer")
                raise OutcomeUnknown(f"{after} failed: {type(exc).__name__}") from exc
            _reraise(exc)
        return True

    def lock_rows(self, conn: Connection, query: Select[Any]) -> None:
        """SELECT … FOR UPDATE."""
        conn.execute(query.with_for_update())

    def skip_locked(self, query: Select[Any]) -> Select[Any]:
        """FOR UPDATE SKIP LOCKED: several sweepers share the work."""
        return query.with_for_update(skip_locked=True)

    def serialise(self, conn: Connection, key: int) -> None:
        """A transaction-scoped advisory lock on the key."""
        conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": key})

    def upsert(self, table: Table) -> Any:
        """postgresql's INSERT … ON CONFLICT."""
        return postgresql.insert(table)

    def empty_wal(self, conn: Connection) -> bool:
        """Nothing to do: the server's WAL is not a file beside the database."""
        return True

    def readiness(self, conn: Connection) -> str:
        """The session must not be read-only (a standby, or default read-only)."""
        on = conn.execute(text("SELECT current_setting('transaction_read_only')")).scalar()
        return "read-only" if on == "on" else "ok"


RECORDER = PostgresRecorder()
