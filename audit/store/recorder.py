"""What the store asks of a database: one recorder per database (audit.store.sqlite_recorder,
audit.store.postgres_recorder) behind this interface; the rest of the store is written
once against it. `audit.store.db.recorder_of` finds an engine's or connection's.

Where the databases differ:

| difference | SQLite | PostgreSQL |
|---|---|---|
| writers | serialised by BEGIN IMMEDIATE and a writer lock | rows locked FOR UPDATE |
| parameters | `:name` as written | rewritten once to `%(name)s` |
| round trips | none to save: statements run when called | queued and pipelined |
| relaxed commits | synchronous=NORMAL, then fdatasync | synchronous_commit off, then a WAL record |
| upserts | sqlite's INSERT … ON CONFLICT | postgresql's INSERT … ON CONFLICT |
| driver errors | sqlite3 result codes | SQLSTATE |
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

from sqlalchemy import Connection, Engine, Select, Table

from audit.errors import DatabaseFailed

# conn.info key: the Pipeline of the unit of work whose transaction the connection runs.
PIPELINE = "baton_pipeline"


class Lock(Protocol):
    """A lock held from BEGIN to COMMIT by writers of one database."""

    def acquire(self) -> None:
        """Wait for and take the lock."""

    def release(self) -> None:
        """Give the lock back."""


class Pipeline(Protocol):
    """Statements of one transaction queued and sent together (PostgreSQL)."""

    def write(self, sql: str, params: Any, many: bool) -> Any:
        """Queue a write; returns its cursor (row counts are read once it has run)."""

    def prefetch(self, key: Any, sql: str, params: Any) -> None:
        """Queue a read sent ahead, to be taken by read(key, …)."""

    def read(self, key: Any, sql: str, params: Any) -> Any:
        """The cursor of a read: the one sent ahead under `key`, or run now with what is
        queued."""

    def check_later(self, check: Callable[[], None]) -> None:
        """Run `check` once the queued writes have run."""

    def send(self) -> None:
        """Send what is queued, in one round trip, and run the checks."""

    def finish(self) -> None:
        """Send and check what is queued, before COMMIT; nothing is queued afterwards."""

    def discard(self) -> None:
        """Drop what is queued (a rollback)."""

    def waiting(self) -> int:
        """How many reads sent ahead are not yet taken."""


class Recorder(Protocol):
    """One database's way of doing what the store needs."""

    name: str  # SQLAlchemy's dialect name
    # Whether a unit of work's statements may be queued (began() may return a Pipeline);
    # when not, the fast path never looks for one.
    pipelines: bool

    def render(self, sql: str, lock: str) -> str:
        """Driver SQL of a statement written with :name parameters; `lock` is the row-lock
        clause a PostgreSQL read takes (SQLite's writers are serialised already)."""

    def translate(self, exc: BaseException) -> DatabaseFailed | None:
        """The audit error a driver exception of this database means, or None."""

    def make_engine(self, url: str, **kw: Any) -> Engine:
        """An engine with Baton's connection settings."""

    def single_read(self, engine: Engine) -> Connection:
        """A connection for one read statement."""

    def writer_lock(self, engine: Engine) -> Lock | None:
        """The lock writers take before BEGIN, or None when rows are locked instead."""

    def before_write(self, conn: Connection, relaxed: bool, lent: bool) -> None:
        """Prepare a connection for a write transaction (before the writer lock)."""

    def began(self, conn: Connection, relaxed: bool) -> Pipeline | None:
        """The transaction has begun: its pipeline, or None when statements run at once."""

    def flush(self, conn: Connection) -> None:
        """Make every commit made so far durable (after a relaxed commit)."""

    def commit_and_flush(self, conn: Connection) -> bool:
        """COMMIT the transaction and make it durable together, in one round trip, when
        the database can (True); False, with nothing done, when not: COMMIT, then flush.
        OutcomeUnknown when the commit went through and its flush did not."""

    def lock_rows(self, conn: Connection, query: Select[Any]) -> None:
        """Lock the rows `query` selects until the transaction ends, or nothing."""

    def skip_locked(self, query: Select[Any]) -> Select[Any]:
        """`query` taking only rows no other transaction holds (locking them), or as is."""

    def serialise(self, conn: Connection, key: int) -> None:
        """Make transactions that name the same key wait for each other."""

    def upsert(self, table: Table) -> Any:
        """An INSERT of the dialect, with on_conflict_do_update."""

    def empty_wal(self, conn: Connection) -> bool:
        """Leave no copy of deleted rows in a write-ahead log; True when done."""

    def readiness(self, conn: Connection) -> str:
        """Whether a write could succeed now, once the log head was read: "ok",
        "read-only" or "storage-full"."""
