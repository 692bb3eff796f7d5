"""SLA breaches: each clock, the temporary owner and its release, parallel sweepers."""

from __future__ import annotations

import threading
from collections import Counter
from datetime import timedelta

from audit.reads import records, timeline, trails
from audit.reads.export import verify_db
from tests.integration.conftest import Ledger
from tests.threads import run_together
from workflow.sla_sweep import sweep


def run_sweep(led: Ledger, minutes_later: float) -> list[dict]:
    """Sweep at now + minutes; return the records it wrote."""
    with led.engine.connect() as conn:
        before = conn.exec_driver_sql("SELECT COUNT(*) FROM ledger").scalar()
    sweep(uow_factory=led.uow, now=led.now + timedelta(minutes=minutes_later))
    with led.engine.connect() as conn:
        rows = conn.exec_driver_sql(
            f"SELECT escalation_id FROM ledger WHERE seq >= {before} ORDER BY seq").all()
        out = []
        for eid in dict.fromkeys(r[0] for r in rows):
            out += [r for r in records.history(conn, eid) if r["seq"] >= before]
    return out


def test_acknowledgment_breach_at_tier_0_and_its_release(led: Ledger) -> None:
    led.open("esc-a", severity="urgent")  # acknowledge within 10 minutes
    # The default policy warns at 75 % of the clock (7.5 minutes), the team being told.
    assert [(r["action"], r["payload"]["threshold"]) for r in run_sweep(led, 9)] == [
        ("sla-warning", "75%")]
    written = run_sweep(led, 11)
    assert [(r["action"], r["rule"]) for r in written] == [
        ("sla-breached", "sla.urgent.acknowledge"), ("notified", "sla.notify")]
    breach = written[0]["payload"]
    assert breach["clock"] == "acknowledge" and breach["acting_owner"] == "andy"
    assert breach["late_by_seconds"] == 60 and breach["target_seconds"] == 600
    assert written[1]["payload"]["recipients"] == ["andy", "sam"]
    assert run_sweep(led, 12) == [], "one event per breach, however often it runs"
    with led.uow() as uow:
        esc = uow.escalations.get("esc-a")
    assert esc is not None and esc.acting_owner == "andy" and esc.owner is None
    led.tick(12)
    led.act("esc-a", "alice", "acknowledge")
    with led.engine.connect() as conn:
        recs = records.history(conn, "esc-a")
    assert [r["action"] for r in recs][-2:] == ["acknowledge", "acting-owner-released"]
    assert recs[-1]["payload"] == {"acting_owner": "andy", "cleared_by": "acknowledge"}
    spans = trails.trail(recs)
    assert [(s["owner"], s["kind"], s["began"], s["ended"]) for s in spans] == [
        ("andy", "acting", "temporary-cover", "released"),
        ("alice", "owner", "acknowledged", None)]
    t = timeline.build(recs)
    assert [e["action"] for e in t["events"]] == [
        "open", "sla-warning", "sla-breached", "notified", "acknowledge",
        "acting-owner-released"]


def test_acknowledgment_breach_at_a_higher_tier(led: Ledger) -> None:
    led.open("esc-b", severity="urgent", category="technical")
    led.act("esc-b", "alice", "acknowledge")
    led.act("esc-b", "alice", "escalate", {"reason": "deep", "trigger": "complexity"})
    written = run_sweep(led, 11)
    clocks = [r["payload"]["clock"] for r in written if r["action"] == "sla-breached"]
    assert clocks == ["acknowledge"], "a new tier restarts the acknowledgment clock"
    # specialists' first fallback; never sam, who governs it (issue 14)
    assert written[0]["payload"]["acting_owner"] == "bea"
    assert written[0]["tier"] == 1
    led.tick(11)
    led.act("esc-b", "bob", "acknowledge")
    with led.uow() as uow:
        esc = uow.escalations.get("esc-b")
    assert esc is not None and esc.acting_owner is None and esc.owner == "bob"


def test_missed_status_update_and_missed_resolution(led: Ledger) -> None:
    led.open("esc-c", severity="urgent")
    led.act("esc-c", "alice", "acknowledge")  # update every 30 min, resolve within 2 h
    written = run_sweep(led, 31)
    assert [r["payload"].get("clock") for r in written] == ["update", "update"]
    led.tick(31)
    led.act("esc-c", "alice", "update", {"note": "still digging", "next_steps": "logs"})
    with led.uow() as uow:
        esc = uow.escalations.get("esc-c")
    assert esc is not None and esc.acting_owner is None, "the update cleared the blocker"
    written = run_sweep(led, 130)
    breaches = [r["payload"]["clock"] for r in written if r["action"] == "sla-breached"]
    assert breaches == ["resolve", "update"]
    led.tick(130)
    led.act("esc-c", "alice", "resolve")
    with led.engine.connect() as conn:
        recs = records.history(conn, "esc-c")
        assert verify_db(conn, led.signer.vkey, "baton.test/ledger").ok
    assert recs[-1]["action"] == "acting-owner-released"
    assert recs[-1]["payload"]["cleared_by"] == "resolve"


def test_parallel_sweepers_record_each_breach_exactly_once(led: Ledger) -> None:
    for i in range(24):
        led.open(f"esc-{i}", severity="urgent")
    later = led.now + timedelta(minutes=15)
    barrier = threading.Barrier(4)
    errors: list[BaseException] = []

    def sweeper() -> None:
        barrier.wait()
        try:
            sweep(uow_factory=led.uow, now=later, batch=5)
        except BaseException as exc:  # noqa: BLE001 - asserted below
            errors.append(exc)

    run_together([sweeper] * 4)
    assert errors == []
    with led.engine.connect() as conn:
        rows = conn.exec_driver_sql(
            "SELECT escalation_id FROM ledger WHERE action = 'sla-breached'").all()
        assert verify_db(conn, led.signer.vkey, "baton.test/ledger").ok
    counts = Counter(r[0] for r in rows)
    assert len(counts) == 24 and set(counts.values()) == {1}
