"""The SQLite ledger: same-transaction writes, replay, guards, checkpoints, proofs."""

from __future__ import annotations

import base64
import json
import sqlite3
from typing import Any

import pytest
from sqlalchemy import select, text

from audit.log import event_record, ledger, merkle, signed_note
from audit.reads import records
from audit.reads.export import verify_db
from audit.store.schema import checkpoints, escalations
from audit.store.schema import ledger as ledger_table
from tests.integration.conftest import Ledger
from workflow.errors import AuthorityDenied
from workflow.model import replay


def test_every_projection_equals_the_replay_of_its_events(led: Ledger) -> None:
    led.lifecycle("esc-a")
    led.lifecycle("esc-b", category="billing")
    led.open("esc-c", category="technical")
    with led.engine.connect() as conn:
        for escalation_id in ("esc-a", "esc-b", "esc-c"):
            events = [records.to_event(r) for r in records.history(conn, escalation_id)]
            with led.uow() as uow:
                assert replay(events) == uow.escalations.get(escalation_id)
        states = dict(conn.execute(select(escalations.c.id, escalations.c.state)).all())
    assert states == {"esc-a": "debriefed", "esc-b": "debriefed", "esc-c": "opened"}


def test_a_refused_action_writes_neither_state_nor_event(led: Ledger) -> None:
    led.open("esc-a")
    with led.engine.connect() as conn:
        size = ledger.read_head(conn, lock=False).size
    with pytest.raises(AuthorityDenied):
        led.act("esc-a", "aud", "acknowledge")
    with led.engine.connect() as conn:
        assert ledger.read_head(conn, lock=False).size == size
        assert conn.execute(select(escalations.c.version)).scalar() == 1


def test_seq_is_gap_free_and_bytes_hash_to_their_leaves(led: Ledger) -> None:
    led.lifecycle("esc-a")
    with led.engine.connect() as conn:
        rows = conn.execute(select(ledger_table).order_by(ledger_table.c.seq)).all()
        head = ledger.read_head(conn, lock=False)
    assert [r.seq for r in rows] == list(range(len(rows)))
    chain = merkle.GENESIS
    for r in rows:
        chain = merkle.chain_hash(chain, merkle.leaf_hash(r.body))
        assert r.chain_hash == chain
        assert json.loads(r.body)["s"] == r.seq  # format 2
    assert head.chain == chain and head.size == len(rows)
    assert head.range.root() == merkle.root_of([merkle.leaf_hash(r.body) for r in rows])
    body = event_record.record_of(rows[1].body, {0: led.policy.version}.get)
    assert body["payload"]["title"]["commitment"]
    assert "Ada Lovelace" not in rows[1].body.decode()


@pytest.mark.parametrize("sql,message", [
    ("UPDATE ledger SET actor = 'mallory' WHERE seq = 1", "UPDATE refused"),
    ("DELETE FROM ledger WHERE seq = 3", "DELETE refused"),
    ("DELETE FROM ledger", "DELETE refused"),
    ("INSERT OR REPLACE INTO ledger SELECT * FROM ledger WHERE seq = 2", "seq must be"),
    ("INSERT INTO ledger SELECT * FROM ledger WHERE seq = 2 "
     "ON CONFLICT(seq) DO UPDATE SET actor = 'mallory'", "seq must be"),
    ("INSERT INTO ledger (seq, action, actor, at, body, chain_hash) "
     "SELECT MAX(seq) + 2, 'x', 'x', 'x', x'00', zeroblob(32) FROM ledger", "seq must be"),
    ("INSERT INTO ledger (seq, action, actor, at, body, chain_hash) "
     "SELECT MAX(seq), 'x', 'x', 'x', x'00', zeroblob(32) FROM ledger", "seq must be"),
    # seq is the rowid on SQLite: left out, it would be the next one; the guard sees -1
    ("INSERT INTO ledger (action, actor, at, body, chain_hash) "
     "VALUES ('x', 'x', 'x', x'00', zeroblob(32))", "seq must be"),
    ("UPDATE checkpoints SET note = 'forged'", "UPDATE refused"),
    ("DELETE FROM checkpoints", "DELETE refused"),
])
def test_the_sqlite_file_itself_refuses_edits(sqlite_led: Ledger, sql: str, message: str) -> None:
    sqlite_led.lifecycle("esc-a")
    raw = sqlite3.connect(sqlite_led.path)
    try:
        before = raw.execute("SELECT COUNT(*), MAX(seq) FROM ledger").fetchone()
        with pytest.raises(sqlite3.IntegrityError, match=message):
            raw.execute(sql)
        raw.rollback()
        assert raw.execute("SELECT COUNT(*), MAX(seq) FROM ledger").fetchone() == before
    finally:
        raw.close()


def test_checkpoints_are_signed_every_n_events_and_verify(led: Ledger) -> None:
    led.lifecycle("esc-a")  # 1 policy event + 8 lifecycle events
    with led.engine.connect() as conn:
        notes = conn.execute(select(checkpoints).order_by(checkpoints.c.size)).all()
        head = ledger.read_head(conn, lock=False)
        latest = ledger.latest_checkpoint(conn)
    assert [n.size for n in notes] == [1, 6]  # first append, then every 5
    for n in notes:
        cp = signed_note.open_note(n.note, led.signer.vkey, "baton.test/ledger")
        assert cp.root == n.root
    assert latest == notes[-1].note
    assert head.checkpoint_size == 6
    with led.uow() as uow:
        forced = uow.checkpoint(led.now, force=True)
        uow.commit()
    assert forced is not None
    assert signed_note.open_note(forced, led.signer.vkey).size == 9


def test_proofs_from_the_database_verify_against_signed_roots(led: Ledger) -> None:
    for i in range(6):
        led.lifecycle(f"esc-{i}")  # 49 events: stored nodes at level 4 and 5 are used
    with led.engine.connect() as conn:
        size = ledger.read_head(conn, lock=False).size
        all_leaves = [merkle.leaf_hash(bytes(x)) for x in conn.execute(
            select(ledger_table.c.body).order_by(ledger_table.c.seq)).scalars()]
        for seq in (0, 7, 16, 31, 32, size - 1):
            proof = ledger.inclusion(conn, seq, size)
            merkle.verify_inclusion(seq, size, base64.b64decode(proof["leaf_hash"]),
                                    [base64.b64decode(p) for p in proof["proof"]],
                                    merkle.root_of(all_leaves))
        for first in (1, 6, 16, 17, 33, size):
            proof = ledger.consistency(conn, first, size)
            merkle.verify_consistency(first, size, merkle.root_of(all_leaves[:first]),
                                      merkle.root_of(all_leaves),
                                      [base64.b64decode(p) for p in proof["proof"]])
        stored = conn.execute(text("SELECT COUNT(*) FROM merkle_nodes")).scalar()
        assert stored == size // 16 + size // 32
        report = verify_db(conn, led.signer.vkey, "baton.test/ledger")
    assert report.ok, report.problems
    assert report.events == size and report.checkpoints >= 9


def test_commit_ends_the_write_and_frees_the_writer_lock(sqlite_led: Ledger) -> None:
    # A response is rendered after the commit: another writer must not wait for it, and
    # nothing more may be written through the finished unit of work.
    import threading

    sqlite_led.open("esc-a")
    with sqlite_led.uow() as uow:
        esc = uow.escalations.get("esc-a")
        assert esc is not None
        uow.commit()
        other_done = threading.Event()

        def other_writer() -> None:
            sqlite_led.open("esc-b")
            other_done.set()

        t = threading.Thread(target=other_writer)
        t.start()
        assert other_done.wait(10), "the writer lock was still held after commit"
        t.join()
        with pytest.raises(RuntimeError, match="has committed"):
            uow.head()
    with sqlite_led.engine.connect() as conn:
        assert conn.execute(select(escalations.c.id).order_by(escalations.c.id)) \
            .scalars().all() == ["esc-a", "esc-b"]


def test_a_lost_compare_and_swap_writes_nothing(led: Ledger,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    # The projection update is a compare-and-swap on the version; on PostgreSQL it goes
    # out pipelined with the ledger row and is checked when the pipeline syncs. Either
    # way a lost swap must refuse the whole transaction.
    from audit.store import projection
    from tests.unit.fakes import DEMO_ACTORS
    from workflow import services
    from workflow.errors import VersionConflict

    led.open("esc-a")
    with led.engine.connect() as conn:
        size = ledger.read_head(conn, lock=False).size
    loaded = projection.load_stored

    def then_another_writer(conn: Any, escalation_id: str, lock: bool = False) -> Any:
        found = loaded(conn, escalation_id, lock)  # the state as read: version 1
        conn.execute(text("UPDATE escalations SET version = 7 WHERE id = 'esc-a'"))
        return found

    monkeypatch.setattr(projection, "load_stored", then_another_writer)
    with pytest.raises(VersionConflict), led.uow() as uow:
        services.act(uow=uow, actor=DEMO_ACTORS["alice"], escalation_id="esc-a",
                     action="acknowledge", payload={"note": "mine"}, policy=led.policy,
                     now=led.tick())
        uow.commit()
    with led.engine.connect() as conn:
        assert ledger.read_head(conn, lock=False).size == size
        assert conn.execute(select(escalations.c.version)).scalar() == 1
        assert conn.execute(select(ledger_table.c.seq)).scalars().all() == list(range(size))
