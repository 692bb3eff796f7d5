"""The escalation list's search and hand-off filters (issue 25, points 2 and 6) on both
databases, through the API: `q=` over customer id, title, description and customer name,
combined with the other filters; erased text never matches; `proposed_owner=` (`me`) and
`handoff=pending`."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from audit.store import search_index
from tests.initialised_app import Client, make_client


@pytest.fixture
def c(tmp_path: Path, database_url: str) -> Iterator[Client]:
    client = make_client(tmp_path, database_url=database_url)
    yield client
    client.app.extensions["baton"].engine.dispose()


def _titles(c: Client, who: str = "sam", **args: Any) -> list[str]:
    query = "&".join(f"{k}={v}" for k, v in args.items())
    r = c.get(f"/escalations?{query}", who)
    assert r.status_code == 200, r.json
    return sorted(item["title"] or f"(erased {item['customer']['id']})"
                  for item in r.json["items"])


def _seed(c: Client) -> dict[str, str]:
    return {
        "vat": c.open(title="Invoice shows the wrong VAT", severity="normal",
                      customer={"id": "acme-7", "name": "Grace Hopper", "value": "standard"}),
        "checkout": c.open(title="Checkout down for EU customers", category="technical",
                           severity="urgent", description="Payments fail with a timeout",
                           customer={"id": "cust-42", "name": "Ada Lovelace",
                                     "value": "strategic"}),
        "refund": c.open(title="Refund never arrived", description="Invoice 77 unpaid",
                         customer={"id": "cust-43", "name": "Zoë Müller",
                                   "value": "standard"}),
    }


def test_q_matches_title_description_customer_id_and_name_as_prefixes(c: Client) -> None:
    _seed(c)
    assert _titles(c, q="invoice") == ["Invoice shows the wrong VAT", "Refund never arrived"]
    assert _titles(c, q="Checko") == ["Checkout down for EU customers"]  # a prefix
    assert _titles(c, q="timeout payments") == ["Checkout down for EU customers"]
    assert _titles(c, q="acme-7") == ["Invoice shows the wrong VAT"]
    assert _titles(c, q="lovelace") == ["Checkout down for EU customers"]
    assert _titles(c, q="Müller") == ["Refund never arrived"]
    assert _titles(c, q="invoice%20lovelace") == []  # every word must match
    assert _titles(c, q="%22)(*") == []  # no word: nothing, and no error


def test_q_combines_with_every_filter(c: Client) -> None:
    ids = _seed(c)
    assert c.act(ids["refund"], "alice", "acknowledge", {"note": "mine"}).status_code == 200
    assert _titles(c, q="invoice", state="acknowledged") == ["Refund never arrived"]
    assert _titles(c, q="invoice", owner="alice") == ["Refund never arrived"]
    assert _titles(c, q="invoice", severity="normal") == ["Invoice shows the wrong VAT"]
    assert _titles(c, q="invoice", category="technical") == []
    assert _titles(c, q="invoice", customer="acme-7") == ["Invoice shows the wrong VAT"]
    assert _titles(c, q="invoice", breached="false", sort="next_due") == [
        "Invoice shows the wrong VAT", "Refund never arrived"]
    first = c.get("/escalations?q=invoice&limit=1", "sam").json
    second = c.get(f"/escalations?q=invoice&limit=1&cursor={first['next_cursor']}",
                   "sam").json
    assert [first["items"][0]["title"], second["items"][0]["title"]] == [
        "Invoice shows the wrong VAT", "Refund never arrived"]


def test_many_matches_walked_in_list_order_give_the_same_pages(
        c: Client, monkeypatch: pytest.MonkeyPatch) -> None:
    """On PostgreSQL a query matching more than search_index.FEW escalations tests each
    row's document as the list walks (a plan of its own); with FEW at 0 every query
    takes that path, and the answers, erasures, filters and cursors stay the same."""
    ids = _seed(c)
    assert c.act(ids["refund"], "alice", "acknowledge", {"note": "mine"}).status_code == 200
    queries = [{"q": "invoice"}, {"q": "Checko"}, {"q": "timeout%20payments"},
               {"q": "acme-7"}, {"q": "invoice%20lovelace"}, {"q": "invoice", "owner": "alice"},
               {"q": "invoice", "severity": "normal"}, {"q": "invoice", "sort": "next_due"},
               {"q": "%22)(*"}]
    expected = [_titles(c, **q) for q in queries]
    monkeypatch.setattr(search_index, "FEW", 0)
    assert [_titles(c, **q) for q in queries] == expected
    first = c.get("/escalations?q=invoice&limit=1", "sam").json
    second = c.get(f"/escalations?q=invoice&limit=1&cursor={first['next_cursor']}",
                   "sam").json
    assert [first["items"][0]["title"], second["items"][0]["title"]] == [
        "Invoice shows the wrong VAT", "Refund never arrived"]
    assert second["next_cursor"] is None
    assert c.post("/admin/erasures", "root", {"customer_id": "acme-7"}).status_code == 200
    assert _titles(c, q="invoice") == ["Refund never arrived"]
    assert _titles(c, q="acme-7") == ["(erased acme-7)"]


def test_erased_text_never_matches_and_the_customer_id_still_does(c: Client) -> None:
    _seed(c)
    assert c.post("/admin/erasures", "root", {"customer_id": "cust-42"}).status_code == 200
    assert _titles(c, q="lovelace") == []
    assert _titles(c, q="checkout") == []
    assert _titles(c, q="timeout") == []
    assert _titles(c, q="cust-42") == ["(erased cust-42)"]
    with c.app.extensions["baton"].engine.connect() as conn:
        if conn.dialect.name == "postgresql":
            words = conn.execute(text("SELECT document::text FROM escalation_search")).all()
        else:
            words = conn.execute(text("SELECT body FROM escalation_search")).all()
    assert not any("lovelace" in str(w).lower() for w in words)


def test_offers_are_found_by_proposed_owner_and_pending_handoff(c: Client) -> None:
    ids = _seed(c)
    for eid in (ids["vat"], ids["refund"]):
        assert c.act(eid, "alice", "acknowledge", {"note": "mine"}).status_code == 200
    r = c.act(ids["vat"], "alice", "hand-off", {"to": "andy", "context": "VAT rules"})
    assert r.status_code == 200, r.json
    assert _titles(c, "andy", proposed_owner="me") == ["Invoice shows the wrong VAT"]
    assert _titles(c, proposed_owner="andy") == ["Invoice shows the wrong VAT"]
    assert _titles(c, proposed_owner="alice") == []
    assert _titles(c, handoff="pending") == ["Invoice shows the wrong VAT"]
    assert _titles(c, handoff="none") == ["Checkout down for EU customers",
                                          "Refund never arrived"]
    assert _titles(c, "andy", proposed_owner="me", q="vat") == [
        "Invoice shows the wrong VAT"]
    assert _titles(c, "andy", proposed_owner="me", q="refund") == []
    assert c.act(ids["vat"], "andy", "accept-handoff", {}).status_code == 200
    assert _titles(c, "andy", proposed_owner="me") == []
    assert c.get("/escalations?handoff=maybe", "sam").status_code == 422
    assert c.get("/escalations?q=", "sam").status_code == 422


def test_the_deadline_order_walks_dated_then_undated_rows_across_pages(
        c: Client, monkeypatch: pytest.MonkeyPatch) -> None:
    """sort=next_due reads the rows with a running deadline along its index, then those
    without one by pk: every page, with or without q= (either plan), in the order of
    the deadline-or-last expression it replaced, each escalation once."""
    ids = _seed(c)
    more = [c.open(title=f"Invoice copy {i}") for i in range(3)]
    with c.app.extensions["baton"].engine.begin() as conn:
        # As an escalation whose clocks have all stopped (the read sees only the column).
        conn.execute(text("UPDATE escalations SET earliest_due = NULL WHERE id IN (:a, :b)"),
                     {"a": ids["vat"], "b": more[1]})
    with c.app.extensions["baton"].engine.connect() as conn:
        expected = [row.id for row in conn.execute(text(
            "SELECT id, earliest_due FROM escalations "
            "ORDER BY COALESCE(earliest_due, '~'), pk"))]
        undated = conn.execute(text("SELECT count(*) FROM escalations "
                                    "WHERE earliest_due IS NULL")).scalar()
    assert undated and undated < len(expected)

    def walk(extra: str) -> list[str]:
        seen: list[str] = []
        url = f"/escalations?sort=next_due&limit=2{extra}"
        while url:
            page = c.get(url, "sam").json
            seen += [e["id"] for e in page["items"]]
            url = (f"/escalations?sort=next_due&limit=2{extra}&cursor={page['next_cursor']}"
                   if page["next_cursor"] else "")
        return seen

    assert walk("") == expected
    invoices = [e for e in expected if e != ids["checkout"]]
    assert walk("&q=invoice") == invoices
    monkeypatch.setattr(search_index, "FEW", 0)  # many matches: tested as walked
    assert walk("&q=invoice") == invoices
