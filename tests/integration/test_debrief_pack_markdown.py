"""The debrief pack and the timeline as a facilitator pastes them (issue 25, points 13
and 14): a whole journey over HTTP on both databases, its Markdown read back by a
CommonMark parser (markdown-it-py, with tables), the debrief itself in it, each clock's
real outcome, and nothing a program prints for itself (reprs, None, microseconds)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from markdown_it import MarkdownIt

from tests.initialised_app import Client, Clock, make_client, ok
from workflow.sla_sweep import sweep

REPRS = ("None", "True", "False", "{'", "':", "[]", "{}", ".000000", ": ;", "promises: ;")
DEBRIEF = {"what_worked": "the acting cover picked it up",
           "what_did_not": "the callback came late",
           "root_cause": "a stale cache | behind the load balancer",
           "lessons": ["page the owner before a promise runs out"],
           "actions": [{"what": "alert before promises", "owner": "alice",
                        "due": "2026-03-09"},
                       {"what": "document the cache", "owner": "bob",
                        "due": "2026-03-20T12:00:00Z"}]}



@pytest.fixture
def c(tmp_path: Path, clock: Clock, database_url: str) -> Iterator[Client]:
    client = make_client(tmp_path, clock, database_url=database_url)
    yield client
    client.app.extensions["baton"].engine.dispose()



def _shown(inline: Any) -> str:
    """What a reader sees of an inline run: its texts, escapes undone, marks dropped."""
    return "".join(ch.content for ch in inline.children or []
                   if ch.type in ("text", "code_inline"))


def parsed(text: str) -> tuple[list[list[list[str]]], str]:
    """The tables of a CommonMark page (each a list of rows of cell texts as shown, the
    header first) and the page's texts outside them, as shown."""
    tokens = MarkdownIt("commonmark").enable("table").parse(text)
    tables: list[list[list[str]]] = []
    prose: list[str] = []
    in_table = False
    for i, tok in enumerate(tokens):
        if tok.type == "table_open":
            tables.append([])
            in_table = True
        elif tok.type == "table_close":
            in_table = False
        elif tok.type == "tr_open":
            tables[-1].append([])
        elif tok.type in ("th_open", "td_open"):
            tables[-1][-1].append(_shown(tokens[i + 1]))
        elif tok.type == "inline" and not in_table:
            prose.append(_shown(tok))
    return tables, "\n".join(prose)


def table_with(tables: list[list[list[str]]], header: list[str]) -> list[dict[str, str]]:
    """The rows (as dicts) of the one table with this header."""
    (found,) = [t for t in tables if t[0] == header]
    assert all(len(row) == len(header) for row in found), found
    return [dict(zip(header, row, strict=True)) for row in found[1:]]


def journey(c: Client, clock: Clock) -> str:
    """A callback kept 132 s late (swept 3 s after its deadline, covered by andy), a
    hand-off accepted, a grant, a confirmation, a debrief with two owned items."""
    eid = c.open(category="technical", amount={"value": "100.00", "currency": "USD"})
    ok(c.act(eid, "alice", "acknowledge", {"note": "mine"}))
    ok(c.act(eid, "alice", "promise", {"kind": "callback", "within": "10m"}))
    clock.advance(minutes=10, seconds=3)
    sweep(uow_factory=c.app.extensions["baton"].uow, now=clock.now)
    clock.advance(seconds=129)
    ok(c.act(eid, "alice", "contact-customer", {"channel": "phone", "summary": "called"}))
    ok(c.act(eid, "alice", "hand-off", {"to": "andy", "context": "my shift ends"}))
    clock.advance(minutes=4)
    ok(c.act(eid, "andy", "accept-handoff", {}))
    ok(c.act(eid, "andy", "resolve", {"summary": "flushed the cache", "grant": {
        "kind": "refund", "amount": {"value": "50.00", "currency": "USD"}}}))
    ok(c.act(eid, "andy", "confirm-resolution", {"confirmed": True, "csat": 4}))
    ok(c.act(eid, "fay", "debrief", DEBRIEF))
    items = ok(c.get("/actions?owner=alice", "alice"))["items"]
    clock.advance(hours=1)
    ok(c.act(eid, "alice", "complete-action", {"item": items[0]["id"]}))
    return eid


def test_the_pack_of_a_whole_journey_reads_as_the_ledger_says(c: Client,
                                                                clock: Clock) -> None:
    eid = journey(c, clock)
    pack = ok(c.get(f"/escalations/{eid}/debrief-pack", "fay"))
    review = pack["debrief"]
    assert (review["by"], review["root_cause"], review["what_worked"],
            review["what_did_not"], review["lessons"]) == (
        "fay", DEBRIEF["root_cause"], DEBRIEF["what_worked"], DEBRIEF["what_did_not"],
        DEBRIEF["lessons"])
    (callback,) = [r for r in pack["clocks"] if r["clock"].startswith("promise-")]
    assert (callback["label"], callback["outcome"], callback["margin_seconds"]) == (
        "callback promise " + callback["clock"].removeprefix("promise-"), "met-late", -132)
    assert callback["breach_recorded_at"] is not None
    assert pack["sla"][callback["clock"]] == {"outcome": "met-late", "late_by_seconds": 132}
    assert pack["sla"]["acknowledge"]["outcome"] == "met"

    text = c.get(f"/escalations/{eid}/debrief-pack?format=markdown", "fay").get_data(True)
    tables, prose = parsed(text)
    for needle in REPRS:
        assert needle not in text, (needle, text)
    for said in ("Root cause: a stale cache | behind the load balancer",
                 "What worked: the acting cover picked it up",
                 "What did not: the callback came late",
                 "page the owner before a promise runs out"):
        assert said in prose, (said, prose)
    clocks = table_with(tables, ["clock", "started", "due", "ended", "outcome",
                                 "by how much"])
    (row,) = [r for r in clocks if r["clock"].startswith("callback promise")]
    assert row["outcome"] == "met late (breach recorded 2026-03-02 09:10:03 UTC)"
    assert row["by how much"] == "2m 12s after the deadline"
    assert (row["due"], row["ended"]) == ("2026-03-02 09:10:00 UTC", "2026-03-02 09:12:12 UTC")
    ack = next(r for r in clocks if r["clock"] == "acknowledge")
    assert (ack["outcome"], ack["by how much"]) == ("met", "30m 00s before the deadline")
    handoff = next(r for r in clocks if r["clock"] == "handoff")
    assert (handoff["outcome"], handoff["by how much"]) == ("met", "56m 00s before the deadline")
    items = table_with(tables, ["item", "what", "owner", "due", "state"])
    assert [(i["what"], i["owner"], i["due"]) for i in items] == [
        ("alert before promises", "alice", "2026-03-09 23:59:59 UTC"),
        ("document the cache", "bob", "2026-03-20 12:00:00 UTC")]
    assert items[0]["state"].startswith("done 2026-03-02 10:16:12 UTC by alice")
    assert items[1]["state"] == "open"
    (promise,) = table_with(tables, ["promise", "kind", "made by", "made", "due", "kept"])
    assert promise["kept"] == "kept 2026-03-02 09:12:12 UTC"
    owners = table_with(tables, ["owner", "as", "from", "until", "began by", "ended by"])
    assert [(o["owner"], o["as"]) for o in owners] == [("alice", "owner"), ("andy", "acting"),
                                                       ("andy", "owner")]
    assert "andy granted refund 50.00 USD" in prose


def test_clocks_still_running_say_so_and_a_breach_stays_a_breach(c: Client,
                                                                  clock: Clock) -> None:
    eid = c.open(severity="urgent")
    clock.advance(minutes=10, seconds=2)
    sweep(uow_factory=c.app.extensions["baton"].uow, now=clock.now)
    clock.advance(minutes=5)
    text = c.get(f"/escalations/{eid}/debrief-pack?format=markdown", "fay").get_data(True)
    tables, prose = parsed(text)
    clocks = {r["clock"]: r for r in table_with(
        tables, ["clock", "started", "due", "ended", "outcome", "by how much"])}
    assert clocks["acknowledge"]["outcome"].startswith("breached, still running")
    assert clocks["acknowledge"]["by how much"] == "5m 02s overdue"
    assert (clocks["resolve"]["outcome"], clocks["resolve"]["by how much"]) == (
        "running", "1h 44m left")
    assert clocks["resolve"]["ended"] == "still running"
    assert "Not debriefed yet." in prose and "Not resolved" in prose
    for needle in REPRS:
        assert needle not in text, (needle, text)


def test_the_timeline_markdown_has_whole_seconds_and_no_reprs(c: Client,
                                                              clock: Clock) -> None:
    eid = journey(c, clock)
    text = c.get(f"/escalations/{eid}/timeline?format=markdown", "fay").get_data(True)
    for needle in REPRS:
        assert needle not in text, (needle, text)
    tables, _ = parsed(text)
    header = ["seq", "at", "action", "by (role)", "to", "state", "owner", "changed", "note"]
    events = table_with(tables, header)
    by_action = {e["action"]: e for e in events}
    assert by_action["promise"]["at"] == "2026-03-02 09:00:00 UTC"
    assert "kind callback, due 2026-03-02 09:10:00 UTC" in by_action["promise"]["changed"]
    assert "legal_hold: — → no" in by_action["open"]["changed"]
    assert "confirmed: — → yes" in by_action["confirm-resolution"]["changed"]
    (handoff,) = table_with(tables, ["from", "to", "proposed", "outcome", "took"])
    assert (handoff["to"], handoff["outcome"], handoff["took"]) == ("andy", "accepted",
                                                                    "4m 00s")
