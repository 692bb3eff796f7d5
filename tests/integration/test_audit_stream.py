"""The event stream for an organisation's SIEM (issue 28, point 6): GET
/api/v1/audit/stream?after=SEQ serves the ledger's events as CloudEvents 1.0 from a
cursor, each once, never an erasable text; it waits a bounded time for new events; only
auditors and admins read it, and each request is an audit-read; a `ledger.*` webhook
subscription receives the same CloudEvents through the outbox, in seq order."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from audit.store import policy_refs
from audit.store.schema import ledger
from tests.initialised_app import Client, make_client
from tests.integration.conftest import Ledger
from tests.integration.notifying import dispose_all, ledger_actions, subscribe, worker_for
from tests.unit.scenario import OPEN
from tests.webhook_receiver import Receiver
from workflow import handlers
from workflow.model import Actor

TITLE, NAME = "Zebra-title-7781 only here", "Grace Uniquename-3390"


@pytest.fixture
def c(tmp_path: Path, database_url: str) -> Iterator[Client]:
    client = make_client(tmp_path, database_url=database_url)
    yield client
    client.app.extensions["baton"].engine.dispose()


def _stream(c: Client, who: str | None = "aud", **query: Any) -> Any:
    return c.http.get("/api/v1/audit/stream", query_string=query, headers=c.h(who))


def _drain(c: Client, after: int = -1, limit: int = 4) -> tuple[list[dict[str, Any]], int]:
    """Every event from `after`, page by page; the last cursor."""
    seen: list[dict[str, Any]] = []
    while True:
        page = _stream(c, after=after, limit=limit)
        assert page.status_code == 200, page.json
        seen += page.json["events"]
        if not page.json["events"]:
            return seen, after
        after = page.json["next_after"]


def test_the_cursor_serves_each_event_once_and_no_erasable_text(c: Client) -> None:
    baton = c.app.extensions["baton"]
    for _ in range(2):
        eid = c.open(title=TITLE, customer={"id": "cust-9", "name": NAME, "value": "strategic"})
        c.act(eid, "alice", "acknowledge", {"note": "x"})
    first = _stream(c, limit=3).json
    assert [e["sequence"] for e in first["events"]] == ["0", "1", "2"]
    assert first["next_after"] == 2
    event = first["events"][1]
    assert event["specversion"] == "1.0" and event["datacontenttype"] == "application/json"
    assert event["id"] == f"{baton.origin}/1" and event["source"] == baton.origin
    assert event["type"] == "org.baton.open" and event["subject"] == event["data"][
        "escalation_id"]
    assert event["time"] == event["data"]["at"] and event["data"]["seq"] == 1
    seen, cursor = _drain(c, after=first["next_after"])
    sequences = [int(e["sequence"]) for e in first["events"] + seen]
    assert sequences == sorted(set(sequences)), "in order, none twice"
    reads = [e for e in seen if e["type"] == "org.baton.audit-read"]
    assert reads == [], "the stream does not serve its own audit-reads back"
    handlers.erase_customer(uow=baton.uow, actor=Actor("root", ("admin",)),
                            customer_id="cust-9", now=baton.now())
    everything, _ = _drain(c, limit=1000)
    text = json.dumps(everything)
    assert "org.baton.content-erased" in text
    assert TITLE not in text and NAME not in text and "Zebra" not in text
    opened = next(e for e in everything if e["type"] == "org.baton.open")
    assert set(opened["data"]["payload"]["title"]) == {"commitment", "list"}
    assert _stream(c, after=cursor + 10**6).json["events"] == []


def test_each_request_is_one_audit_read(c: Client) -> None:
    c.open()
    c.open()
    page = _stream(c, limit=2).json
    again = _stream(c, after=page["next_after"], limit=1000).json
    with c.app.extensions["baton"].engine.connect() as conn:
        rows = conn.execute(select(ledger.c.body).where(
            ledger.c.action == "audit-read").order_by(ledger.c.seq)).scalars().all()
        reads = policy_refs.records(conn, list(rows))
    assert [(r["actor"], r["rule"]) for r in reads] == [("aud", "permission.read-audit")] * 2
    assert reads[0]["payload"] == {"read": "stream", "path": "api", "size": page["size"],
                                   "first": 0, "last": 1, "count": 2,
                                   "query": {"after": -1, "limit": 2}}
    served = [int(e["sequence"]) for e in again["events"]]
    assert reads[1]["payload"]["first"] == served[0] == 2  # the stream's read: passed over
    assert "audit-read" not in {e["data"]["action"] for e in again["events"]}
    assert reads[1]["payload"]["count"] == len(served)
    assert reads[1]["payload"]["size"] == again["size"] == page["size"] + 1


def test_the_wait_is_bounded_and_ends_at_the_first_event(c: Client) -> None:
    _, cursor = _drain(c, limit=1000)
    started = time.monotonic()
    idle = _stream(c, after=cursor, wait=1).json
    took = time.monotonic() - started
    assert idle["events"] == [] and 0.7 <= took < 4, took
    assert idle["next_after"] >= cursor
    assert _stream(c, after=cursor, wait=31).status_code in (400, 422)
    assert _stream(c, after=-2).status_code in (400, 422)

    def later() -> None:
        time.sleep(0.6)
        c.app.test_client().post("/api/v1/escalations", json=OPEN, headers=c.h("alice"))

    writer = threading.Thread(target=later)
    started = time.monotonic()
    writer.start()
    woke = _stream(c, after=idle["next_after"], wait=20).json
    writer.join()
    assert time.monotonic() - started < 10
    assert [e["type"] for e in woke["events"]][:1] == ["org.baton.open"]


def test_only_auditors_and_admins_read_it(c: Client) -> None:
    assert _stream(c, None).status_code == 401
    refused = _stream(c, "alice")
    assert refused.status_code == 403
    assert refused.json["rule"] == "permission.read-audit"
    assert refused.content_type.startswith("application/problem+json")
    assert _stream(c, "root").status_code == 200 and _stream(c, "aud").status_code == 200


@pytest.fixture
def cleanup() -> Iterator[None]:
    yield
    dispose_all()


def test_a_ledger_subscription_receives_every_event_in_order(
        led: Ledger, receiver: Receiver, cleanup: None) -> None:
    created = subscribe(led, receiver.url, ("ledger.*",))
    receiver.secrets.append(created["secret"])
    led.lifecycle("e1")
    worker_for(led).run(once=True)
    subscribed = [seq for seq, _, action in ledger_actions(led)
                  if action == "webhook-subscribed"]
    last = ledger_actions(led)[-1][0]
    got = receiver.got
    assert receiver.bad_signatures == 0 and got
    assert all(r.headers["content-type"] == "application/cloudevents+json" for r in got)
    sequences = [int(r.json["sequence"]) for r in got]
    assert sequences == sorted(sequences) and len(set(sequences)) == len(sequences)
    assert sequences == list(range(subscribed[0], last + 1)), "from its own subscription on"
    kinds = {r.json["type"] for r in got}
    assert {"org.baton.open", "org.baton.resolve", "org.baton.debrief"} <= kinds
    assert all(r.json["specversion"] == "1.0" and r.json["id"].endswith(
        f"/{r.json['sequence']}") for r in got)
    assert "over to you" not in json.dumps([r.json for r in got])  # hand-off context: text
