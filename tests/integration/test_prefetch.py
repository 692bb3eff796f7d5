"""Reads sent ahead (SqlUnitOfWork.prepare_to_act): on PostgreSQL they travel together in
one round trip and are taken by the reads that follow; they never outlive their
transaction."""

from __future__ import annotations

from audit.reads import escalation_ids, records
from audit.store import db, fast_path, policies
from audit.store.uow import SqlUnitOfWork
from tests.integration.conftest import Ledger


def _reads(uow: SqlUnitOfWork) -> tuple[object, ...]:
    head = uow.head()
    return (policies.active(uow.conn), uow.escalations.get("e1"),
            (head.size, head.chain, head.range.to_bytes(), head.checkpoint_size,
             head.checkpoint_at), records.escalation_texts(uow.conn, ["e1"]),
            escalation_ids.related(uow.conn, "e1"))


def test_the_reads_sent_ahead_give_what_the_reads_themselves_give(led: Ledger) -> None:
    led.lifecycle("e1")
    with led.uow() as uow:
        expected = _reads(uow)
    with led.uow() as uow:
        uow.prepare_to_act("e1", shows=(records.OPENING_TEXTS, escalation_ids.RELATED))
        sent = fast_path.reads_waiting(uow.conn)
        got = _reads(uow)
        left = fast_path.reads_waiting(uow.conn)
    assert got == expected and got[1] is not None and got[3]["e1"]["title"]
    # On PostgreSQL four reads went ahead and every one was taken (none was left to go
    # stale while the same statement ran again); SQLite has no round trips to save.
    assert sent == (0 if db.is_sqlite(led.engine) else 4)
    assert left == 0


def test_reads_sent_ahead_and_never_taken_die_with_their_transaction(led: Ledger) -> None:
    opened = led.open("e1").escalation.version
    # The API lends one connection to the units of work of a request, and the pool lends
    # it to the next request: what one transaction sent ahead must not reach the next.
    with led.engine.connect() as conn:
        with SqlUnitOfWork(led.engine, led.signer, conn, release_before_flush=True) as uow:
            uow.prepare_to_act("e1")
            uow.rollback()  # e.g. the request was refused before reading anything
        assert fast_path.reads_waiting(conn) == 0
        led.act("e1", "alice", "acknowledge")  # the escalation moves on meanwhile
        with SqlUnitOfWork(led.engine, led.signer, conn, release_before_flush=True) as uow:
            uow.prepare_to_act("e1")
        assert fast_path.reads_waiting(conn) == 0  # closed without commit or rollback
        with SqlUnitOfWork(led.engine, led.signer, conn, release_before_flush=True) as uow:
            esc = uow.escalations.get("e1")
    assert esc is not None and esc.version == opened + 1 and esc.state == "acknowledged"
