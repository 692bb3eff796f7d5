"""A write's response shows the escalation's opening texts and, once handed off, its
latest hand-off: their ledger rows are decoded once a process while committed (a
committed row never changes), not on every write; a row of a transaction still open is
not kept; what a caller does to its record does not reach the next one."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from audit.store import policy_refs
from tests.initialised_app import Client, make_client, ok


@pytest.fixture
def c(tmp_path: Path) -> Client:
    return make_client(tmp_path)


def _decoded(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    seqs: list[int] = []
    real = policy_refs.record

    def record(conn: Any, body: Any) -> dict[str, Any]:
        found = real(conn, body)
        seqs.append(found["seq"])
        return found

    monkeypatch.setattr(policy_refs, "record", record)
    return seqs


def test_the_opening_and_the_hand_off_are_decoded_once_for_every_write(
        c: Client, monkeypatch: pytest.MonkeyPatch) -> None:
    eid = c.open()
    decoded = _decoded(monkeypatch)
    ok(c.act(eid, "alice", "acknowledge", {"note": "mine"}))
    ok(c.act(eid, "alice", "escalate", {"reason": "limit", "trigger": "authority"}))
    first = ok(c.act(eid, "fiona", "acknowledge", {"note": "finance"}))
    assert decoded.count(decoded[0]) == 1 and len(decoded) == 1  # the opening, once
    handed = ok(c.act(eid, "fiona", "hand-off", {"to": "sue", "context": "over"}))
    assert decoded == [decoded[0], handed["seq"]]  # its own response: not yet committed
    c.open()  # a later write in this process: the hand-off is known committed from here
    for _ in range(3):
        again = ok(c.get(f"/escalations/{eid}", "fiona"))
    opening = decoded[0]
    assert decoded.count(opening) == 1 and decoded.count(handed["seq"]) == 2  # then kept
    assert (handed["escalation"]["title"] == first["escalation"]["title"] == again["title"]
            == "Card charged twice")
    assert handed["escalation"]["handoff"]["context"] == again["handoff"]["context"] == "over"


def test_a_record_changed_by_its_caller_is_not_changed_for_the_next(c: Client) -> None:
    eid = c.open()
    ok(c.act(eid, "alice", "acknowledge", {"note": "mine"}))  # the opening is committed
    engine = c.app.extensions["baton"].engine
    with engine.connect() as conn:
        seq, body = conn.exec_driver_sql(
            "SELECT seq, body FROM ledger WHERE escalation_id = ? AND escalation_seq = 0",
            (eid,)).one()
        mine = policy_refs.record_at(conn, seq, body)
        mine["payload"], mine["actor"] = {}, "someone else"
        assert policy_refs.record_at(conn, seq, body)["actor"] == "alice"
        assert policy_refs.record_at(conn, seq, body)["payload"]["title"]
