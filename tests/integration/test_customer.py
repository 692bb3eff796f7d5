"""The customer's side over HTTP (issue 18): a whole journey from a promise to a tracked
debrief action item, told the same way by the debrief pack, the metrics, the timeline
and the ledger; and feedback links that work once, in time, as issued."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

import pytest

from audit.reads.export import verify_db
from tests.initialised_app import Client, Clock, make_client, ok
from workflow import policy_loader
from workflow.authority import customer_actor, decide
from workflow.sla_sweep import sweep


@pytest.fixture
def c(tmp_path: Path, clock: Clock) -> Client:
    return make_client(tmp_path, clock)



def link_path(c: Client, eid: str, who: str = "alice") -> str:
    made = ok(c.post(f"/escalations/{eid}/feedback-link", who, {}), 201)
    assert made["link"].startswith("http") and made["expires_at"]
    return urlsplit(made["link"]).path


def test_a_whole_customer_journey_tells_one_story(c: Client, clock: Clock) -> None:
    eid = c.open(category="technical", customer={"id": "c-7", "name": "Grace"})
    ok(c.act(eid, "alice", "acknowledge", {"note": "on it"}))
    clock.advance(minutes=1)
    promised = ok(c.act(eid, "alice", "promise", {"kind": "callback", "within": "2h",
                                                  "note": "specialist calls back"}))
    promise = promised["escalation"]["sla"]["promises"][0]
    assert promise["kind"] == "callback" and promise["kept_at"] is None
    clock.advance(minutes=30)
    kept = ok(c.act(eid, "alice", "contact-customer", {"channel": "phone",
                                                       "summary": "called back"}))
    assert kept["escalation"]["sla"]["promises"][0]["kept_at"] is not None
    ok(c.act(eid, "alice", "resolve", {"summary": "restarted the job"}))
    assert c.get(f"/escalations/{eid}", "alice").json["sla"]["follow_up_by"]

    # The customer says it is not fixed: a repeat, reopened by Baton on the record.
    path = link_path(c, eid)
    page = c.http.get(path)
    assert page.status_code == 200 and "Was your issue resolved?" in page.get_data(True)
    done = c.http.post(path, data={"confirmed": "false", "csat": "2",
                                   "comment": "still failing"})
    assert done.status_code == 200 and "reopened" in done.get_data(as_text=True)
    esc = c.get(f"/escalations/{eid}", "alice").json
    assert esc["state"] == "acknowledged" and esc["reopen_count"] == 1
    assert c.http.post(path, data={"confirmed": "true"}).status_code == 409, "works once"

    ok(c.act(eid, "alice", "resolve", {"summary": "fixed the config"}))
    ok(c.act(eid, "alice", "confirm-resolution", {"confirmed": True, "csat": 5}))
    ok(c.act(eid, "sam", "debrief", {
        "what_worked": "callback", "what_did_not": "first fix", "root_cause": "config",
        "lessons": ["check config first"],
        "actions": [{"what": "add a config check", "owner": "alice", "due": "2026-03-10"},
                    {"what": "document it", "owner": "bob",
                     "due": "2026-03-04T12:00:00Z"}]}))
    items = ok(c.get("/actions?owner=alice&open=true", "alice"))["items"]
    assert [i["what"] for i in items] == ["add a config check"]
    assert c.act(eid, "bob", "complete-action", {"item": items[0]["id"]}).status_code == 403
    ok(c.act(eid, "alice", "complete-action", {"item": items[0]["id"], "note": "merged"}))
    clock.advance(days=3)
    sweep(uow_factory=c.app.extensions["baton"].uow, now=clock.now)
    overdue = ok(c.get("/actions?open=true", "bob"))["items"]
    assert [(i["owner"], i["overdue"]) for i in overdue] == [("bob", True)]

    pack = ok(c.get(f"/escalations/{eid}/debrief-pack", "fay"))
    assert pack["initiated_by"] == "alice" and pack["closed_by"] == "alice"
    assert [p["kept"] for p in pack["promises"]] == [True]
    assert [(x["confirmed"], x["csat"], x["through_link"]) for x in pack["confirmations"]] \
        == [(False, 2, True), (True, 5, False)]
    assert pack["confirmations"][0]["by"] == "customer:c-7"
    assert [(i["what"], i["completed_at"] is not None, i["overdue"])
            for i in pack["action_items"]] == [("add a config check", True, False),
                                                ("document it", False, True)]
    assert pack["lessons"] == ["check config first"] and "bob" in pack["contributors"]
    page = c.get(f"/escalations/{eid}/debrief-pack?format=markdown", "fay")
    assert "| document it | bob |" in page.get_data(as_text=True)
    figures = ok(c.get("/metrics/escalations", "aud"))["groups"][0]
    assert figures["csat"]["mean"] == 3.5 and figures["promise_kept_rate"] == 1.0
    assert figures["debrief_actions"] == {"open": 1, "overdue": 1, "done": 1}
    actions = [e["action"] for e in ok(c.get(f"/escalations/{eid}/timeline", "aud"))["events"]]
    for step in ("promise", "contact-customer", "issue-feedback-link", "confirm-resolution",
                 "reopen", "debrief", "complete-action", "sla-breached"):
        assert step in actions, step
    scrape = c.http.get("/metrics", headers=c.h("aud")).get_data(as_text=True)
    assert 'baton_csat_responses{score="5"} 1.0' in scrape
    assert 'baton_promises{state="kept"} 1.0' in scrape
    assert 'baton_debrief_actions{state="open"} 1.0' in scrape
    with c.app.extensions["baton"].engine.connect() as conn:
        key = c.app.extensions["baton"].vkey
        assert verify_db(conn, key, "baton.local/ledger").ok


def test_feedback_links_that_are_altered_reused_or_late_are_refused(
        c: Client, clock: Clock) -> None:
    eid = c.open()
    ok(c.act(eid, "alice", "acknowledge", {"note": "x"}))
    ok(c.act(eid, "alice", "resolve", {"summary": "s"}))
    path = link_path(c, eid)
    version = c.get(f"/escalations/{eid}", "alice").json["version"]
    tampered = path[:-3] + ("AAA" if not path.endswith("AAA") else "BBB")
    for bad in (tampered, "/feedback/not-a-token"):
        r = c.http.post(bad, data={"confirmed": "true"})
        assert r.status_code == 400 and "not issued by Baton" in r.get_data(as_text=True)
    clock.advance(days=3)  # the high severity's follow-up window is two days
    late = c.http.get(path)
    assert late.status_code == 410 and "expired" in late.get_data(as_text=True)
    assert c.http.post(path, data={"confirmed": "true"}).status_code == 410
    assert c.get(f"/escalations/{eid}", "alice").json["version"] == version, "nothing"


def test_a_repeat_names_what_it_repeats_and_the_customer_sees_related(c: Client) -> None:
    first = c.open(customer={"id": "c-9"})
    ok(c.act(first, "alice", "acknowledge", {"note": "x"}))
    ok(c.act(first, "alice", "resolve", {"summary": "s"}))
    again = c.open(customer={"id": "c-9"})
    shown = c.get(f"/escalations/{again}", "alice").json
    assert shown["repeat_of"] == first and shown["related"] == [first]
    other = c.open(customer={"id": "c-10"})
    assert c.get(f"/escalations/{other}", "alice").json["repeat_of"] is None


def test_the_customer_role_may_do_nothing_but_confirm(c: Client) -> None:
    policy = policy_loader.default()
    who = customer_actor("c-1")
    for action in ("open", "acknowledge", "note", "promise", "reopen", "update"):
        assert not decide(who, action, None, None, policy).allowed, action
    eid = c.open(customer={"id": "c-1"})
    ok(c.act(eid, "alice", "acknowledge", {"note": "x"}))
    ok(c.act(eid, "alice", "resolve", {"summary": "s"}))
    # Someone else's link cannot be used for this escalation: links name their case.
    other = c.open(customer={"id": "c-2"})
    ok(c.act(other, "alice", "acknowledge", {"note": "x"}))
    ok(c.act(other, "alice", "resolve", {"summary": "s"}))
    assert c.http.post(link_path(c, other), data={"confirmed": "true"}).status_code == 200
    assert c.get(f"/escalations/{eid}", "alice").json["confirmed"] is None


def test_a_rating_out_of_range_asks_again_and_the_link_still_works(c: Client) -> None:
    eid = c.open(category="technical")
    ok(c.act(eid, "alice", "acknowledge", {"note": "x"}))
    ok(c.act(eid, "alice", "resolve", {"summary": "s"}))
    path = link_path(c, eid)
    refused = c.http.post(path, data={"confirmed": "true", "csat": "7"})
    assert refused.status_code == 422  # the customer's input, not a conflict of the link's
    page = refused.get_data(as_text=True)
    assert "cannot be used" not in page and "1 to 5" in page and f'href="{path}"' in page
    assert c.http.post(path, data={"confirmed": "true", "csat": "5"}).status_code == 200
