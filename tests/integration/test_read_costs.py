"""Metrics and actor trails served from read digests equal the fold of every history,
on both backends: cold, warm, after new events make digests stale, and at moments that
change which debrief actions are overdue; an actor's trail pages; periods are bounded."""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
import pytest
from sqlalchemy import func, select
from sqlalchemy.engine import make_url

from audit.reads import metrics, records, report_period, trails
from audit.reads import read_digests as digests
from audit.store import db
from audit.store.projection import parse_time
from audit.store.schema import escalations, read_digests
from tests.initialised_app import Clock, make_client, ok
from tests.integration.conftest import T0, Ledger, make_ledger
from tests.unit.fakes import DEMO_ACTORS
from workflow import erasure
from workflow.errors import PayloadInvalid
from workflow.sla_sweep import sweep

GROUPS = (None, "team", "role", "category", "severity", "tier")
DEBRIEF = {"what_worked": "a", "what_did_not": "b", "root_cause": "c", "lessons": ["d"],
           "actions": [{"what": "add a check", "owner": "alice", "due": "2026-03-04"},
                       {"what": "write it up", "owner": "bob",
                        "due": "2026-03-03T12:00:00Z"}]}


# After v-3's open debrief action fell due (its other one is done): overdue from here.
DUE_PASSED = datetime(2026, 3, 3, 13, 0, tzinfo=UTC)


def seed(led: Ledger) -> None:
    """Lifecycles with hand-offs, a breach and its cover, a reopen, promises kept and
    not, customer confirmations, a repeat, debrief actions done and open, an erasure."""
    led.lifecycle("v-1")
    led.lifecycle("v-2", severity="urgent")
    led.open("v-3", category="billing", severity="urgent")
    sweep(uow_factory=led.uow, now=led.tick(30))  # unacknowledged: breached, covered
    led.act("v-3", "alice", "acknowledge")
    led.act("v-3", "alice", "promise", {"kind": "callback", "within": "2h"})
    led.act("v-3", "alice", "contact-customer", {"channel": "phone", "summary": "called"})
    led.act("v-3", "alice", "promise", {"kind": "callback", "within": "1h"})
    led.act("v-3", "alice", "update", {"note": "n", "next_steps": "s", "workaround": True})
    led.act("v-3", "alice", "resolve")
    led.act("v-3", "alice", "confirm-resolution", {"confirmed": False, "csat": 2})
    led.act("v-3", "alice", "resolve")
    led.act("v-3", "alice", "confirm-resolution", {"confirmed": True, "csat": 5})
    led.act("v-3", "sam", "debrief", DEBRIEF)
    with led.engine.connect() as conn:
        debriefed = [r for r in records.history(conn, "v-3") if r["action"] == "debrief"][0]
    first = debriefed["payload"]["action_items"][0]["id"]
    led.act("v-3", "alice", "complete-action", {"item": first})
    led.open("v-4", category="technical", severity="low")  # a repeat for the customer
    led.act("v-4", "alice", "acknowledge")
    led.act("v-4", "alice", "escalate", {"reason": "deep", "trigger": "complexity"})
    led.act("v-4", "bob", "acknowledge")
    led.act("v-4", "bob", "hand-off", {"to": "bea", "context": "night"})
    led.tick(9)
    led.act("v-4", "bea", "decline-handoff", {"reason": "busy"})
    led.act("v-4", "bob", "hand-off", {"to": "bea", "context": "again"})
    led.act("v-4", "bea", "accept-handoff", {})
    led.open("v-5", category="billing", severity="low")  # never acknowledged
    led.tick(60 * 24)
    led.open("v-6", category="technical", severity="high")  # the next day
    led.act("v-6", "andy", "acknowledge")


def reference_spans(conn: Any, handle: str, since: datetime | None,
                    until: datetime | None,
                    folded: dict[str, list[dict[str, Any]]] | None = None
                    ) -> list[dict[str, Any]]:
    """The trail of every escalation folded from its history (or `folded`), kept for
    `handle` where it overlaps the period, ordered by start: the answer before digests."""
    if folded is None:
        folded = all_trails(conn)
    out = []
    for escalation_id, spans in sorted(folded.items()):
        for span in spans:
            start, end = parse_time(span["from"]), parse_time(span["to"])
            assert start is not None
            if span["owner"] != handle or (until is not None and start >= until) or (
                    since is not None and end is not None and end <= since):
                continue
            out.append({"escalation_id": escalation_id, **span})
    out.sort(key=lambda s: s["from"])
    return out


def all_trails(conn: Any) -> dict[str, list[dict[str, Any]]]:
    ids = conn.execute(select(escalations.c.id)).scalars().all()
    return {i: trails.trail(records.history(conn, i)) for i in ids}


def periods() -> list[tuple[datetime | None, datetime | None]]:
    return [(None, None), (T0, T0 + timedelta(days=1)), (T0 + timedelta(minutes=12), None),
            (T0 + timedelta(days=1), T0 + timedelta(days=3)), (None, T0 + timedelta(minutes=30))]


def assert_same_answers(led: Ledger) -> None:
    late = T0 + timedelta(days=10)
    # Every grouping; and moments before and after each debrief action's due date.
    cases = [(g, late) for g in GROUPS] + [(None, None), (None, DUE_PASSED)]
    with led.engine.connect() as conn:
        folded = all_trails(conn)
        for since, until in periods():
            for group_by, now in cases:
                args = (since, until, group_by, led.policy.max_tier, now)
                assert metrics.report(conn, *args) == \
                    metrics.report_from_ledger(conn, *args), (since, until, group_by, now)
            for handle in ("alice", "andy", "fiona", "sue", "bob", "bea", "sam"):
                assert trails.actor_spans(conn, handle, since, until) == \
                    reference_spans(conn, handle, since, until, folded), (handle, since)


def digest_count(led: Ledger) -> dict[str, int]:
    with led.engine.connect() as conn:
        rows = conn.execute(select(read_digests.c.kind, func.count())
                            .group_by(read_digests.c.kind))
        return {kind: n for kind, n in rows}


def test_digests_answer_as_the_fold_of_every_history(led: Ledger) -> None:
    seed(led)
    assert digest_count(led) == {}
    assert_same_answers(led)  # cold: folded and stored
    stored = digest_count(led)
    # One for each escalation's metrics; one for each trail an actor was in (v-5's none).
    assert stored == {metrics.DIGEST: 6, trails.DIGEST: 5}
    assert_same_answers(led)  # warm: read back
    with led.engine.connect() as conn:
        actions = [metrics.report(conn, None, None, None, 3, now)["groups"][0][
            "debrief_actions"] for now in (None, DUE_PASSED)]
    assert [a["overdue"] for a in actions] == [0, 1] and actions[0]["done"] == 1
    # New events make digests stale: the next read refolds them.
    led.act("v-5", "alice", "acknowledge")
    led.act("v-6", "andy", "hand-off", {"to": "alice", "context": "c"})
    led.act("v-6", "alice", "accept-handoff", {})
    led.act("v-4", "bea", "resolve")
    led.act("v-4", "alice", "reopen")
    with led.uow() as uow:
        erasure.erase_customer(uow=uow, customer_id="cust-42", actor=DEMO_ACTORS["root"],
                               now=led.tick(), policy=led.policy)
        uow.commit()
    assert_same_answers(led)
    assert digest_count(led) == {**stored, trails.DIGEST: 6}  # v-5 is in alice's trail now


def test_an_actors_trail_pages_in_order_to_the_same_spans(led: Ledger) -> None:
    seed(led)
    for n in range(3):
        led.lifecycle(f"p-{n}")
    for n in range(3):  # breached together: andy covers all three from the same instant
        led.open(f"t-{n}", severity="urgent")
    sweep(uow_factory=led.uow, now=led.tick(30))
    with led.engine.connect() as conn:
        for handle, at_least in (("alice", 7), ("andy", 5)):
            whole = trails.actor_spans(conn, handle, None, None)
            assert whole == reference_spans(conn, handle, None, None)
            assert len(whole) >= at_least, handle
            for limit in (1, 2, 3, 7):
                shown, cursor = [], None
                while True:
                    page = trails.actor_page(conn, handle, None, None, limit, cursor)
                    assert 0 < len(page.spans) <= limit
                    shown += page.spans
                    if page.next_cursor is None:
                        break
                    cursor = page.next_cursor
                assert shown == whole, (handle, limit)
        starts = [s["from"] for s in trails.actor_spans(conn, "andy", None, None)]
        assert len(starts) - len(set(starts)) >= 2  # the pages split spans of one instant


def _alter(led: Ledger, escalation_id: str, old: str, new: str) -> None:
    with led.engine.begin() as conn:
        where = (read_digests.c.escalation_id == escalation_id,
                 read_digests.c.kind == metrics.DIGEST)
        body = conn.execute(select(read_digests.c.body).where(*where)).scalar_one()
        assert old in body
        conn.execute(read_digests.update().where(*where).values(body=body.replace(old, new)))


def test_a_stored_digest_is_read_until_a_newer_event_makes_it_stale(led: Ledger) -> None:
    # Proven by altering a stored digest: the alteration is read back while the digest's
    # version is the escalation's, and gone once a new event has made it stale.
    led.open("v-1")
    led.act("v-1", "alice", "acknowledge")
    led.act("v-1", "alice", "hand-off", {"to": "andy", "context": "c"})
    led.act("v-1", "andy", "accept-handoff", {})

    def accepted() -> int:
        with led.engine.connect() as conn:
            report = metrics.report(conn, None, None, None, 3)["groups"][0]
        return int(report["time_to_handoff_acceptance"]["n"])

    assert accepted() == 1
    _alter(led, "v-1", '[["accepted",', '[["declined",')
    assert accepted() == 0
    led.act("v-1", "andy", "update", {"note": "n", "next_steps": "s"})
    assert accepted() == 1



def test_a_read_cut_short_keeps_the_digests_it_folded(led: Ledger,
                                                     monkeypatch: Any) -> None:
    for n in range(3):
        led.open(f"v-{n}")
    monkeypatch.setattr(digests, "STORE_EVERY", 2)
    folded: list[str] = []

    def fold(history: list[dict[str, Any]]) -> Any:
        if len(folded) == 2:
            raise TimeoutError("the worker's time is up")
        folded.append(history[0]["escalation_id"])
        return {}

    every = select(escalations.c.id.label("escalation_id"), escalations.c.pk.label("ord"))
    with led.engine.connect() as conn, pytest.raises(TimeoutError):
        digests.digests(conn, "test", every, fold)
    assert digest_count(led) == {"test": 2}


def test_a_report_over_too_many_escalations_is_refused(led: Ledger) -> None:
    for n in range(3):
        led.open(f"v-{n}")
    with led.engine.connect() as conn:
        assert metrics.report(conn, None, None, None, 3, limit=3)["groups"][0]["opened"] == 3
        with pytest.raises(PayloadInvalid, match="more than 2 escalations"):
            metrics.report(conn, None, None, None, 3, limit=2)
    assert digest_count(led) == {metrics.DIGEST: 3}  # the refusal read none


def test_periods_over_http_are_bounded_and_trails_paged(tmp_path: Path,
                                                        monkeypatch: Any) -> None:
    clock = Clock()
    c = make_client(tmp_path, clock)
    for _ in range(3):
        eid = c.open()
        ok(c.act(eid, "alice", "acknowledge", {"note": "x"}))
        clock.advance(minutes=5)
    too_long = "since=2026-01-01T00:00:00Z&until=2026-04-03T00:00:01Z"
    for path in (f"/metrics/escalations?{too_long}", f"/actors/alice/ownership?{too_long}",
                 "/actors/alice/ownership?since=2025-11-30T09:14:59Z"):
        problem = ok(c.get(path, "aud"), 422)
        assert problem["type"].endswith(":validation") and "92 days" in problem["detail"]
    monkeypatch.setattr(report_period, "MAX_ESCALATIONS", 2)
    problem = ok(c.get("/metrics/escalations", "aud"), 422)
    assert "more than 2 escalations" in problem["detail"]
    monkeypatch.setattr(report_period, "MAX_ESCALATIONS", 3)
    figures = ok(c.get("/metrics/escalations", "aud"))
    assert figures["since"] == "2025-11-30T09:15:00.000000Z" and figures["until"] is None
    assert figures["groups"][0]["opened"] == 3
    assert ok(c.get("/metrics/escalations?since=2026-03-02T09:05:00Z", "aud"))[
        "groups"][0]["opened"] == 2
    first = ok(c.get("/actors/alice/ownership?limit=2", "aud"))
    assert len(first["spans"]) == 2 and first["next_cursor"]
    rest = ok(c.get(f"/actors/alice/ownership?limit=2&cursor={first['next_cursor']}", "aud"))
    assert len(rest["spans"]) == 1 and rest["next_cursor"] is None
    whole = ok(c.get("/actors/alice/ownership", "aud"))
    assert whole["spans"] == first["spans"] + rest["spans"]
    assert whole["since"] == "2025-11-30T09:15:00.000000Z"
    forged = base64.urlsafe_b64encode(b'{"seq": 1}').decode().rstrip("=")
    for cursor in ("not*ours", forged, "A" * 401, "AAAA"):
        assert ok(c.get(f"/actors/alice/ownership?cursor={cursor}", "aud"), 422)[
            "type"].endswith(":validation"), cursor


def test_the_application_role_stores_digests_on_postgresql(pg_cluster: Any,
                                                           tmp_path: Path) -> None:
    # The reads run as a member of baton_app, as the API does: its grants let them store
    # the digests they fold (a refused store would only be logged, and leave none).
    led = make_ledger(pg_cluster.new_database(), tmp_path / "unused")
    led.lifecycle("esc-a")
    url = make_url(str(led.engine.url))
    with psycopg.connect(host=url.host, port=url.port, user="postgres", dbname=url.database,
                         autocommit=True) as conn:
        conn.execute("DROP ROLE IF EXISTS baton_reader")
        conn.execute("CREATE ROLE baton_reader LOGIN PASSWORD 'pw' IN ROLE baton_app")
    app = db.make_engine(url.set(username="baton_reader", password="pw")
                         .render_as_string(hide_password=False))
    with app.connect() as conn:
        assert metrics.report(conn, None, None, None, 3)["groups"][0]["opened"] == 1
        assert len(trails.actor_spans(conn, "sue", None, None)) == 1
    assert digest_count(led) == {metrics.DIGEST: 1, trails.DIGEST: 1}
    app.dispose()
    led.engine.dispose()
