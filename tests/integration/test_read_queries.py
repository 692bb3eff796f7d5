"""The read models the views call: the escalation list, the audit events, policy
documents, the actor lookup, the health check and the figures of a metrics scrape."""

from __future__ import annotations

import base64
import hashlib
from datetime import timedelta
from pathlib import Path

import pytest

from audit.reads import audit_events, escalation_list, ledger_gauges, metrics, policy_versions
from audit.store import actors, db
from audit.store.health import database_answers
from tests.integration.conftest import Ledger
from workflow.errors import PayloadInvalid
from workflow.sla_sweep import sweep


def test_escalation_list_filters_and_a_cursor_that_survives_writes(led: Ledger) -> None:
    for n, severity in enumerate(("high", "low", "high", "urgent", "high")):
        led.open(f"esc-{n}", severity=severity)
    led.act("esc-0", "alice", "acknowledge")
    with led.engine.connect() as conn:
        first = escalation_list.page(conn, now=led.now, limit=2, severity="high")
    assert [e.id for e in first.escalations] == ["esc-0", "esc-2"]
    assert first.next_cursor is not None
    led.open("esc-5", severity="high")  # a write between pages shifts nothing
    with led.engine.connect() as conn:
        second = escalation_list.page(conn, now=led.now, limit=2, severity="high",
                                      cursor=first.next_cursor)
        assert [e.id for e in second.escalations] == ["esc-4", "esc-5"]
        assert second.next_cursor is None
        owned = escalation_list.page(conn, now=led.now, limit=50, owner="alice",
                                     state="acknowledged", tier=0, customer="cust-42")
        assert [e.id for e in owned.escalations] == ["esc-0"]
        every = [f"esc-{n}" for n in range(6)]
        assert escalation_list.page(conn, now=led.now, limit=50,
                                    breached=True).escalations == []
        assert [e.id for e in escalation_list.page(conn, now=led.now, limit=50,
                                                   breached=False).escalations] == every
        later = led.now + timedelta(days=30)  # every clock has run out by then
        assert [e.id for e in escalation_list.page(conn, now=later, limit=50,
                                                   breached=True).escalations] == every
        assert escalation_list.page(conn, now=later, limit=50,
                                    breached=False).escalations == []
        for bad in ("%%%", "Zm9v"):
            with pytest.raises(PayloadInvalid) as refused:
                escalation_list.page(conn, now=led.now, limit=2, cursor=bad)
            assert refused.value.errors == {"cursor": "not a cursor from this API"}


def test_audit_events_carry_hashes_and_bytes_an_auditor_can_check(led: Ledger) -> None:
    led.open("esc-a")
    led.act("esc-a", "alice", "acknowledge")
    led.open("esc-b")
    led.act("esc-b", "alice", "acknowledge")
    with led.engine.connect() as conn:
        first = audit_events.page(conn, limit=3)
        assert [e["seq"] for e in first.items] == [0, 1, 2] and first.next_after == 2
        rest = audit_events.page(conn, limit=10, after=first.next_after,
                                 action="acknowledge")
        assert [(e["seq"], e["escalation_id"]) for e in rest.items] == [(4, "esc-b")]
        assert rest.next_after is None
        mine = audit_events.page(conn, limit=10, escalation="esc-a", actor="alice")
        assert [e["action"] for e in mine.items] == ["open", "acknowledge"]
        window = audit_events.page(conn, limit=10, since=led.now,
                                   until=led.now + timedelta(minutes=1))
        assert [e["seq"] for e in window.items] == [4]
    opened = mine.items[0]
    body = base64.b64decode(opened["bytes"])
    assert hashlib.sha256(b"\x00" + body).hexdigest() == opened["leaf_hash"]
    assert len(bytes.fromhex(opened["chain_hash"])) == 32
    assert opened["payload"]["title"] == "Card charged twice"  # joined back from content
    assert b"Card charged twice" not in body  # the hashed bytes hold a commitment only


def test_policy_documents(led: Ledger) -> None:
    with led.engine.connect() as conn:
        current = policy_versions.current(conn)
        assert current is not None and current["version"] == led.policy.version
        assert current["content"]["roles"]["agent"]["limit"] == "500"
        assert policy_versions.document(conn, led.policy.version) == current
        assert policy_versions.document(conn, "deadbeef") is None


def test_policy_document_before_any_policy(tmp_path: Path) -> None:
    engine = db.make_engine(f"sqlite:///{tmp_path / 'empty.db'}")
    db.create_schema(engine)
    with engine.connect() as conn:
        assert policy_versions.current(conn) is None
    engine.dispose()


def test_actor_lookup_keeps_revoked_actors(led: Ledger) -> None:
    with led.uow() as uow:
        actors.revoke(uow.conn, "andy", led.now)
        uow.commit()
    with led.engine.connect() as conn:
        assert actors.exists(conn, "alice") and actors.exists(conn, "andy")
        assert not actors.exists(conn, "nobody")


def test_health_says_whether_the_database_answers(led: Ledger, tmp_path: Path) -> None:
    assert database_answers(led.engine)
    gone = db.make_engine(f"sqlite:///{tmp_path / 'no-such-dir' / 'baton.db'}")
    assert not database_answers(gone)
    gone.dispose()


def test_histogram_counts_are_cumulative() -> None:
    made = ledger_gauges.histogram([30.0, 60.0, 61.0, 4000.0], (60, 300))
    assert made.buckets == [(60.0, 2), (300.0, 3)]
    assert (made.count, made.total) == (4, 4151.0)
    assert ledger_gauges.histogram([], (60,)) == ledger_gauges.Histogram([(60.0, 0)], 0, 0)


def test_gauges_agree_with_the_period_metrics(led: Ledger) -> None:
    led.lifecycle("esc-a")
    led.open("esc-b", category="technical")
    led.act("esc-b", "alice", "acknowledge")
    led.open("esc-c")
    sweep(uow_factory=led.uow, now=led.now + timedelta(hours=3))
    with led.engine.connect() as conn:
        figures = ledger_gauges.read(conn)
        report = metrics.report(conn, None, None, None, led.policy.max_tier)["groups"][0]
        events = audit_events.page(conn, limit=1000).items
    states = {(s, t): n for s, t, n in figures.escalations}
    assert states[("debriefed", 1)] == 1 and sum(states.values()) == 3
    by_action = dict(figures.events)
    assert sum(by_action.values()) == figures.ledger_size == len(events)
    assert by_action["open"] == report["opened"] == 3
    assert figures.checkpoint_size <= figures.ledger_size
    breaches = dict(figures.breaches)
    assert list(breaches) == sorted(breaches)
    assert {c: n for c, n in report["breaches_by_clock"].items() if n} == breaches
    ack = figures.time_to_acknowledge
    assert ack.count == report["time_to_first_response"]["n"] == 2
    assert ack.buckets[-1][0] == 86400.0 and ack.buckets[-1][1] == ack.count
