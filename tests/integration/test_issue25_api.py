"""Issue 25 over HTTP on both databases: an accepted hand-off is the eligible receiver's
acknowledgment; allowed_actions is what the actions route takes; ownership?at= before the
escalation existed says so; one error per wrong field; a duplicate promise is 409; a
feedback link answered or void shows so on GET."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from tests.initialised_app import Client, Clock, make_client, ok
from workflow import sla_sweep


@pytest.fixture
def c(database_url: str, tmp_path: Path, clock: Clock) -> Iterator[Client]:
    client = make_client(tmp_path, clock, database_url=database_url)
    yield client
    client.app.extensions["baton"].engine.dispose()



def offered_to_fiona(c: Client, clock: Clock) -> str:
    eid = c.open(category="billing")
    for who, action, body in (
            ("alice", "acknowledge", {"note": "mine"}),
            ("alice", "escalate", {"reason": "refund", "trigger": "authority"}),
            ("alice", "hand-off", {"to": "fiona", "context": "refund of 1,200 USD"})):
        clock.advance(minutes=1)
        ok(c.act(eid, who, action, body))
    return eid


def test_an_accepted_hand_off_stops_the_acknowledge_clock(c: Client, clock: Clock) -> None:
    eid = offered_to_fiona(c, clock)
    assert c.get(f"/escalations/{eid}", "fiona").json["sla"]["acknowledge_by"]
    clock.advance(minutes=1)
    taken = ok(c.act(eid, "fiona", "accept-handoff", {"note": "finance has it"}))
    shown = taken["escalation"]
    assert shown["owner"] == "fiona" and shown["state"] == "escalated-tier-1"
    assert shown["sla"]["acknowledge_by"] is None
    assert "acknowledge" not in shown["allowed_actions"]
    assert shown["allowed_actions"][0] != "acknowledge"
    refused = ok(c.act(eid, "fiona", "acknowledge", {"note": "again"}), 409)
    assert refused["type"].endswith("invalid-transition")
    # The event says it was an acknowledgment too (the audit log's payload).
    events = ok(c.get(f"/audit/events?escalation={eid}", "aud"))["items"]
    accepted = [e for e in events if e["action"] == "accept-handoff"]
    assert accepted[0]["payload"]["acknowledges"] is True
    # Past every acknowledge deadline the sweep records nothing about it.
    clock.advance(days=2)
    baton = c.app.extensions["baton"]
    sla_sweep.sweep(uow_factory=baton.uow, now=clock.now)
    events = ok(c.get(f"/audit/events?escalation={eid}", "aud"))["items"]
    assert not [e for e in events if e["action"] == "sla-breached"
                and e["payload"]["clock"] == "acknowledge"]
    after = c.get(f"/escalations/{eid}", "fiona").json
    assert "acknowledge" not in after["sla"]["breached"]


def test_allowed_actions_are_what_the_actions_route_takes(c: Client) -> None:
    eid = c.open()
    ok(c.act(eid, "alice", "acknowledge", {"note": "x"}))
    ok(c.act(eid, "alice", "resolve", {"summary": "s"}))
    shown = c.get(f"/escalations/{eid}", "alice").json
    assert "issue-feedback-link" not in shown["allowed_actions"]
    for action in shown["allowed_actions"]:
        r = c.act(eid, "alice", action, {})
        assert r.status_code != 404, action  # taken there (a 422 for a missing field is fine)
    [operation] = shown["allowed_operations"]
    assert operation == {"action": "issue-feedback-link", "method": "POST",
                         "href": f"/api/v1/escalations/{eid}/feedback-link"}
    ok(c.http.post(operation["href"], json={}, headers=c.h("alice")), 201)
    wrong = ok(c.act(eid, "alice", "issue-feedback-link", {}), 404)
    assert "POST /api/v1/escalations/{id}/feedback-link" in wrong["detail"]
    assert "issue-feedback-link" not in wrong["actions"]
    assert c.get(f"/escalations/{eid}", "bob").json["allowed_operations"] == []


def test_ownership_before_the_escalation_existed_says_so(c: Client, clock: Clock) -> None:
    before = clock.now.isoformat()
    clock.advance(minutes=5)
    eid = c.open()
    opened = clock.now
    clock.advance(minutes=1)
    ok(c.act(eid, "alice", "acknowledge", {"note": "x"}))
    early = ok(c.get(f"/escalations/{eid}/ownership?at={before.replace('+', '%2B')}",
                     "aud"))["at"]
    assert early["existed"] is False and early["owner"] is None
    assert early["opened_at"].startswith(opened.strftime("%Y-%m-%dT%H:%M:%S"))
    at_open = ok(c.get(f"/escalations/{eid}/ownership?at="
                       f"{opened.isoformat().replace('+', '%2B')}", "aud"))["at"]
    assert at_open["existed"] is True and at_open["owner"] is None
    later = ok(c.get(f"/escalations/{eid}/ownership?at="
                     f"{clock.now.isoformat().replace('+', '%2B')}", "aud"))["at"]
    assert later["existed"] is True and later["owner"] == "alice"


def test_one_error_per_wrong_field_and_no_duplicate_promise(c: Client, clock: Clock) -> None:
    eid = c.open()
    ok(c.act(eid, "alice", "acknowledge", {"note": "x"}))
    wrong = ok(c.act(eid, "alice", "promise", {"kind": "callback", "within": "1 hour"}), 422)
    assert list(wrong["errors"]) == ["within"]
    assert "1h30m" in wrong["errors"]["within"] and ";" not in wrong["errors"]["within"]
    assert ok(c.post(f"/escalations/{eid}/actions/promise", "alice", ["by"]), 422)
    missing = ok(c.act(eid, "alice", "escalate", {"reason": "deep"}), 422)
    assert set(missing["errors"]) == {"trigger"}
    assert "complexity" in missing["errors"]["trigger"]
    assert "authority" in missing["errors"]["trigger"]
    due = "2026-03-02T15:00:00Z"
    ok(c.act(eid, "alice", "promise", {"kind": "callback", "by": due}))
    twice = ok(c.act(eid, "alice", "promise", {"kind": "callback", "by": due}), 409)
    assert twice["type"].endswith("no-change") and twice["rule"] == "promise.duplicate"
    assert len(c.get(f"/escalations/{eid}", "alice").json["sla"]["promises"]) == 1


def test_a_used_or_void_feedback_link_says_so_on_get(c: Client) -> None:
    eid = c.open()
    ok(c.act(eid, "alice", "acknowledge", {"note": "x"}))
    ok(c.act(eid, "alice", "resolve", {"summary": "s"}))

    def link() -> str:
        made = ok(c.post(f"/escalations/{eid}/feedback-link", "alice", {}), 201)
        return urlsplit(made["link"]).path

    before_reopen = link()
    ok(c.act(eid, "alice", "reopen", {"reason": "still broken"}))
    void = c.http.get(before_reopen)
    assert void.status_code == 410 and "reopened" in void.get_data(as_text=True)
    assert c.http.post(before_reopen, data={"confirmed": "true"}).status_code == 410
    ok(c.act(eid, "alice", "resolve", {"summary": "fixed for real"}))
    fresh = link()
    assert "Was your issue resolved?" in c.http.get(fresh).get_data(as_text=True)
    assert c.http.post(fresh, data={"confirmed": "true", "csat": "5"}).status_code == 200
    used = c.http.get(fresh)
    page = used.get_data(as_text=True)
    assert used.status_code == 409 and "Already answered, thank you" in page
    assert "<form" not in page
    assert c.http.post(fresh, data={"confirmed": "false"}).status_code == 409
