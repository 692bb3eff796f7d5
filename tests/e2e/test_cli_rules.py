"""Issue 14's command line: --now only on a simulation and only forwards, Baton's own
role is not for people, a team-routed role without a team is warned about, the policy's
version is printed with it, metrics name their units, and `| head` ends quietly."""

from __future__ import annotations

import json
import os
import re
import subprocess
from pathlib import Path

from audit.reads import metrics
from audit.store import db, simulation
from tests.e2e.conftest import BATON, baton_here


def _env(tmp_path: Path) -> dict[str, str]:
    return {**os.environ, "BATON_DATABASE_URL": f"sqlite:///{tmp_path / 'baton.db'}",
            "BATON_SIGNING_KEY": str(tmp_path / "signing.key")}


def baton(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    """In this process (tests.e2e.conftest.baton_here); `| head` below is a real process."""
    return baton_here(env, *args)


def test_now_is_refused_outside_a_simulation(tmp_path: Path) -> None:
    env = _env(tmp_path)
    assert baton(env, "init").returncode == 0
    for command in (["sla", "sweep"], ["content", "sweep"]):
        out = baton(env, *command, "--now", "2099-01-01T00:00:00Z")
        assert out.returncode == 1 and "only for simulations" in out.stderr
        assert "Traceback" not in out.stderr
    assert baton(env, "sla", "sweep").returncode == 0, "the real clock is always fine"
    later = baton(env, "init", "--simulation")
    assert later.returncode == 1 and "cannot become a simulation" in later.stderr


def test_a_simulation_sweeps_at_its_now_and_never_goes_back(tmp_path: Path) -> None:
    env = _env(tmp_path)
    assert baton(env, "init", "--simulation").returncode == 0
    token = baton(env, "actors", "add", "alice", "--role", "agent", "--team",
                  "frontline").stdout.strip()
    assert token
    swept = baton(env, "sla", "sweep", "--now", "2099-01-01T00:00:00Z")
    assert swept.returncode == 0 and json.loads(swept.stdout)["at"].startswith("2099")
    back = baton(env, "sla", "sweep", "--now", "2026-01-01T00:00:00Z")
    assert back.returncode == 1 and "only moves forward" in back.stderr
    engine = db.make_engine(env["BATON_DATABASE_URL"])
    with engine.connect() as conn:
        assert simulation.is_simulation(conn), "declared in the ledger's first event"
        latest = simulation.latest_event_at(conn)
    engine.dispose()
    assert latest is not None
    # The sweep advanced the simulation to 2099 (issue 26): its own time is not going back,
    # the latest event's (earlier: that sweep recorded nothing) now is.
    before = baton(env, "sla", "sweep", "--now", latest.replace("Z", "+00:00"))
    assert before.returncode == 1 and "only moves forward" in before.stderr
    same = baton(env, "sla", "sweep", "--now", "2099-01-01T00:00:00Z")
    assert same.returncode == 0, "the simulation's own time is not going back"


def test_actors_policy_show_metrics_and_a_closed_pipe(tmp_path: Path) -> None:
    env = _env(tmp_path)
    assert baton(env, "init").returncode == 0
    system = baton(env, "actors", "add", "robot", "--role", "system")
    assert system.returncode == 1 and "Baton's own role" in system.stderr
    teamless = baton(env, "actors", "add", "zed", "--role", "agent")
    assert teamless.returncode == 0 and teamless.stdout.strip().startswith("bt_")
    assert "warning: zed has no team" in teamless.stderr
    placed = baton(env, "actors", "add", "ann", "--role", "agent", "--team", "frontline")
    assert "warning" not in placed.stderr
    shown = baton(env, "policy", "show").stdout.splitlines()
    assert shown[0].startswith("# version ") and len(shown[0].split()[-1]) == 64
    report = json.loads(baton(env, "metrics", "report", "--format", "json").stdout)
    assert report["units"]["time_to_first_response"] == "seconds"
    row = metrics.flat({"groups": [{"key": "all", "opened": 1, "time_to_first_response": {
        "p50": 1.0, "p90": 2.0, "n": 1}}]})[0]
    assert list(row) == ["key", "opened", "time_to_first_response.p50_seconds",
                         "time_to_first_response.p90_seconds", "time_to_first_response.n"]
    piped = subprocess.run(f"{' '.join(BATON)} audit export | head -c 10 > /dev/null; "
                           "exit ${PIPESTATUS[0]}", shell=True, executable="/bin/bash",
                           env=env, text=True, capture_output=True, timeout=60)
    # head may close the pipe before or after the small export is written: either way, no
    # traceback and no error line, only the count when the whole bundle got through
    assert re.fullmatch(r"(exported \d+ events\n)?", piped.stderr), piped.stderr
