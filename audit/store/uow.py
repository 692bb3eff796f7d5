"""The SQL unit of work: workflow's port, with state and ledger in one transaction."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable
from contextlib import suppress
from datetime import datetime
from types import TracebackType
from typing import Any

from sqlalchemy import Connection, Engine
from sqlalchemy.exc import SQLAlchemyError

from audit.errors import DatabaseFailed, OutcomeUnknown
from audit.log import ledger
from audit.reads import escalation_ids
from audit.store import db, fast_path, policies, projection, search_index
from audit.store.content_store import SqlContent
from audit.store.idempotency import SqlIdempotency
from audit.store.outbox import SqlOutbox
from audit.store.policy_store import SqlPolicies
from audit.store.recorder import Pipeline
from workflow.model import Actor, Escalation, Event

log = logging.getLogger(__name__)

_ACTOR = fast_path.Query("SELECT handle, roles, team FROM actors WHERE handle = :h AND "
                         "revoked_at IS NULL")


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

    def lock(self, escalation_ids: list[str]) -> None:
        """Lock several escalation rows up front, in id order (no deadlock between
        writers that touch several)."""
        projection.lock(self._uow.conn, sorted(escalation_ids))

    def of_customer(self, customer_id: str) -> list[str]:
        """Ids of every escalation of a customer, oldest first."""
        return escalation_ids.of_customer(self._uow.conn, customer_id)

    def closed_before(self, category: str, cutoff: datetime) -> list[str]:
        """Ids of a category's closed escalations last changed at or before `cutoff`."""
        return escalation_ids.closed_before(self._uow.conn, category, cutoff)

    def resolved_for_customer(self, customer_id: str, since: datetime) -> str | None:
        """The customer's escalation resolved most recently since `since`, or None."""
        return escalation_ids.resolved_for_customer(self._uow.conn, customer_id, since)

    def due(self, now: datetime, batch: int) -> list[str]:
        """Ids due for the SLA sweeper (on PostgreSQL locked, skipping others' rows)."""
        return escalation_ids.due(self._uow.conn, now, batch)


class SqlActors:
    """Active actors."""

    def __init__(self, uow: SqlUnitOfWork):
        self._uow = uow

    def get(self, handle: str) -> Actor | None:
        """The active actor, or None."""
        row = _ACTOR.fetch_one(self._uow.conn, {"h": handle})
        if row is None:
            return None
        return Actor(row[0], tuple(json.loads(row[1])), row[2])


class SqlUnitOfWork:
    """One write transaction (BEGIN IMMEDIATE on SQLite); rolls back unless committed.

    With `release_before_flush`, commit() releases the writer lock (SQLite) or the log-head
    lock (PostgreSQL) before the commit is flushed to disk, and returns once it is: the
    next writer's work overlaps this one's flush (see audit.store.db). A checkpoint that falls
    due is then signed in a follow-up transaction that commits synchronously, because a
    signed checkpoint must never be seen before it is durable."""

    def __init__(self, engine: Engine, signer: ledger.Signer | None = None,
                 connection: Connection | None = None, *, release_before_flush: bool = False,
                 shows: Iterable[fast_path.Query] = ()):
        self.engine = engine
        # What the caller's response reads of the escalation acted on (prepare_to_act).
        self.shows = tuple(shows)
        self.relaxed = release_before_flush
        # A connection lent by the caller (the API's per-request one): used, not closed.
        self._lent = connection
        self.signer = signer
        self.escalations = SqlEscalations(self)
        self.actors = SqlActors(self)
        # The port adapters take the transaction's connection: made as it opens.
        self.idempotency: SqlIdempotency
        self.content: SqlContent
        self.policies: SqlPolicies
        self.outbox: SqlOutbox
        self._conn: Connection | None = None
        self._head: ledger.Head | None = None
        self._recorder = db.recorder_of(engine)
        self._lock = self._recorder.writer_lock(engine)
        self._locked = False
        self._done = False
        self._last_at: datetime | None = None
        # Indexed projection columns as loaded in this transaction (see projection.save).
        self.stored: dict[str, dict[str, Any]] = {}
        # PostgreSQL: the fast path's statements are queued and sent together, in one
        # round trip each time an answer is needed (audit.store.fast_path); None on SQLite,
        # where each runs at once.
        self._pipeline: Pipeline | None = None
        # Who this transaction acts for, when their roles were granted by a provider's
        # claim: each record they write in that role carries the claim as its `via`.
        self.acting: Actor | None = None

    @property
    def conn(self) -> Connection:
        """The open connection (inside `with`)."""
        if self._conn is None:
            raise RuntimeError("the unit of work is not open")
        return self._conn

    def _discard(self) -> None:
        pipeline, self._pipeline = self._pipeline, None
        if pipeline is not None:
            pipeline.discard()

    def __enter__(self) -> SqlUnitOfWork:
        # The connection is checked out before the writer lock is taken, so the lock is
        # held only from BEGIN to COMMIT.
        if self._lent is not None:
            conn = self._lent
            if conn.in_transaction():
                conn.rollback()
        else:
            conn = self.engine.connect()
        try:
            self._recorder.before_write(conn, self.relaxed, lent=conn is self._lent)
            conn.info[db.WRITING] = True  # BEGIN IMMEDIATE (SQLite), until the commit
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
        self.idempotency = SqlIdempotency(conn)
        self.content = SqlContent(conn, self.idempotency)
        self.policies = SqlPolicies(conn, self.append)
        self.outbox = SqlOutbox(conn)
        self._pipeline = self._recorder.began(conn, self.relaxed)
        return self

    def prepare_to_act(self, escalation_id: str, *,
                       shows: Iterable[fast_path.Query] | None = None) -> None:
        """Send ahead the reads an action on the escalation makes: the policy version and
        its row (locked), and `shows`, the reads of it the caller's response makes (read
        models' queries whose one parameter is :escalation_id, e.g. records.OPENING_TEXTS,
        escalation_ids.RELATED; by default those this unit of work was made with). On
        PostgreSQL the first of them to be read takes them all
        in one round trip; on SQLite nothing is done. The log head is never read ahead:
        its lock serialises every append, so it is taken only when the event is
        recorded."""
        conn = self.conn
        policies.ACTIVE.prefetch(conn, {})
        projection.LOCKED.prefetch(conn, {"id": escalation_id})
        for query in self.shows if shows is None else shows:
            query.prefetch(conn, {"escalation_id": escalation_id})

    @property
    def erased(self) -> bool:
        """Personal text was erased in this transaction (the commit then empties SQLite's
        write-ahead log of the old pages)."""
        return self.content.erased

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
        # An invalidated connection's info went with its DBAPI connection (and reading it
        # would reconnect).
        try:
            if not conn.invalidated and not conn.closed:
                conn.info.pop(db.WRITING, None)
        finally:
            if conn is not self._lent:
                conn.close()

    def head(self) -> ledger.Head:
        """The log head, read once per transaction under the append lock."""
        if self._done:
            raise RuntimeError("this unit of work has committed: open a new one to write")
        if self._head is None:
            self._head = ledger.read_head(self.conn)
        return self._head

    def append(self, record: dict[str, Any], personal: list[tuple[str, str]],
               at: datetime) -> int:
        """Append a raw record (system events: policy changes, erasures)."""
        if self.acting is not None and record.get("actor") == self.acting.handle:
            via = dict(self.acting.via).get(record.get("role") or "")
            if via and "via" not in record:
                record["via"] = via
        seq = ledger.append(self.conn, self.head(), record, personal)
        self._last_at = at
        # Every ledger event to the subscriptions of `ledger.*` (a SIEM), as a CloudEvent.
        self.outbox.enqueue_ledger(record, seq,
                                   self.signer.origin if self.signer else "unsigned")
        return seq

    def record(self, escalation: Escalation, event: Event) -> int:
        """Write the new state and its event together; returns the ledger seq."""
        self.outbox.prepare(escalation, event)  # its reads travel with the log head's
        head = self.head()
        body, personal = ledger.event_body(event, head.size)
        seq = self.append(body, personal, event.at)
        self.stored[escalation.id] = projection.save(self.conn, escalation,
                                                     self.stored.get(escalation.id))
        if escalation.version == 1:  # opened: its texts are indexed with its content
            search_index.index(self.conn, escalation, dict(personal))
        projection.track_spans(self.conn, event)
        self.outbox.enqueue(escalation, event, seq)  # what it causes, in its transaction
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
        pipeline, self._pipeline = self._pipeline, None
        if pipeline is not None:
            pipeline.finish()  # every queued write sent and its row count checked
        flushed = False
        if self.relaxed:  # PostgreSQL: COMMIT and the flush in one round trip
            try:
                flushed = self._recorder.commit_and_flush(self.conn)
            except OutcomeUnknown:
                with suppress(SQLAlchemyError, DatabaseFailed):  # its connection may be gone
                    self.conn.commit()  # SQLAlchemy's end of the transaction
                self._ended()
                raise
        self.conn.commit()  # the driver's COMMIT, unless committed above: then its end
        self._ended()
        self.conn.info.pop(db.WRITING, None)
        if self.relaxed:
            if not flushed:
                db.flush(self.conn)
            if due is not None:
                self._sign_checkpoint(due)
        if self.content.erased:
            self.content.erased = False
            self._empty_wal()

    def _ended(self) -> None:
        # The transaction is over: no more appends, and the writer lock goes (SQLite).
        self._head = None
        self._done = True
        self._release()

    def _empty_wal(self) -> None:
        # The erasure is committed: what it deleted must not stay readable in the WAL.
        # Under the writer lock, so Baton's writers wait for it instead of busy-retrying.
        if self._lock is not None:
            self._lock.acquire()
        try:
            self._recorder.empty_wal(self.conn)
        except Exception as exc:  # committed already: a failure here is only logged
            log.warning("write-ahead log not emptied after an erasure: %s",
                        type(exc).__name__)
        finally:
            if self._lock is not None:
                self._lock.release()

    def _sign_checkpoint(self, now: datetime) -> None:
        # The write is committed and durable; the checkpoint is a record of its own. Should
        # signing fail, the checkpoint stays due and the next write signs it.
        try:
            with SqlUnitOfWork(self.engine, self.signer, self.conn) as strict:
                strict.checkpoint(now)
                strict.commit()
        except (SQLAlchemyError, DatabaseFailed, OSError) as exc:
            log.warning("checkpoint left due for the next write: %s", exc)

    def rollback(self) -> None:
        """Discard this transaction's writes."""
        self._discard()
        self.conn.rollback()
        self._head = None
