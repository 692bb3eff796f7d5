"""bench.lean keeps running: Baton's lifecycle and its baselines at a tiny size, with the
eventsourcing library and without it (a benchmark-only extra that may be missing)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
ROW = r"^{} +[\d.]+ transitions/s +[\d.]+ ms CPU/transition +[\d.]+ bytes/event"
# Runs the module as `python -m bench.lean` does, after the prelude.
RUN = ("import runpy, sys; {prelude}; sys.argv = ['bench.lean'] + sys.argv[1:]; "
       "runpy.run_module('bench.lean', run_name='__main__')")


def lean(*args: str, prelude: str = "pass") -> str:
    done = subprocess.run(
        [sys.executable, "-c", RUN.format(prelude=prelude), "--escalations", "5",
         "--rounds", "1", *args],
        cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)}, capture_output=True,
        text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_all_five_side_by_side_with_the_bytes_of_each_table(tmp_path: Path) -> None:
    out = lean("--json", str(tmp_path / "lean.json"))
    assert re.search(r"^machine: cores=\d+, python=[\d.]+, sqlite=[\d.]+, ", out, re.M)
    assert "load_average=" in out and "commit=" in out
    for name in ("baton", "eventsourcing", "core", "sqlite3", "baton-sql"):
        assert re.search(ROW.format(name), out, re.M), (name, out)
    for name in ("eventsourcing", "core", "sqlite3", "baton-sql"):
        assert re.search(rf"^baton/{name}: [\d.]+ by transitions/s \(rounds [\d.]+\), "
                         rf"[\d.]+ by CPU per transition; bytes per event [\d.]+x$", out, re.M)
    assert re.search(r"^  ledger +\d+ B +[\d.]+ B/event: 41 rows", out, re.M), (
        "5 escalations x 8 transitions and the policy's event")
    saved = json.loads((tmp_path / "lean.json").read_text())
    systems = saved["figures"]["systems"]
    assert set(systems) == {"baton", "eventsourcing", "core", "sqlite3", "baton-sql"}
    # the replay of Baton's statements writes what Baton wrote
    assert abs(systems["baton-sql"]["bytes"] - systems["baton"]["bytes"]) \
        < 0.05 * systems["baton"]["bytes"], systems
    assert re.search(r"^of Baton's [\d.]+ ms CPU a transition, the driver and SQLite on "
                     r"its statements \(baton-sql\) take [\d.]+ ms and the rest, [\d.]+ ms, "
                     r"is Baton's Python", out, re.M), out
    assert {"ledger", "escalations", "content"} <= {
        t["of"] for t in saved["figures"]["baton_bytes"]}
    assert saved["machine"]["load_average"] and saved["escalations"] == 5


def test_without_eventsourcing_the_others_run_and_it_says_so() -> None:
    out = lean(prelude="sys.modules['eventsourcing'] = None")  # as if not installed
    for name in ("baton", "core", "sqlite3"):
        assert re.search(ROW.format(name), out, re.M), (name, out)
    assert not re.search(ROW.format("eventsourcing"), out, re.M)
    assert "eventsourcing: not installed (pip install -e '.[bench]'): not measured" in out
