"""`baton demo` on a new database starts with something to look at, and a restart keeps
it (issue 25, point 7): real `baton demo` processes on free ports, their printed tokens,
the seeded story read back over the API, the tokens kept owner-only and still working
after a restart, nothing seeded twice, and a ledger that verifies."""

from __future__ import annotations

import os
import signal
import stat
import subprocess
import threading
import time
from pathlib import Path
from typing import Any

import requests

from api.cli import DEMO
from api.testbed import BATON, free_port
from workflow.demo_seed import IDS


def _demo(cwd: Path, env: dict[str, str]) -> tuple[subprocess.Popen[str], str,
                                                     dict[str, str], str]:
    """`baton demo` on a free port: the process, its URL, the tokens printed for each
    demo actor, and the line saying where they are kept."""
    port = free_port()
    proc = subprocess.Popen([*BATON, "demo", "--port", str(port), "--workers", "1"],
                            cwd=cwd, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL, text=True, start_new_session=True)
    assert proc.stdout is not None
    tokens: dict[str, str] = {}
    kept = ""
    for line in proc.stdout:
        if line.startswith("Demo actors"):
            kept = line
        parts = line.split()
        if line.startswith("  ") and len(parts) == 4:
            tokens[parts[0]] = parts[3]
        if line.startswith("Dashboard:"):
            break
    threading.Thread(target=proc.stdout.read, daemon=True).start()  # the access log
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            if requests.get(f"{url}/healthz", timeout=5).status_code == 200:
                return proc, url, tokens, kept
        except requests.RequestException:
            pass
        assert proc.poll() is None, "baton demo exited at start"
        assert time.monotonic() < deadline, "baton demo did not answer in 60 s"
        time.sleep(0.1)


def _stop(proc: subprocess.Popen[str]) -> None:
    os.killpg(proc.pid, signal.SIGTERM)
    proc.wait(30)
    assert proc.stdout is not None
    proc.stdout.close()


def _get(url: str, token: str, path: str) -> Any:
    r = requests.get(f"{url}/api/v1{path}", timeout=30,
                     headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 200, r.text
    return r.json()


def _check_story(url: str, tokens: dict[str, str]) -> None:
    """The seeded escalations, each in the state the story left it."""
    fay = tokens["fay"]
    listed = _get(url, fay, "/escalations?limit=50")["items"]
    assert sorted(e["id"] for e in listed) == sorted(IDS.values()), "seeded once, all of it"
    esc = {case: _get(url, fay, f"/escalations/{eid}") for case, eid in IDS.items()}
    breached = esc["breached"]
    assert breached["state"] == "opened" and "acknowledge" in breached["sla"]["breached"]
    assert breached["acting_owner"] in ("alice", "andy")
    assert esc["handoff"]["state"] == "handed-off"
    assert esc["handoff"]["proposed_owner"] == "fiona"
    assert [p["kept_at"] is not None for p in esc["promise"]["sla"]["promises"]] == [True]
    assert (esc["open-new"]["state"], esc["open-taken"]["state"]) == ("opened", "acknowledged")
    pack = _get(url, fay, f"/escalations/{IDS['debriefed']}/debrief-pack")
    assert esc["debriefed"]["state"] == "debriefed" and pack["debrief"]["root_cause"]
    assert sorted((i["owner"], i["completed_at"] is not None)
                  for i in pack["action_items"]) == [("alice", True), ("bob", False)]
    assert [b["acting_owner"] for b in _get(
        url, fay, f"/escalations/{IDS['breached']}/timeline")["breaches"]] \
        == [breached["acting_owner"]], "the breach was swept as the worker would"


def test_the_demo_seeds_a_story_and_a_restart_keeps_tokens_and_story(
        tmp_path: Path, database_url: str) -> None:
    key = tmp_path / "signing.key"
    env = {**os.environ, "BATON_DATABASE_URL": database_url, "BATON_SIGNING_KEY": str(key)}
    proc, url, tokens, kept = _demo(tmp_path, env)
    try:
        assert sorted(tokens) == sorted(handle for handle, _, _ in DEMO)
        _check_story(url, tokens)
    finally:
        _stop(proc)
    where = (tmp_path / "baton.db.demo-tokens" if database_url.startswith("sqlite")
             else tmp_path / "baton-demo-tokens")
    assert str(where) in kept, kept
    assert stat.S_IMODE(where.stat().st_mode) == 0o600
    assert all(token in where.read_text(encoding="utf-8") for token in tokens.values())

    proc, url, again, _ = _demo(tmp_path, env)
    try:
        assert again == tokens, "a restart prints the same tokens"
        for handle, token in tokens.items():  # and they still work
            assert _get(url, token, "/policy") is not None, handle
        _check_story(url, tokens)
    finally:
        _stop(proc)
    verified = subprocess.run([*BATON, "audit", "verify", "--db"], cwd=tmp_path, env=env,
                              capture_output=True, text=True, timeout=120)
    assert verified.returncode == 0 and verified.stdout.startswith("OK"), verified
