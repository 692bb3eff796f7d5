"""Issue 14's HTTP contract: no-ops are 409 with a rule, unknown actions and filters are
problems that list what exists, the pending hand-off shows, breached means breached, and
a timeline row says who did what, to whom, and what it changed."""

from __future__ import annotations

import base64
import csv
import io
from datetime import timedelta
from pathlib import Path

import pytest

from tests.initialised_app import Client, Clock, make_client
from workflow.sla_sweep import sweep


@pytest.fixture
def c(tmp_path: Path, clock: Clock) -> Client:
    return make_client(tmp_path, clock)


def problem(r, status: int, slug: str) -> dict:  # type: ignore[no-untyped-def]
    assert r.status_code == status, r.json
    assert r.mimetype == "application/problem+json"
    assert r.json["type"] == f"urn:baton:problem:{slug}"
    return dict(r.json)


def test_an_action_that_changes_nothing_is_409_with_its_rule(c: Client) -> None:
    eid = c.open()
    c.act(eid, "alice", "acknowledge", {"note": "x"})
    first = c.act(eid, "bob", "add-watcher", {"handle": "bob"})
    assert first.status_code == 200
    etag = first.headers["ETag"]
    again = problem(c.act(eid, "bob", "add-watcher", {"handle": "bob"}), 409, "no-change")
    assert again["rule"] == "watcher.already"
    assert problem(c.act(eid, "lee", "release-hold", {"reason": "r"}), 409,
                   "no-change")["rule"] == "hold.none"
    assert c.get(f"/escalations/{eid}", "alice").headers["ETag"] == etag, "nothing written"


def test_unknown_actions_filters_and_parameters_are_problems_that_list_what_exists(
        c: Client) -> None:
    eid = c.open()
    unknown = problem(c.act(eid, "alice", "fly"), 404, "unknown-action")
    assert "acknowledge" in unknown["actions"] and "withdraw-handoff" in unknown["actions"]
    bogus = problem(c.get("/escalations?state=bogus", "alice"), 422, "validation")
    assert "acknowledged" in bogus["errors"]["state"]
    assert "finance" in problem(c.get("/escalations?team=nope", "alice"), 422,
                                "validation")["errors"]["team"]
    assert "colour" in problem(c.get("/escalations?colour=red", "alice"), 422,
                               "validation")["errors"]
    assert problem(c.get("/escalations?cursor=" + "A" * 400, "alice"), 422, "validation")
    c.act(eid, "alice", "acknowledge", {"note": "x"})
    handed = problem(c.act(eid, "alice", "hand-off", {"to": "nobody", "context": "c"}),
                     422, "validation")
    assert handed["errors"] == {"to": "there is no active actor 'nobody'"}


def test_409_lists_only_what_the_caller_may_do(c: Client) -> None:
    eid = c.open()
    refused = problem(c.act(eid, "alice", "resolve", {"summary": "s"}), 409,
                      "invalid-transition")
    assert refused["allowed_actions"] == ["acknowledge"]


def test_the_pending_handoff_shows_with_its_context(c: Client) -> None:
    eid = c.open(category="technical")
    c.act(eid, "alice", "acknowledge", {"note": "x"})
    r = c.act(eid, "alice", "hand-off", {"to": "andy", "context": "shift ends at 5"})
    assert r.json["escalation"]["handoff"]["context"] == "shift ends at 5"
    shown = c.get(f"/escalations/{eid}", "bob").json
    assert shown["handoff"]["to"] == "andy" and shown["handoff"]["by"] == "alice"
    assert shown["sla"]["handoff_answer_by"] is not None
    c.act(eid, "alice", "withdraw-handoff", {"reason": "stayed"})
    assert c.get(f"/escalations/{eid}", "bob").json["handoff"] is None


def test_a_second_handoff_shows_itself_not_the_first(c: Client) -> None:
    # A write's response reads one escalation's latest hand-off; a page reads several.
    eid, other = c.open(category="technical"), c.open(category="technical")
    for e in (eid, other):
        c.act(e, "alice", "acknowledge", {"note": "x"})
        c.act(e, "alice", "hand-off", {"to": "andy", "context": "first"})
    c.act(eid, "andy", "decline-handoff", {"reason": "busy"})
    r = c.act(eid, "alice", "hand-off", {"to": "andy", "context": "second"})
    assert r.status_code == 200, r.json
    shown = r.json["escalation"]["handoff"]
    assert (shown["to"], shown["context"]) == ("andy", "second")
    assert shown["seq"] == r.json["seq"]
    assert c.get(f"/escalations/{eid}", "bob").json["handoff"] == shown
    page = {e["id"]: e["handoff"] for e in c.get("/escalations", "bob").json["items"]}
    assert page[eid] == shown and page[other]["context"] == "first"


def test_breached_means_overdue_or_not_yet_cleared_and_sorts_by_deadline(
        c: Client, clock: Clock) -> None:
    late = c.open(severity="urgent")
    calm = c.open(severity="low")
    c.act(late, "alice", "acknowledge", {"note": "x"})
    clock.now += timedelta(hours=1)
    baton = c.app.extensions["baton"]
    sweep(uow_factory=baton.uow, now=clock.now)  # records the update breach
    breached = c.get("/escalations?breached=true", "alice").json["items"]
    assert [e["id"] for e in breached] == [late], "still breached once recorded"
    assert [e["id"] for e in c.get("/escalations?breached=false", "alice").json["items"]] \
        == [calm]
    soonest = c.get("/escalations?sort=next_due&limit=1", "alice").json
    assert soonest["items"][0]["id"] == late and soonest["next_cursor"]
    following = c.get(f"/escalations?sort=next_due&cursor={soonest['next_cursor']}",
                      "alice").json["items"]
    assert [e["id"] for e in following] == [calm]
    mine = c.get("/escalations?owner=me", "alice").json["items"]
    assert [e["id"] for e in mine] == [late]


def test_a_timeline_row_says_who_to_whom_and_what_changed(c: Client) -> None:
    eid = c.open(category="technical", amount={"value": "100.00", "currency": "USD"})
    c.act(eid, "alice", "acknowledge", {"note": "x"})
    c.act(eid, "sam", "reassign", {"to": "andy", "reason": "alice is out"})
    c.act(eid, "andy", "add-watcher", {"handle": "bob"})
    c.act(eid, "andy", "resolve", {"summary": "s", "grant": {
        "kind": "refund", "amount": {"value": "50.00", "currency": "USD"}}})
    c.act(eid, "sam", "debrief", {"what_worked": "a", "what_did_not": "b",
                                  "root_cause": "c", "lessons": ["one", "two"],
                                  "actions": [{"what": "fix", "owner": "sam"}]})
    events = c.get(f"/escalations/{eid}/timeline", "aud").json["events"]
    by = {e["action"]: e for e in events}
    assert by["reassign"]["actor"] == "sam" and by["reassign"]["subject"] == "andy"
    assert "owner: alice → andy" in by["reassign"]["changes"]
    assert by["add-watcher"]["subject"] == "bob" and "watchers +bob" in \
        by["add-watcher"]["changes"]
    assert "granted refund 50.00 USD" in by["resolve"]["changes"]
    assert "lessons: one; two" in by["debrief"]["text"] and "[" not in by["debrief"]["text"]
    spans = c.get(f"/escalations/{eid}/ownership", "aud").json["spans"]
    assert spans[0]["ended"] == "reassigned to andy by sam"
    rows = list(csv.DictReader(io.StringIO(
        c.get(f"/escalations/{eid}/timeline?format=csv", "aud").get_data(as_text=True))))
    assert any(r["subject"] == "andy" and "owner: alice → andy" in r["changes"]
               for r in rows)
    page = c.get(f"/escalations/{eid}/timeline?format=markdown", "aud").get_data(as_text=True)
    assert "granted refund 50.00 USD" in page and "| sam (supervisor) | andy |" in page


def test_hashes_are_hex_beside_the_deprecated_base64_fields(c: Client) -> None:
    for _ in range(5):  # a checkpoint is signed every 10 events here
        c.act(c.open(), "alice", "acknowledge", {"note": "x"})
    cp = c.get("/audit/checkpoint", "aud").json
    assert bytes.fromhex(cp["root_hex"]) == base64.b64decode(cp["root"])
    proof = c.get(f"/audit/proof/inclusion?seq=1&size={cp['size']}", "aud").json
    assert "proof_hex" in proof, (cp, proof)
    assert [bytes.fromhex(h) for h in proof["proof_hex"]] == \
        [base64.b64decode(p) for p in proof["proof"]]
    assert proof["leaf_hash_hex"] == base64.b64decode(proof["leaf_hash"]).hex()
    cons = c.get(f"/audit/proof/consistency?from=1&to={cp['size']}", "aud").json
    assert cons["to_root_hex"] == cp["root_hex"]
    events = c.get("/audit/events?limit=1", "aud").json["items"]
    assert len(bytes.fromhex(events[0]["leaf_hash"])) == 32
    schemas = c.http.get("/api/v1/openapi.json").json["components"]["schemas"]
    assert schemas["Checkpoint"]["properties"]["root"]["deprecated"] is True
    assert "deprecated" not in schemas["Checkpoint"]["properties"]["root_hex"]
