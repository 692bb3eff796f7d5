"""Ownership trails, owner-at-instant, actor trails and post-mortem timelines."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

from audit.reads import records, timeline, trails
from tests.integration.conftest import T0, Ledger


def test_ownership_trail_of_a_full_lifecycle(led: Ledger) -> None:
    led.lifecycle("esc-a")
    with led.engine.connect() as conn:
        spans = trails.trail(records.history(conn, "esc-a"))
    assert [(s["owner"], s["began"], s["ended"]) for s in spans] == [
        ("alice", "acknowledged", "acknowledged by fiona"),
        ("fiona", "acknowledged", "accepted-handoff by sue"),
        ("sue", "accepted-handoff", "debriefed"),
    ]
    assert spans[0]["from"] == "2026-03-02T09:02:00.000000Z"
    assert spans[0]["to"] == "2026-03-02T09:04:00.000000Z"
    assert spans[0]["duration_seconds"] == 120
    assert spans[1]["began_rule"] == "acknowledge.eligible"
    assert spans[2]["began_by"] == "sue" and spans[2]["ended_by"] == "fay"


def test_who_owned_it_at_an_instant(led: Ledger) -> None:
    led.lifecycle("esc-a")
    with led.engine.connect() as conn:
        spans = trails.trail(records.history(conn, "esc-a"))
    at = trails.owner_at(spans, T0 + timedelta(minutes=1, seconds=30))
    assert at["owner"] is None  # opened, not yet acknowledged
    assert trails.owner_at(spans, T0 + timedelta(minutes=2))["owner"] == "alice"
    assert trails.owner_at(spans, T0 + timedelta(minutes=3, seconds=59))["owner"] == "alice"
    assert trails.owner_at(spans, T0 + timedelta(minutes=4))["owner"] == "fiona"
    assert trails.owner_at(spans, T0 + timedelta(minutes=5, seconds=30))["owner"] == "fiona"
    assert trails.owner_at(spans, T0 + timedelta(minutes=6))["owner"] == "sue"


def test_all_spans_of_one_actor_over_a_period(led: Ledger) -> None:
    led.lifecycle("esc-a")
    led.lifecycle("esc-b")
    with led.engine.connect() as conn:
        all_spans = trails.actor_spans(conn, "fiona", None, None)
        late = trails.actor_spans(conn, "fiona", T0 + timedelta(minutes=8), None)
    assert [s["escalation_id"] for s in all_spans] == ["esc-a", "esc-b"]
    assert [s["escalation_id"] for s in late] == ["esc-b"]
    assert all(s["owner"] == "fiona" for s in all_spans)


def test_timeline_milestones_durations_and_handoffs(led: Ledger) -> None:
    led.open("esc-a", category="technical")
    led.act("esc-a", "alice", "acknowledge")
    led.act("esc-a", "alice", "update", {"note": "restart", "next_steps": "watch",
                                         "workaround": True})
    led.act("esc-a", "alice", "escalate", {"reason": "deep", "trigger": "complexity"})
    led.act("esc-a", "bob", "acknowledge")
    led.act("esc-a", "bob", "hand-off", {"to": "bea", "context": "night shift"})
    led.tick(9)
    led.act("esc-a", "bea", "accept-handoff", {})
    led.act("esc-a", "bea", "resolve")
    led.act("esc-a", "alice", "reopen")
    led.act("esc-a", "bea", "resolve")
    with led.engine.connect() as conn:
        t = timeline.build(records.history(conn, "esc-a"))
    m, d = t["milestones"], t["durations"]
    assert m["opened"] == "2026-03-02T09:01:00.000000Z"
    assert m["first_acknowledged"] == "2026-03-02T09:02:00.000000Z"
    assert m["first_workaround"] == "2026-03-02T09:03:00.000000Z"
    assert m["tiers_reached"] == {"1": "2026-03-02T09:04:00.000000Z"}
    assert m["reopened"] == ["2026-03-02T09:18:00.000000Z"]
    assert m["resolved"] == "2026-03-02T09:19:00.000000Z"
    assert d["time_to_first_response"] == 60
    assert d["time_to_containment"] == 120
    assert d["time_to_resolution"] == 18 * 60
    assert d["time_per_tier"] == {"0": 180.0, "1": 900.0}
    assert t["handoffs"] == [{"from": "bob", "to": "bea",
                              "proposed_at": "2026-03-02T09:06:00.000000Z",
                              "outcome": "accepted",
                              "decided_at": "2026-03-02T09:16:00.000000Z",
                              "seconds_to_decision": 600.0}]
    assert t["title"] == "Card charged twice"
    assert [e["action"] for e in t["events"]][:3] == ["open", "acknowledge", "update"]
    assert t["events"][2]["text"] == "restart | watch"

    rows = list(csv.DictReader(io.StringIO(timeline.to_csv(t))))
    assert len(rows) == len(t["events"]) and rows[5]["action"] == "hand-off"
    assert rows[5]["text"] == "night shift"
    md = timeline.to_markdown(t)
    assert md.startswith("# Escalation esc-a: Card charged twice")
    assert "| bob | bea | 2026-03-02 09:06:00 UTC | accepted | 10m 00s |" in md
    assert "- time to resolution: 18m 00s" in md


def test_replay_check_finds_drift_in_state_and_spans(sqlite_led: Ledger) -> None:
    import sqlite3

    from audit.reads.replaycheck import differences

    sqlite_led.lifecycle("esc-a")
    sqlite_led.lifecycle("esc-b")
    sqlite_led.lifecycle("esc-c")
    with sqlite_led.engine.connect() as conn:
        assert list(differences(conn)) == []
    raw = sqlite3.connect(sqlite_led.path)
    raw.execute("UPDATE ownership_spans SET owner = 'mallory' WHERE escalation_id = 'esc-a'")
    raw.execute("UPDATE escalations SET snapshot = replace(snapshot, '\"governor\":\"sam\"', "
                "'\"governor\":\"eve\"') WHERE id = 'esc-b'")
    # The indexed columns the list and sweeper queries use must agree too.
    raw.execute("UPDATE escalations SET next_due = '2026-01-01' WHERE id = 'esc-c'")
    raw.commit()
    raw.close()
    with sqlite_led.engine.connect() as conn:
        found = list(differences(conn))
    assert found == ["esc-a: ownership spans differ from the ledger's trail",
                     "esc-b: stored state differs from replay in governor",
                     "esc-c: stored columns differ from replay in next_due"]
