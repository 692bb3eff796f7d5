"""Erasing a customer's content leaves every hash, root and checkpoint valid."""

from __future__ import annotations

import io
import sqlite3
from datetime import timedelta

import pytest

from audit.reads import records, timeline, trails
from audit.reads.export import verify_db, write_bundle
from audit.verifier.verify import verify_bundle
from tests import bundle_layouts
from tests.integration.conftest import Ledger, make_ledger
from tests.unit.fakes import DEMO_ACTORS
from workflow import erasure, policy_loader

ROOT = DEMO_ACTORS["root"]

SECRET = "Ada Lovelace"
NOTE = "Customer mentioned her card ending 4242"


def seed(led: Ledger) -> None:
    led.lifecycle("esc-a")
    led.open("esc-b", customer={"id": "cust-7", "name": "Grace Hopper"})
    led.act("esc-b", "alice", "acknowledge", {"note": "fine"})
    led.open("esc-c", customer={"id": "cust-42", "name": SECRET})
    led.act("esc-c", "alice", "acknowledge", {"note": NOTE})


def export(led: Ledger) -> tuple[str, list]:
    with led.engine.connect() as conn:
        out = io.StringIO()
        write_bundle(conn, out, "baton.test/ledger", led.signer.vkey, led.now)
    text = out.getvalue()
    return text, bundle_layouts.items(text)


def test_erase_a_customer_keeps_the_record_and_loses_the_words(sqlite_led: Ledger) -> None:
    seed(sqlite_led)
    before_text, before = export(sqlite_led)
    held = [i["note"] for i in before if i["type"] == "checkpoint"]
    assert SECRET in before_text and NOTE in before_text
    with sqlite_led.uow() as uow:
        done = erasure.erase_customer(uow=uow, customer_id="cust-42", actor=ROOT,
                                      now=sqlite_led.tick(), policy=sqlite_led.policy)
        uow.commit()
    assert sorted(done.events) == ["esc-a", "esc-c"] and done.fields > 0

    with sqlite_led.engine.connect() as conn:
        report = verify_db(conn, sqlite_led.signer.vkey, "baton.test/ledger", held)
        assert report.ok, report.problems
        assert report.erased == done.fields
        recs = records.history(conn, "esc-c")
        other = records.history(conn, "esc-b")
    assert recs[0]["payload"]["title"] is None
    assert recs[0]["erased"]["customer_name"]["by"] == "root"
    assert recs[-1]["action"] == "content-erased" and recs[-1]["actor"] == "root"
    assert other[0]["payload"]["customer_name"] == "Grace Hopper"
    t = timeline.build(recs)
    assert t["title"] is None and "title" in t["events"][0]["erased_fields"]
    assert [(s["owner"], s["began"]) for s in trails.trail(recs)] == [("alice", "acknowledged")]
    assert "*(erased: " in timeline.to_markdown(t)

    after_text, after = export(sqlite_led)
    assert SECRET not in after_text and NOTE not in after_text
    offline = verify_bundle(after_text.splitlines(keepends=True), sqlite_led.signer.vkey, held)
    assert offline.ok, offline.problems
    assert offline.erased == done.fields

    # The files as they are right after the erasure, connections still open: the -wal file
    # too (the erasure's commit emptied it; issue 15), with no VACUUM to help.
    files = {p.name: p.read_bytes() for p in sqlite_led.path.parent.glob("baton.db*")}
    assert {"baton.db", "baton.db-wal"} <= set(files)
    for name, data in files.items():
        assert SECRET.encode() not in data, name
        assert NOTE.encode() not in data, name
    assert b"Grace Hopper" in files["baton.db"]


def test_edited_content_row_is_caught_online(sqlite_led: Ledger) -> None:
    seed(sqlite_led)
    raw = sqlite3.connect(sqlite_led.path)
    raw.execute("UPDATE content SET text = 'Ada Byron' WHERE field = 'customer_name' "
                "AND seq IN (SELECT seq FROM ledger WHERE escalation_id = 'esc-c')")
    raw.commit()
    raw.close()
    with sqlite_led.engine.connect() as conn:
        report = verify_db(conn, sqlite_led.signer.vkey, "baton.test/ledger")
    assert not report.ok
    assert report.problems[0].endswith(
        "field customer_name: content does not match its commitment (edited)")


def test_legal_hold_stops_erasure_and_retention(tmp_path) -> None:
    text = policy_loader.default_text().replace(
        'description = "Invoices, charges, refunds and credits"',
        'description = "Invoices, charges, refunds and credits"\nretention = "30d"')
    led = make_ledger(f"sqlite:///{tmp_path / 'r.db'}", tmp_path / "r.db")
    led.policy = policy_loader.loads(text)
    led.open("esc-old", category="billing")
    led.act("esc-old", "alice", "acknowledge")
    led.act("esc-old", "alice", "resolve")
    led.open("esc-held", category="billing", customer={"id": "cust-9", "name": "Held"})
    led.act("esc-held", "alice", "acknowledge")
    led.act("esc-held", "alice", "resolve")
    led.act("esc-held", "lee", "legal-hold", {"reason": "litigation pending"})
    led.open("esc-open", category="billing")
    with led.uow() as uow:
        early = erasure.retention_sweep(uow=uow, now=led.now + timedelta(days=29),
                                        policy=led.policy)
        uow.commit()
    assert early.events == {}
    with led.uow() as uow:
        done = erasure.retention_sweep(uow=uow, now=led.now + timedelta(days=31),
                                       policy=led.policy)
        uow.commit()
    assert list(done.events) == ["esc-old"] and done.held == ["esc-held"]
    with led.uow() as uow:
        asked = erasure.erase_customer(uow=uow, customer_id="cust-9", actor=ROOT,
                                       now=led.tick(), policy=led.policy)
        uow.commit()
    assert asked.events == {} and asked.held == ["esc-held"]
    with led.engine.connect() as conn:
        assert records.history(conn, "esc-held")[0]["payload"]["customer_name"] == "Held"
        assert records.history(conn, "esc-old")[0]["payload"]["title"] is None
        assert verify_db(conn, led.signer.vkey, "baton.test/ledger").ok
    led.engine.dispose()


@pytest.mark.parametrize("field", ["title", "description", "customer_name"])
def test_a_forged_text_cannot_match_an_erased_commitment(sqlite_led: Ledger, field: str) -> None:
    seed(sqlite_led)
    with sqlite_led.uow() as uow:
        erasure.erase_customer(uow=uow, customer_id="cust-42", actor=ROOT, now=sqlite_led.tick(),
                               policy=sqlite_led.policy)
        uow.commit()
    raw = sqlite3.connect(sqlite_led.path)
    raw.execute("INSERT INTO content VALUES (?, ?, ?, ?)",
                (_open_seq(sqlite_led), field, bytes(32), "Anything at all"))
    raw.commit()
    raw.close()
    with sqlite_led.engine.connect() as conn:
        report = verify_db(conn, sqlite_led.signer.vkey, "baton.test/ledger")
    assert not report.ok and "does not match its commitment" in report.problems[0]


def _open_seq(led: Ledger) -> int:
    raw = sqlite3.connect(led.path)
    seq = raw.execute("SELECT seq FROM ledger WHERE escalation_id = 'esc-c' "
                      "AND action = 'open'").fetchone()[0]
    raw.close()
    return int(seq)
