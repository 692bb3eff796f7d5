"""Metrics of a seeded history equal figures computed independently from the timelines."""

from __future__ import annotations

import statistics
from datetime import timedelta

import pytest

from audit.reads import metrics, records, timeline
from tests.integration.conftest import T0, Ledger
from workflow.sla_sweep import sweep


def seed(led: Ledger) -> None:
    # 1: billing, acknowledged after 1 min, escalated, handed off, resolved, reopened
    led.open("m-1", category="billing", severity="high")
    led.act("m-1", "alice", "acknowledge")
    led.act("m-1", "alice", "escalate")
    led.act("m-1", "fiona", "acknowledge")
    led.act("m-1", "fiona", "hand-off", {"to": "sue", "context": "c"})
    led.tick(4)
    led.act("m-1", "sue", "accept-handoff", {})
    led.act("m-1", "sue", "update", {"note": "n", "next_steps": "s", "workaround": True})
    led.act("m-1", "sue", "resolve")
    led.act("m-1", "alice", "reopen")
    # 2: technical, urgent, left unacknowledged past its SLA, then taken and resolved
    led.open("m-2", category="technical", severity="urgent")
    sweep(uow_factory=led.uow, now=led.now + timedelta(minutes=20))
    led.tick(20)
    led.act("m-2", "alice", "acknowledge")
    led.act("m-2", "alice", "resolve")
    # 3: billing, never acknowledged
    led.open("m-3", category="billing", severity="low")


def test_metrics_equal_independent_figures_from_timelines(led: Ledger) -> None:
    seed(led)
    with led.engine.connect() as conn:
        report = metrics.report(conn, T0, T0 + timedelta(days=1), None, 3)
        by_category = metrics.report(conn, None, None, "category", 3)
        tls = {i: timeline.build(records.history(conn, i)) for i in ("m-1", "m-2", "m-3")}
    overall = report["groups"][0]
    assert overall["key"] == "all" and overall["opened"] == 3
    firsts = [t["durations"]["time_to_first_response"] for t in tls.values()
              if t["durations"]["time_to_first_response"] is not None]
    assert sorted(firsts) == [60.0, 1260.0]
    assert overall["time_to_first_response"]["p50"] == statistics.median(firsts)
    assert overall["time_to_first_response"]["n"] == 2
    resolved = tls["m-2"]["durations"]["time_to_resolution"]
    assert overall["time_to_resolution"] == {"p50": resolved, "p90": resolved, "n": 1}
    assert overall["time_to_containment"]["n"] == 1
    assert overall["breaches"] == len(tls["m-2"]["breaches"]) == 1
    assert overall["sla_compliance"]["acknowledge"] == pytest.approx(2 / 3)
    assert overall["handoffs"] == 1
    assert overall["time_to_handoff_acceptance"]["p50"] == \
        tls["m-1"]["handoffs"][0]["seconds_to_decision"] == 300.0
    assert overall["reopen_rate"] == pytest.approx(1 / 3)
    assert overall["escalation_rate_per_tier"] == pytest.approx({"1": 1 / 3, "2": 0.0,
                                                                 "3": 0.0})
    # alice -> fiona (acknowledged at tier 1), fiona -> sue (handoff): two changes on m-1
    assert overall["ownership_changes_per_escalation"] == pytest.approx(2 / 3)
    cats = {g["key"]: g for g in by_category["groups"]}
    assert set(cats) == {"billing", "technical"}
    assert cats["billing"]["opened"] == 2 and cats["technical"]["breaches"] == 1
    with led.engine.connect() as conn:
        assert metrics.report(conn, T0 + timedelta(days=1), None, None, 3)["groups"] == []
