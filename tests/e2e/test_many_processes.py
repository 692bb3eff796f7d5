"""Two `baton serve` and three `baton worker` processes on one PostgreSQL (issue 26, point
4): under load, with one worker killed by SIGKILL mid-batch, every breach and warning is
recorded once, every message reaches the receiver (a second arrival only as a retry with
the same webhook-id and bytes), and the ledger verifies."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import requests
from sqlalchemy import text

from api.cli import DEMO
from api.testbed import BATON, Cluster, add_actors, start
from audit.store import db
from tests.cli_here import baton_here, set_up
from tests.initialised_app import OPEN
from tests.webhook_receiver import Receiver
from workflow import policy_loader

OPENED = 24
WARNINGS = '[warnings]\ndefault = []\n[warnings.urgent]\nacknowledge = ["50%"]\n'


def _policy(tmp_path: Path) -> Path:
    policy = re.sub(r'(\[severities\.urgent\][^\[]*?acknowledge = )"10m"', r'\1"6s"',
                    policy_loader.default_text(), flags=re.S)
    policy = policy.replace('[warnings]\ndefault = ["75%"]\n', WARNINGS)
    (tmp_path / "policy.toml").write_text(policy)
    return tmp_path / "policy.toml"


def _counts(url: str) -> tuple[Counter[tuple[str, str, str]], int, int]:
    engine = db.make_engine(url)
    with engine.connect() as conn:
        rows = conn.execute(text(
            "SELECT action, escalation_id, body FROM ledger WHERE action IN "
            "('sla-breached', 'sla-warning')")).all()
        pending = conn.execute(text("SELECT count(*) FROM outbox WHERE channel = 'webhook' "
                                    "AND status <> 'delivered'")).scalar_one()
        total = conn.execute(text("SELECT count(*) FROM outbox WHERE channel = 'webhook'")
                             ).scalar_one()
    engine.dispose()
    found = Counter((a, e, json.loads(b)["payload"]["clock"]) for a, e, b in rows)
    return found, int(pending), int(total)


def test_two_servers_three_workers_one_killed(pg_cluster: Cluster, tmp_path: Path) -> None:
    url = pg_cluster.new_database()
    env = {**os.environ, "BATON_DATABASE_URL": url,
           "BATON_SIGNING_KEY": str(tmp_path / "signing.key"), "BATON_CHECKPOINT_EVERY": "5",
           "BATON_WEBHOOK_ALLOW_INSECURE": "1", "BATON_WEBHOOK_ALLOW_PRIVATE": "1",
           "BATON_OUTBOX_LEASE": "3"}
    set_up(env, "init", "--policy", str(_policy(tmp_path)))
    tokens = add_actors(env, DEMO)
    receiver = Receiver(delay=0.05)  # slow enough that a killed worker holds claims
    servers = [start(tmp_path, env, workers=1, worker=False) for _ in range(2)]
    workers = [subprocess.Popen([*BATON, "worker"], cwd=tmp_path, env=env,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                start_new_session=True) for _ in range(3)]
    try:
        root = requests.Session()
        root.headers["Authorization"] = f"Bearer {tokens['root']}"
        r = root.post(f"{servers[0][1]}/api/v1/webhooks",
                      json={"url": receiver.url, "events": ["*"]})
        assert r.status_code == 201, r.text

        def open_one(i: int) -> str:
            s = requests.Session()
            s.headers["Authorization"] = f"Bearer {tokens['alice']}"
            r = s.post(f"{servers[i % 2][1]}/api/v1/escalations",
                       json={**OPEN, "severity": "urgent"}, timeout=30)
            assert r.status_code == 201, r.text
            return str(r.json()["id"])

        end = time.monotonic() + 60
        while root.get(f"{servers[1][1]}/healthz", timeout=10).json().get(
                "workers_alive") != 3:  # three sweepers running before the clocks start
            assert time.monotonic() < end
            time.sleep(0.2)
        with ThreadPoolExecutor(4) as pool:
            opened = list(pool.map(open_one, range(OPENED)))
        time.sleep(3.2)  # warnings (at 3 s) are being recorded and sent
        workers[0].send_signal(signal.SIGKILL)
        end = time.monotonic() + 90
        while True:
            found, pending, total = _counts(url)
            if len(found) == 2 * OPENED and not pending and len(receiver.delivered()) == total:
                break
            assert time.monotonic() < end, (Counter(a for a, _, _ in found), pending, total,
                                            len(receiver.delivered()))
            time.sleep(0.5)
        time.sleep(1.0)  # a second record would show by now
        found, _, total = _counts(url)
        assert set(found.values()) == {1}, "each breach and warning recorded once"
        assert {e for _, e, _ in found} == set(opened)
        by_id: dict[str, bytes] = {}
        for got in receiver.got:
            assert by_id.setdefault(got.msg_id, got.body) == got.body, "a retry, same bytes"
        seqs = Counter(r.json["data"]["seq"] for r in receiver.delivered().values())
        assert len(seqs) == total and set(seqs.values()) == {1}, "each event once per id"
        verified = baton_here(env, "audit", "verify", "--db")
        assert verified.returncode == 0, verified.stdout + verified.stderr
    finally:
        for w in workers:
            if w.poll() is None:
                os.killpg(w.pid, signal.SIGTERM)
            w.wait(timeout=30)
        for proc, _ in servers:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(timeout=30)
        receiver.close()
