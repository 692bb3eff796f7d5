"""Lifecycle throughput over HTTP against `baton serve`, next to a trivial authenticated GET.

    python -m bench.http [--clients 4] [--workers 2] [--seconds 10] [--no-postgres]

Client processes with keep-alive connections (http.client) drive escalations through
open -> acknowledge -> escalate -> acknowledge -> hand-off -> accept -> resolve -> debrief;
the same clients first measure GET /api/v1/audit/public-key (authenticated, tiny): the
framework's own ceiling on this machine, in the same run.
"""

from __future__ import annotations

import argparse
import http.client
import json
import multiprocessing as mp
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from api.cli import DEMO
from bench.common import on_both_backends, print_machine, quantiles, save
from tests.apphelpers import LIFECYCLE, OPEN
from tests.e2e.conftest import add_actors, start


def _client(args: tuple[str, dict[str, str], str, float, float]) -> tuple[int, list[float], int]:
    url, tokens, mode, start_at, seconds = args
    host, port = url.removeprefix("http://").split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=30)
    latencies: list[float] = []
    errors = 0
    while time.time() < start_at:
        time.sleep(0.001)
    deadline = start_at + seconds

    def call(method: str, path: str, who: str, body: Any = None) -> tuple[int, Any]:
        headers = {"Authorization": f"Bearer {tokens[who]}"}
        data = None
        if body is not None:
            data = json.dumps(body)
            headers["Content-Type"] = "application/json"
        t0 = time.perf_counter()
        conn.request(method, path, body=data, headers=headers)
        resp = conn.getresponse()
        payload = resp.read()
        latencies.append(time.perf_counter() - t0)
        return resp.status, payload

    count = 0
    while time.time() < deadline:
        if mode == "get":
            status, _ = call("GET", "/api/v1/audit/public-key", "aud")
            count += 1
            errors += status != 200
            continue
        status, payload = call("POST", "/api/v1/escalations", "alice", OPEN)
        if status != 201:
            errors += 1
            continue
        eid = json.loads(payload)["id"]
        count += 1
        for who, action, body in LIFECYCLE:
            status, _ = call("POST", f"/api/v1/escalations/{eid}/actions/{action}", who, body)
            if status != 200:
                errors += 1
                break
            count += 1
    return count, latencies, errors


def phase(url: str, tokens: dict[str, str], mode: str, clients: int,
          seconds: float) -> dict[str, Any]:
    start_at = time.time() + 1.0
    with mp.get_context("fork").Pool(clients) as pool:
        results = pool.map(_client, [(url, tokens, mode, start_at, seconds)] * clients)
    count = sum(r[0] for r in results)
    latencies = [x for r in results for x in r[1]]
    return {"per_s": round(count / seconds, 1), "errors": sum(r[2] for r in results),
            **quantiles(latencies)}


def measure(name: str, url_db: str, clients: int, workers: int,
            seconds: float) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        env = {**os.environ, "BATON_DATABASE_URL": url_db,
               "BATON_SIGNING_KEY": str(Path(tmp) / "k.key")}
        subprocess.run([sys.executable, "-m", "api.cli", "init"], env=env, check=True,
                       capture_output=True, cwd=tmp)
        tokens = add_actors(env, DEMO)
        proc, url = start(Path(tmp), env, workers=workers)
        try:
            phase(url, tokens, "get", clients, 2)  # warm up
            get = phase(url, tokens, "get", clients, seconds)
            life = phase(url, tokens, "lifecycle", clients, seconds)
        finally:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(timeout=30)
    ratio = life["per_s"] / get["per_s"] if get["per_s"] else 0
    print(f"{name:10} GET ceiling {get['per_s']:8.1f} req/s (p50 {get['p50_ms']} ms, "
          f"p99 {get['p99_ms']} ms) | transitions {life['per_s']:7.1f}/s "
          f"(p50 {life['p50_ms']} ms, p95 {life['p95_ms']} ms, p99 {life['p99_ms']} ms, "
          f"errors {life['errors']}) | ratio {ratio:.2f}")
    return {"get": get, "lifecycle": life, "ratio": round(ratio, 3),
            "clients": clients, "workers": workers, "seconds": seconds}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--no-postgres", action="store_true")
    args = parser.parse_args()
    info = print_machine()
    figures = on_both_backends(
        lambda name, url: measure(name, url, args.clients, args.workers, args.seconds),
        not args.no_postgres)
    save("http", info, figures)


if __name__ == "__main__":
    main()
