"""Migration 0016: SQLite keeps ledger bodies deflated (audit/store/deflated.py) and
snapshots leave out what the row's columns hold and fields at their default; every read
sees the whole values, a hand-off offered to someone is still found by SQL, and a
downgrade gives the code before 0016 what it reads."""

from __future__ import annotations

import json
import sqlite3

from audit.reads.export import verify_db
from audit.reads.queue import offered_to
from audit.store import deflated, migrate
from tests.integration.conftest import Ledger

ORIGIN = "baton.test/ledger"


def _stored(led: Ledger) -> tuple[list[bytes], dict[str, bytes | str]]:
    raw = sqlite3.connect(led.path)
    bodies = [b for (b,) in raw.execute("SELECT body FROM ledger ORDER BY seq")]
    snapshots = dict(raw.execute("SELECT id, snapshot FROM escalations").fetchall())
    raw.close()
    return bodies, snapshots


def _handed_off(led: Ledger) -> None:
    led.lifecycle("esc-done")
    led.open("esc-waiting")
    led.act("esc-waiting", "alice", "acknowledge")
    led.act("esc-waiting", "alice", "escalate")
    led.act("esc-waiting", "fiona", "acknowledge")
    led.act("esc-waiting", "fiona", "hand-off", {"to": "sue", "context": "over to you"})


def test_new_rows_are_deflated_and_read_as_values(sqlite_led: Ledger) -> None:
    _handed_off(sqlite_led)
    bodies, snapshots = _stored(sqlite_led)
    assert {b[:1] for b in bodies} == {deflated.TAG_1}
    assert sum(map(len, bodies)) < 0.45 * sum(len(deflated.unpack(b)) for b in bodies)
    for snapshot in snapshots.values():
        assert isinstance(snapshot, str)
        assert not {"id", "state", "owner", "legal_hold"} & set(json.loads(snapshot))
    with sqlite_led.engine.connect() as conn:
        assert offered_to(conn, "sue") == 1 and offered_to(conn, "fiona") == 0
        assert verify_db(conn, sqlite_led.signer.vkey, ORIGIN).ok


def test_a_downgrade_inflates_and_an_upgrade_fills_the_proposed_owner(
        sqlite_led: Ledger) -> None:
    _handed_off(sqlite_led)
    migrate.downgrade(sqlite_led.engine, "0015")
    bodies, snapshots = _stored(sqlite_led)
    assert all(b[:1] == b"{" for b in bodies)
    for snapshot in snapshots.values():  # whole again, as that code reads them
        assert {"id", "state", "tier", "owner", "version"} <= set(json.loads(snapshot))
    raw = sqlite3.connect(sqlite_led.path)
    columns = [r[1] for r in raw.execute("PRAGMA table_info(escalations)")]
    guards = {n for (n,) in raw.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'")}
    raw.close()
    assert "proposed_owner" not in columns
    assert {"ledger_no_update", "ledger_no_delete", "ledger_insert_guard"} <= guards
    migrate.upgrade(sqlite_led.engine)
    with sqlite_led.engine.connect() as conn:
        assert offered_to(conn, "sue") == 1  # filled from the snapshot's JSON
        assert verify_db(conn, sqlite_led.signer.vkey, ORIGIN).ok
    sqlite_led.act("esc-waiting", "sue", "accept-handoff", {})
    with sqlite_led.engine.connect() as conn:
        assert offered_to(conn, "sue") == 0
