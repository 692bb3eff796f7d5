"""Migration 0017: SQLite's ledger.at becomes integer microseconds, every reader still
sees the same RFC 3339 text, and the way back gives the text back."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from audit.reads.audit_events import page
from audit.reads.export import verify_db
from audit.store import migrate
from tests.integration.conftest import make_ledger

ORIGIN = "baton.test/ledger"


def _raw(path: Path, sql: str) -> list[tuple]:  # type: ignore[type-arg]
    con = sqlite3.connect(path)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def test_upgrade_and_downgrade_keep_every_time(tmp_path: Path) -> None:
    path = tmp_path / "baton.db"
    led = make_ledger(f"sqlite:///{path}", path)
    led.lifecycle("esc-a")
    migrate.downgrade(led.engine, "0016")  # as a database of that revision holds it
    texts = _raw(path, "SELECT seq, at FROM ledger ORDER BY seq")
    guards = _raw(path, "SELECT name, sql FROM sqlite_master WHERE type = 'trigger' "
                        "AND tbl_name = 'ledger' ORDER BY name")
    assert {type(at) for _, at in texts} == {str} and len(guards) == 3
    migrate.upgrade(led.engine)
    assert {t for (t,) in _raw(path, "SELECT DISTINCT typeof(at) FROM ledger")} == {"integer"}
    assert _raw(path, "SELECT name, sql FROM sqlite_master WHERE type = 'trigger' "
                      "AND tbl_name = 'ledger' ORDER BY name") == guards
    with led.engine.connect() as conn:
        shown = page(conn, limit=100)
        assert [(r["seq"], r["at"]) for r in shown.items] == texts
        middle = texts[4][1]
        since = page(conn, limit=100, since=_parse(middle))
        assert [r["seq"] for r in since.items] == [s for s, at in texts if at >= middle]
        assert verify_db(conn, led.signer.vkey, ORIGIN).ok
    led.lifecycle("esc-b")  # written as integers from here
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        con = sqlite3.connect(path)
        con.execute("UPDATE ledger SET at = 0 WHERE seq = 1")
    con.close()
    migrate.downgrade(led.engine, "0016")
    after = _raw(path, "SELECT seq, at FROM ledger ORDER BY seq")
    assert after[:len(texts)] == texts and {type(at) for _, at in after} == {str}
    with led.engine.connect() as conn:
        assert verify_db(conn, led.signer.vkey, ORIGIN).ok
    led.engine.dispose()


def test_a_time_out_of_the_ledgers_format_stops_the_upgrade(tmp_path: Path) -> None:
    path = tmp_path / "baton.db"
    led = make_ledger(f"sqlite:///{path}", path)
    led.lifecycle("esc-a")
    migrate.downgrade(led.engine, "0016")
    con = sqlite3.connect(path)
    con.execute("DROP TRIGGER ledger_no_update")
    con.execute("UPDATE ledger SET at = '2026-01-01T00:00:00Z' WHERE seq = 3")
    con.commit()
    con.close()
    with pytest.raises(RuntimeError, match=r"ledger seq 3: at '2026-01-01T00:00:00Z' is not"):
        migrate.upgrade(led.engine)
    assert migrate.current(led.engine) == "0016"
    assert _raw(path, "SELECT typeof(at) FROM ledger WHERE seq = 4") == [("text",)]
    led.engine.dispose()


def test_times_written_by_new_code_before_the_upgrade_are_kept(tmp_path: Path) -> None:
    """Code of 0017 run on a database still at 0016 writes integers, which a TEXT column
    keeps as digits: the upgrade takes them as the microseconds they are."""
    path = tmp_path / "baton.db"
    led = make_ledger(f"sqlite:///{path}", path)
    led.lifecycle("esc-a")
    with led.engine.connect() as conn:
        texts = [(r["seq"], r["at"]) for r in page(conn, limit=100).items]
    migrate.downgrade(led.engine, "0016")
    led.lifecycle("esc-b")  # this code, that revision
    assert _raw(path, "SELECT typeof(at) FROM ledger ORDER BY seq DESC LIMIT 1") == [("text",)]
    migrate.upgrade(led.engine)
    with led.engine.connect() as conn:
        shown = [(r["seq"], r["at"]) for r in page(conn, limit=100).items]
        assert shown[:len(texts)] == texts and len(shown) == len(texts) + 8
        assert verify_db(conn, led.signer.vkey, ORIGIN).ok
    led.engine.dispose()


def _parse(text: str):  # type: ignore[no-untyped-def]
    from workflow.timestamps import parse_rfc3339
    return parse_rfc3339(text)
