"""The SQL unit of work: workflow's port, with state and ledger in one transaction."""

from __future__ import annotations

import json
import logging
import sqlite3
from collections.abc import Callable
from datetime import datetime
from types import TracebackType
from typing import Any

import psycopg
from sqlalchemy import Connection, Engine
from sqlalchemy.exc import SQLAlchemyError

from audit import db, ledger, projection
from audit.rawsql import Raw
from workflow.model import Actor, Escalation, Event

log = logging.getLogger(__name__)

_ACTOR_SQL = "SELECT handle, roles, team FROM actors WHERE handle = :h AND revoked_at IS NULL"


class SqlEscalations:
    """Escalation states read inside the unit of work's transaction."""

    def __init__(self, uow: SqlUnitOfWork):
        self._uow = uow

    def get(self, escalation_id: str) -> Escalation | None:
        """The escalation, or None; on PostgreSQL its row stays locked until the end of
        the transaction. Lock order everywhere: escalation rows, then the log head."""
        found = projection.load_stored(self._uow.conn, escalation_id, lock=True)
        if found is None:
            return None
        self._uow.stored[escalation_id] = found[1]
        return found[0]

    def prefetch(self, escalation_id: str) -> None:
        """Send get()'s read ahead: on PostgreSQL it travels with the next read instead of
        in a round trip of its own (Raw.prefetch). The log head is never read ahead: its
        lock serialises every append, so it is taken only when the event is recorded."""
        projection.prefetch_stored(self._uow.conn, escalation_id, lock=True)

    def lock(self, escalation_ids: list[str]) -> None:
        """Lock several escalation rows up front, in id order (no deadlock between
        writers that touch several)."""
        projection.lock(self._uow.conn, sorted(escalation_ids))


class SqlActors:
    """Active actors."""

    def __init__(self, uow: SqlUnitOfWork):
        self._uow = uow

    def get(self, handle: str) -> Actor | None:
        """The active actor, or None."""
        row = Raw(self._uow.conn).one(_ACTOR_SQL, {"h": handle})
        if row is None:
            return None
        return Actor(row[0], tuple(json.loads(row[1])), row[2])


class SqlUnitOfWork:
    """One write transaction (BEGIN IMMEDIATE on SQLite); rolls back unless committed.

    With `release_before_flush`, commit() releases the writer lock (SQLite) or the log-head
    lock (PostgreSQL) before the commit is flushed to disk, and returns once it is: the
    next writer's work overlaps this one's flush (see audit.db). A checkpoint that falls
    due is then signed in a follow-up transaction that commits synchronously, because a
    signed checkpoint must never be seen before it is durable."""

    def __init__(self, engine: Engine, signer: ledger.Signer | None = None,
                 connection: Connection | None = None, *, release_before_flush: bool = False):
        self.engine = engine
        self.relaxed = release_before_flush
        # A connection lent by the caller (the API's per-request one): used, not closed.
        self._lent = connection
        self.signer = signer
        self.escalations = SqlEscalations(self)
        self.actors = SqlActors(self)
        self._conn: Connection | None = None
        self._head: ledger.Head | None = None
        self._lock = db.write_lock(engine) if db.is_sqlite(engine) else None
        self._locked = False
        self._done = False
        self._last_at: datetime | None = None
        # Indexed projection columns as loaded in this transaction (see projection.save).
        self.stored: dict[str, dict[str, Any]] = {}
        # PostgreSQL: the transaction runs in psycopg's pipeline mode. The driver-cursor
        # statements queue up, and each read that needs its rows sends everything queued
        # with it in one round trip: BEGIN goes with the first read, the ledger row, its
        # content, the projection and the spans with the response's read. A statement
        # through SQLAlchemy ends the pipeline first (db.make_engine's listener), and the
        # projection's row-count checks run whenever it ends, before any commit.
        self._pipelining = not db.is_sqlite(engine) and psycopg.Pipeline.is_supported()
        self._pipeline: psycopg.Pipeline | None = None
        self._checks: list[Callable[[], None]] = []

    @property
    def conn(self) -> Connection:
        """The open connection (inside `with`)."""
        if self._conn is None:
            raise RuntimeError("the unit of work is not open")
        return self._conn

    def _batched(self) -> Connection:
        conn = self._conn
        if conn is None:
            raise RuntimeError("the unit of work is not open")
        if self._pipelining and self._pipeline is None:
            pipeline = conn.connection.driver_connection.pipeline()  # type: ignore[union-attr]
            pipeline.__enter__()
            self._pipeline = pipeline
            conn.info[db.END_PIPELINE] = self._sync
        return conn

    def _take_pipeline(self) -> psycopg.Pipeline | None:
        pipeline, self._pipeline = self._pipeline, None
        if self._conn is not None:
            self._conn.info.pop(db.END_PIPELINE, None)
        return pipeline

    def _sync(self) -> None:
        pipeline = self._take_pipeline()
        if pipeline is not None:
            pipeline.__exit__(None, None, None)
        checks, self._checks = self._checks, []
        for check in checks:
            check()

    def _discard(self) -> None:
        pipeline = self._take_pipeline()
        self._checks = []
        if pipeline is not None:
            try:
                pipeline.__exit__(RuntimeError, RuntimeError("rolled back"), None)
            except psycopg.Error:
                pass

    def __enter__(self) -> SqlUnitOfWork:
        # The connection is checked out before the writer lock is taken, so the lock is
        # held only from BEGIN to COMMIT.
        if self._lent is not None:
            conn = self._lent
            if conn.in_transaction():
                conn.rollback()
            if not db.is_sqlite(self.engine):  # lent for autocommit reads, maybe
                conn.execution_options(isolation_level=conn.default_isolation_level)
            conn.execution_options(baton_write=True)
        else:
            conn = self.engine.connect().execution_options(baton_write=True)
        try:
            db.set_synchronous(conn, self.relaxed)
            if self._lock is not None:
                self._lock.acquire()
                self._locked = True
            conn.begin()
        except BaseException:
            self._release()
            self._close(conn)
            raise
        self._conn = conn
        self._head = None
        self._done = False
        self.stored = {}
        self._batched()
        if self.relaxed and not db.is_sqlite(self.engine):
            Raw(conn).run("SET LOCAL synchronous_commit = off", {})  # queued, no round trip
        return self

    def _release(self) -> None:
        if self._locked and self._lock is not None:
            self._locked = False
            self._lock.release()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        try:
            if self._conn is not None:
                self._discard()
                self._conn.rollback()
                self._close(self._conn)
        finally:
            self._conn = None
            self._release()

    def _close(self, conn: Connection) -> None:
        if conn is self._lent:
            if conn.get_execution_options().get("baton_write"):
                conn.execution_options(baton_write=False)
        else:
            conn.close()

    def head(self) -> ledger.Head:
        """The log head, read once per transaction under the append lock."""
        if self._done:
            raise RuntimeError("this unit of work has committed: open a new one to write")
        if self._head is None:
            self._head = ledger.read_head(self.conn)
        return self._head

    def append(self, record: dict[str, Any], personal: list[tuple[str, str]],
               at: datetime, customer_id: str | None = None) -> int:
        """Append a raw record (system events: policy changes, erasures)."""
        seq = ledger.append(self.conn, self.head(), record, personal, customer_id=customer_id)
        self._last_at = at
        return seq

    def record(self, escalation: Escalation, event: Event) -> int:
        """Write the new state and its event together; returns the ledger seq."""
        head = self.head()
        body, personal = ledger.event_body(event, head.size)
        conn = self._batched()  # reopened if an SQLAlchemy statement ended it
        seq = self.append(body, personal, event.at, customer_id=escalation.customer_id)
        self.stored[escalation.id] = projection.save(
            conn, escalation, self.stored.get(escalation.id),
            checks=self._checks if self._pipeline is not None else None)
        projection.track_spans(conn, event)
        return seq

    def checkpoint(self, now: datetime, force: bool = False) -> str | None:
        """Sign a checkpoint now when forced or due; returns the note."""
        if self.signer is None:
            return None
        if self.relaxed:
            raise RuntimeError("checkpoints are signed in units of work that commit "
                               "synchronously (release_before_flush=False)")
        head = self.head()
        if force or ledger.checkpoint_due(head, self.signer, now):
            return ledger.sign_checkpoint(self.conn, head, self.signer, now)
        return None

    def commit(self) -> None:
        """Write the head (and a due checkpoint) and commit. The write ends here: the
        SQLite writer lock is released at once, and the connection stays open for reads
        (a response to render) until the unit of work closes. Returns once the commit is
        durable."""
        due = None
        if self._head is not None:
            if self._last_at is not None:
                if not self.relaxed:
                    self.checkpoint(self._last_at)
                elif ledger.checkpoint_due(self._head, self.signer, self._last_at):
                    due = self._last_at
            ledger.write_head(self.conn, self._head)
        self._sync()  # every queued write done and checked before COMMIT
        self.conn.commit()
        self._head = None
        self._done = True
        self._release()
        self.conn.execution_options(baton_write=False)
        if self.relaxed:
            db.flush(self.conn)
            if due is not None:
                self._sign_checkpoint(due)

    def _sign_checkpoint(self, now: datetime) -> None:
        # The write is committed and durable; the checkpoint is a record of its own. Should
        # signing fail, the checkpoint stays due and the next write signs it.
        try:
            with SqlUnitOfWork(self.engine, self.signer, self.conn) as strict:
                strict.checkpoint(now)
                strict.commit()
        except (SQLAlchemyError, psycopg.Error, sqlite3.Error, OSError) as exc:
            log.warning("checkpoint left due for the next write: %s", exc)

    def rollback(self) -> None:
        """Discard this transaction's writes."""
        self._discard()
        self.conn.rollback()
        self._head = None
