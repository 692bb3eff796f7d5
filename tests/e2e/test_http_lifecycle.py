"""The whole lifecycle over HTTP against gunicorn, then the record checked every way."""

from __future__ import annotations

import functools
import json
import os
import subprocess
import threading
import time
from collections import Counter
from datetime import timedelta
from pathlib import Path

import requests

from api.cli import default_workers
from api.testbed import children
from tests.cli_here import set_up
from tests.e2e.conftest import BATON, Server, start
from tests.initialised_app import LIFECYCLE, OPEN
from tests.threads import run_together
from workflow.model import parse_rfc3339, rfc3339


def later(server: Server, days: int = 400) -> str:
    """A moment past every deadline of what is open now: the simulation's own time (a sweep
    without --now reports it), plus `days`. The server's database is a simulation shared by
    this module's tests, and its time only moves forward."""
    at = json.loads(server.baton_here("sla", "sweep").stdout)["at"]
    return rfc3339(parse_rfc3339(at) + timedelta(days=days))


def test_full_lifecycle_timeline_trail_and_offline_verification(server: Server) -> None:
    alice, fiona, sue, fay = (server.session(h) for h in ("alice", "fiona", "sue", "fay"))
    api = f"{server.url}/api/v1"
    r = alice.post(f"{api}/escalations", json=OPEN)
    assert r.status_code == 201
    eid = r.json()["id"]

    def act(session, action, body):  # type: ignore[no-untyped-def]
        resp = session.post(f"{api}/escalations/{eid}/actions/{action}", json=body)
        assert resp.status_code == 200, (action, resp.json())
        return resp.json()

    seqs = [act(alice, "acknowledge", {"note": "Looking now"})["seq"]]
    out = act(alice, "escalate", {"reason": "Refund above my limit", "trigger": "authority"})
    assert (out["escalation"]["state"], out["escalation"]["team"]) == ("escalated-tier-1",
                                                                      "finance")
    seqs.append(out["seq"])
    seqs.append(act(fiona, "acknowledge", {"note": "Finance has it"})["seq"])
    seqs.append(act(fiona, "hand-off", {"to": "sue", "context": "needs a supervisor"})["seq"])
    out = act(sue, "accept-handoff", {})
    assert out["escalation"]["owner"] == "sue" and out["escalation"]["state"] == \
        "escalated-tier-1"
    seqs.append(out["seq"])
    out = act(sue, "resolve", {"summary": "Refunded 1,200 USD",
                               "grant": {"kind": "refund",
                                         "amount": {"value": "1200.00", "currency": "USD"}}})
    assert out["event"]["rule"] == "owner.acts" and out["event"]["role"] == "supervisor"
    seqs.append(out["seq"])
    out = act(fay, "debrief", {"what_worked": "quick ack", "what_did_not": "two handoffs",
                               "root_cause": "retry bug", "lessons": ["watch retries"],
                               "actions": [{"what": "fix the retry", "owner": "fay"}]})
    assert out["escalation"]["state"] == "debriefed"
    assert seqs == sorted(seqs)

    tl = alice.get(f"{api}/escalations/{eid}/timeline").json()
    assert [e["action"] for e in tl["events"]] == [
        "open", "acknowledge", "escalate", "acknowledge", "hand-off", "accept-handoff",
        "resolve", "debrief"]
    assert tl["milestones"]["tiers_reached"].keys() == {"1"}
    assert tl["handoffs"][0]["outcome"] == "accepted"
    assert tl["durations"]["time_to_resolution"] > 0
    md = alice.get(f"{api}/escalations/{eid}/timeline?format=markdown")
    assert md.headers["Content-Type"].startswith("text/markdown")
    assert "| fiona | sue |" in md.text
    csv_text = alice.get(f"{api}/escalations/{eid}/timeline?format=csv").text
    assert csv_text.splitlines()[0].startswith("seq,at,action,actor")

    trail = alice.get(f"{api}/escalations/{eid}/ownership").json()["spans"]
    assert [(s["owner"], s["began"]) for s in trail] == [
        ("alice", "acknowledged"), ("fiona", "acknowledged"), ("sue", "accepted-handoff")]
    at = alice.get(f"{api}/escalations/{eid}/ownership",
                   params={"at": trail[1]["from"]}).json()["at"]
    assert at["owner"] == "fiona"
    mine = alice.get(f"{api}/actors/fiona/ownership").json()["spans"]
    assert any(s["escalation_id"] == eid for s in mine)

    held = server.cwd / "held-checkpoint.txt"
    held.write_text(alice.get(f"{api}/audit/checkpoint").json()["note"])
    key = server.cwd / "baton.pub"
    key.write_text(alice.get(f"{api}/audit/public-key").json()["verifier_key"])
    bundle = server.cwd / "export.jsonl"
    server.baton_here("audit", "export", "-o", str(bundle))
    verified = server.baton_here("audit", "verify", str(bundle), "--public-key", str(key),
                                 "--trusted-checkpoint", str(held))
    assert verified.stdout.startswith("OK: ")
    lines = bundle.read_text().splitlines()
    target = next(i for i, line in enumerate(lines) if line.startswith('[2,"'))  # format 2
    lines[target] = lines[target].replace("[2,", "[3,", 1)
    (server.cwd / "bad.jsonl").write_text("\n".join(lines) + "\n")
    bad = server.baton_here("audit", "verify", str(server.cwd / "bad.jsonl"), "--public-key",
                            str(key), check=False)
    assert bad.returncode == 1
    assert bad.stdout == "FAILED: seq 2: missing (the next event is seq 3)\n"
    assert server.baton_here("audit", "verify", "--db").stdout.startswith("OK: ")
    assert server.baton_here("audit", "replay", "--check").stdout.startswith("OK")


def test_32_clients_race_to_acknowledge_one_escalation(server: Server) -> None:
    api = f"{server.url}/api/v1"
    eid = server.session("alice").post(f"{api}/escalations", json=OPEN).json()["id"]
    handles = ["alice", "andy"] * 16
    barrier = threading.Barrier(len(handles))
    results: list[int] = []
    lock = threading.Lock()

    def race(handle: str) -> None:
        session = server.session(handle)
        barrier.wait()
        r = session.post(f"{api}/escalations/{eid}/actions/acknowledge",
                         json={"note": f"{handle} here"}, headers={"If-Match": '"1"'})
        with lock:
            results.append(r.status_code)

    run_together([functools.partial(race, h) for h in handles], timeout=60)
    counts = Counter(results)
    assert counts[200] == 1, counts
    assert counts[200] + counts[409] + counts[412] == 32, counts
    events = server.session("aud").get(f"{api}/audit/events",
                                       params={"escalation": eid}).json()["items"]
    assert [e["action"] for e in events] == ["open", "acknowledge"]


def test_cli_messages_are_one_line_and_exit_non_zero(server: Server) -> None:
    # One as a process (the installed command's exit status and stderr), the rest in this one.
    out = server.baton("actors", "add", "zed", "--role", "wizard", check=False)
    assert out.returncode == 1 and out.stderr.startswith("error: unknown role 'wizard'")
    assert "Traceback" not in out.stderr
    out = server.baton_here("audit", "verify", str(server.cwd / "nope.jsonl"), check=False)
    assert out.returncode == 1 and "Traceback" not in out.stderr
    bad = server.cwd / "bad-policy.toml"
    bad.write_text("[policy]\nname = 1\n")
    out = server.baton_here("policy", "check", str(bad), check=False)
    assert out.returncode == 1 and out.stderr.startswith(f"error: {bad}: ")
    out = server.baton_here("content", "sweep", "--now", "yesterday", check=False)
    assert out.returncode == 2 and "RFC 3339" in out.stderr
    # Its own escalation to breach, swept past its deadlines at the simulation's own time
    # (which other tests of this server may have moved on).
    opened = server.session("alice").post(f"{server.url}/api/v1/escalations", json=OPEN)
    assert opened.status_code == 201
    when = later(server)
    swept = json.loads(server.baton_here("sla", "sweep", "--now", when).stdout)
    assert swept["escalations"] >= 1 and swept["events"] >= 2
    again = json.loads(server.baton_here("sla", "sweep", "--now", when).stdout)
    assert again["events"] == 0
    report = server.baton_here("metrics", "report", "--format", "csv", "--group-by", "category")
    assert report.stdout.splitlines()[0].startswith("key,opened,")
    table = server.baton_here("metrics", "report")
    assert "== all: all" in table.stdout
    shown = server.baton_here("policy", "show")
    assert "[roles.agent]" in shown.stdout
    assert json.loads(server.baton_here("content", "sweep").stdout)["events"] == {}


def test_two_sweepers_and_api_writers_at_once_never_duplicate_a_breach(server: Server) -> None:
    api = f"{server.url}/api/v1"
    alice = server.session("alice")
    ids = [alice.post(f"{api}/escalations", json={**OPEN, "severity": "urgent"}).json()["id"]
           for _ in range(12)]
    stop = threading.Event()
    writes: list[int] = []

    def writer() -> None:
        s = server.session("alice")
        while not stop.is_set():
            r = s.post(f"{api}/escalations", json={**OPEN, "severity": "urgent"})
            writes.append(r.status_code)

    threads = [threading.Thread(target=writer) for _ in range(2)]
    when = later(server)
    for t in threads:
        t.start()
    sweepers = [subprocess.Popen(
        [*BATON, "sla", "sweep",
         "--now", when], cwd=server.cwd, env=server.env,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(2)]
    outputs = [p.communicate(timeout=120) for p in sweepers]
    stop.set()
    for t in threads:
        t.join(timeout=60)
    assert all(p.returncode == 0 for p in sweepers), outputs
    assert writes and set(writes) == {201}
    events = server.session("aud").get(f"{api}/audit/events",
                                       params={"action": "sla-breached", "limit": 1000}).json()
    per_clock = Counter((e["escalation_id"], e["payload"]["clock"]) for e in events["items"])
    assert set(per_clock.values()) == {1}, "one breach event per breach"
    assert all((eid, "acknowledge") in per_clock for eid in ids)
    assert server.baton_here("audit", "verify", "--db").stdout.startswith("OK: ")


def test_32_clients_each_drive_their_own_escalation_through_the_lifecycle(
        server: Server) -> None:
    api = f"{server.url}/api/v1"
    steps = LIFECYCLE
    acknowledged: list[tuple[str, str, int]] = []
    failures: list[str] = []
    lock = threading.Lock()
    barrier = threading.Barrier(32)

    def client() -> None:
        sessions = {h: server.session(h) for h in ("alice", "fiona", "sue", "fay")}
        barrier.wait()
        r = sessions["alice"].post(f"{api}/escalations", json=OPEN)
        if r.status_code != 201:
            with lock:
                failures.append(f"open {r.status_code}")
            return
        eid = r.json()["id"]
        for who, action, body in steps:
            r = sessions[who].post(f"{api}/escalations/{eid}/actions/{action}", json=body)
            with lock:
                if r.status_code == 200:
                    acknowledged.append((eid, action, r.json()["seq"]))
                else:
                    failures.append(f"{action} {r.status_code} {r.text[:200]}")
                    return

    run_together([client] * 32)
    assert failures == []
    assert len(acknowledged) == 32 * len(steps)
    aud = server.session("aud")
    for eid in {a[0] for a in acknowledged}:
        events = aud.get(f"{api}/audit/events", params={"escalation": eid}).json()["items"]
        by_seq = {e["seq"]: e["action"] for e in events}
        for _, action, seq in (a for a in acknowledged if a[0] == eid):
            assert by_seq[seq] == action
        assert events[-1]["to_state"] == "debriefed"
    assert server.baton_here("audit", "verify", "--db").stdout.startswith("OK: ")
    assert server.baton_here("audit", "replay", "--check").stdout.startswith("OK")


def test_error_statuses_idempotency_and_if_match_over_http(server: Server) -> None:
    api = f"{server.url}/api/v1"
    alice, aud = server.session("alice"), server.session("aud")
    eid = alice.post(f"{api}/escalations", json=OPEN).json()["id"]

    def problem(r, status: int) -> dict:  # type: ignore[no-untyped-def]
        assert r.status_code == status, (r.status_code, r.text)
        assert r.headers["Content-Type"] == "application/problem+json"
        return r.json()

    problem(alice.post(f"{api}/escalations", data="{oops",
                       headers={"Content-Type": "application/json"}), 400)
    problem(server.session("alice").get(f"{api}/escalations",
                                        headers={"Authorization": "Bearer wrong"}), 401)
    assert problem(aud.post(f"{api}/escalations/{eid}/actions/acknowledge",
                            json={"note": "x"}), 403)["rule"] == "role.read-only"
    problem(alice.get(f"{api}/escalations/does-not-exist"), 404)
    assert problem(alice.post(f"{api}/escalations/{eid}/actions/resolve",
                              json={"summary": "x"}), 409)["state"] == "opened"
    problem(alice.post(f"{api}/escalations/{eid}/actions/acknowledge", json={"note": "x"},
                       headers={"If-Match": '"9"'}), 412)
    assert "note" in problem(alice.post(f"{api}/escalations/{eid}/actions/acknowledge",
                                        json={}), 422)["errors"]
    key = {"Idempotency-Key": f"ack-{eid}"}
    first = alice.post(f"{api}/escalations/{eid}/actions/acknowledge", json={"note": "x"},
                       headers={**key, "If-Match": '"1"'})
    again = alice.post(f"{api}/escalations/{eid}/actions/acknowledge", json={"note": "x"},
                       headers={**key, "If-Match": '"1"'})
    assert first.status_code == again.status_code == 200
    assert first.json() == again.json() and again.headers["Idempotent-Replayed"] == "true"
    problem(alice.post(f"{api}/escalations/{eid}/actions/acknowledge", json={"note": "y"},
                       headers=key), 422)
    events = aud.get(f"{api}/audit/events", params={"escalation": eid}).json()["items"]
    assert [e["action"] for e in events] == ["open", "acknowledge"]


def test_commands_on_a_database_that_was_never_initialised(tmp_path) -> None:  # type: ignore[no-untyped-def]
    import os

    env = {**os.environ, "BATON_DATABASE_URL": f"sqlite:///{tmp_path / 'none.db'}",
           "BATON_SIGNING_KEY": str(tmp_path / "none.key")}
    out = subprocess.run([*BATON, "actors", "list"], cwd=tmp_path, env=env, text=True,
                         capture_output=True)
    assert out.returncode == 1 and out.stderr.startswith("error: database: no such table")
    out = subprocess.run([*BATON, "diagram"], cwd=tmp_path, env=env, text=True,
                         capture_output=True)
    assert out.returncode == 0 and out.stdout.startswith("stateDiagram-v2")


def test_serve_runs_twice_as_many_workers_as_cores_by_default(tmp_path: Path) -> None:
    env = {**os.environ, "BATON_DATABASE_URL": f"sqlite:///{tmp_path / 'baton.db'}",
           "BATON_SIGNING_KEY": str(tmp_path / "signing.key")}
    set_up(env, "init")
    proc, url = start(tmp_path, env, workers=None)
    try:
        # gunicorn's workers are the children of the arbiter that `baton serve` became.
        deadline = time.monotonic() + 30
        while len(workers := children(proc.pid)) < default_workers():
            assert time.monotonic() < deadline, f"only {len(workers)} workers started"
            time.sleep(0.1)
        time.sleep(0.5)  # none beyond the expected number turns up late
        assert len(children(proc.pid)) == default_workers() == 2 * (os.cpu_count() or 1)
        assert requests.get(f"{url}/healthz", timeout=5).status_code == 200
    finally:
        os.killpg(proc.pid, 15)
        proc.wait(timeout=30)
