"""kill -9 the server (every worker) during a write load, restart, and lose nothing."""

from __future__ import annotations

import os
import signal
import threading
import time
from collections.abc import Iterator

import pytest
import requests

from api.cli import DEMO
from tests.cli_here import set_up
from tests.e2e.conftest import Server, add_actors, prepare, start
from tests.initialised_app import OPEN


@pytest.fixture(params=["sqlite", "postgresql"])
def crashable(request: pytest.FixtureRequest, tmp_path) -> Iterator[Server]:  # type: ignore[no-untyped-def]
    env = prepare(request, tmp_path)
    set_up(env, "init")
    tokens = add_actors(env, DEMO[:2])
    yield Server("", tokens, env, tmp_path)


def test_no_acknowledged_write_is_lost_across_kill_9(crashable: Server) -> None:
    acknowledged: list[tuple[int, str, str]] = []  # (seq or -1, escalation id, action)
    lock = threading.Lock()

    for _round in range(3):  # each round: start, write under load, kill -9 every process
        proc, url = start(crashable.cwd, crashable.env, workers=2)
        stop = threading.Event()

        def writer(handle: str, url: str, stop: threading.Event) -> None:
            s = requests.Session()
            s.headers["Authorization"] = f"Bearer {crashable.tokens[handle]}"
            while not stop.is_set():
                try:
                    r = s.post(f"{url}/api/v1/escalations", json=OPEN, timeout=5)
                    if r.status_code != 201:
                        continue
                    eid = r.json()["id"]
                    with lock:
                        acknowledged.append((-1, eid, "open"))
                    r = s.post(f"{url}/api/v1/escalations/{eid}/actions/acknowledge",
                               json={"note": "mine"}, timeout=5)
                    if r.status_code == 200:
                        with lock:
                            acknowledged.append((r.json()["seq"], eid, "acknowledge"))
                except requests.RequestException:
                    return  # the server is gone

        threads = [threading.Thread(target=writer, args=(h, url, stop)) for h in crashable.tokens]
        for t in threads:
            t.start()
        time.sleep(1.5)
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
        stop.set()
        for t in threads:
            t.join(timeout=30)

    assert len(acknowledged) > 10, "the load wrote something before each kill"
    # The auditor is added while nothing runs: beside the restarted server's worker, whose
    # first writes follow its start, the helper's read-then-write transaction could meet
    # SQLite's refusal of a stale snapshot ("database is locked" at once, no busy wait).
    root = add_actors(crashable.env, [("aud", ["auditor"], None)])["aud"]
    proc, url = start(crashable.cwd, crashable.env, workers=1)
    try:
        s = requests.Session()
        s.headers["Authorization"] = f"Bearer {root}"
        for seq, eid, action in acknowledged:
            events = s.get(f"{url}/api/v1/audit/events", params={"escalation": eid}).json()
            actions = {e["action"]: e["seq"] for e in events["items"]}
            assert action in actions, (eid, action)
            if seq >= 0:
                assert actions[action] == seq
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=30)
    assert crashable.baton_here("audit", "verify", "--db").stdout.startswith("OK: ")
    assert crashable.baton_here("audit", "replay", "--check").stdout.startswith("OK")
