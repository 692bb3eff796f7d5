"""Lifecycle throughput over HTTP against `baton serve`, next to a trivial authenticated GET.

    python -m bench.http [--clients 4] [--workers 4] [--seconds 10] [--rounds 3]
                         [--no-postgres]

Client processes (http.client; gunicorn's sync workers close each connection after the
response, so every request of both phases opens one) drive escalations through
open -> acknowledge -> escalate -> acknowledge -> hand-off -> accept -> resolve -> debrief;
the same clients measure GET /api/v1/audit/public-key (authenticated, tiny): the
framework's own ceiling on this machine, in the same run. The two phases alternate for
several rounds against the same server; rates and ratios are medians over the rounds.
Then the lifecycle runs once more, paced at 40 % of the GET ceiling, for the latency at
that rate (counted from each request's due time). Each phase also reports where the
machine's CPU went: idle, steal (taken by the hypervisor), and the CPU per request of the
server's workers, of the clients and, on PostgreSQL, of the database server (which shares
this machine's cores).

The default is 4 sync workers (twice the cores of the 2-core machines it was written on;
gunicorn's documentation suggests 2 x cores + 1) and as many clients, so no request waits
for a free worker: a sync worker sits idle while its write waits on the writer lock or the
disk flush, and a spare one fills the gap.
"""

from __future__ import annotations

import argparse
import http.client
import json
import multiprocessing as mp
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from api.cli import DEMO
from api.testbed import add_actors, children, proc_stat, start
from bench.harness import on_both_backends, print_machine, quantiles, save
from bench.workload import LIFECYCLE, OPEN

TARGET = 0.40  # the target: transitions at 40 % of the GET ceiling, p99 < 50 ms


def _client(args: tuple[str, dict[str, str], str, float, float, float]
            ) -> tuple[int, list[float], int]:
    url, tokens, mode, start_at, seconds, interval = args
    host, port = url.removeprefix("http://").split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=30)
    latencies: list[float] = []
    errors = 0
    while time.time() < start_at:
        time.sleep(0.001)
    deadline = start_at + seconds
    due = time.perf_counter()

    def call(method: str, path: str, who: str, body: Any = None) -> tuple[int, Any]:
        nonlocal due
        headers = {"Authorization": f"Bearer {tokens[who]}"}
        data = None
        if body is not None:
            data = json.dumps(body)
            headers["Content-Type"] = "application/json"
        t0 = time.perf_counter()
        if interval:
            # Paced (open loop): each request has its due time, and its latency counts
            # from then, so a slow server cannot hide its queue by slowing the client.
            if t0 < due:
                time.sleep(due - t0)
            t0, due = due, due + interval
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
        # A customer per escalation, as in life: one customer with thousands of cases
        # would make every response list its newest 50 others.
        opened = {**OPEN, "customer": {**OPEN["customer"], "id": f"cust-{os.getpid()}-{count}"}}
        status, payload = call("POST", "/api/v1/escalations", "alice", opened)
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


def _machine_ticks() -> list[int]:
    """/proc/stat's first line: user nice system idle iowait irq softirq steal."""
    with open("/proc/stat") as f:
        return [int(x) for x in f.readline().split()[1:9]]


def _process_seconds(pids: Sequence[int]) -> float:
    """User + system CPU of these processes so far."""
    total = 0
    for fields in map(proc_stat, pids):
        if fields is not None:
            total += int(fields[11]) + int(fields[12])
    return total / os.sysconf("SC_CLK_TCK")


# (requests per second, errors, latencies, where the CPU went)
Phase = tuple[float, int, list[float], dict[str, float]]


def phase(url: str | Sequence[str], tokens: dict[str, str], mode: str, clients: int,
          seconds: float, workers: Sequence[int] = (), database: Sequence[int] = (),
          rate: float = 0.0) -> Phase:
    """(requests per second, errors, latencies, where the CPU went) of `clients` processes
    for `seconds` (several URLs: the clients dealt round-robin over them). The CPU
    figures say how busy the machine was (steal is time the
    hypervisor gave our virtual CPUs to someone else) and what a request cost the server's
    workers, the database server's processes and the clients. With `rate`, the clients
    together send that many requests per second (paced) instead of as many as they can."""
    start_at = time.time() + 1.0
    interval = clients / rate if rate else 0.0
    ticks0, clients0 = _machine_ticks(), os.times()
    work0, db0 = _process_seconds(workers), _process_seconds(database)
    with mp.get_context("fork").Pool(clients) as pool:
        urls = [url] if isinstance(url, str) else list(url)
        results = pool.map(_client, [(urls[k % len(urls)], tokens, mode,
                                      start_at + k * interval / clients, seconds, interval)
                                     for k in range(clients)])
    ticks1, clients1 = _machine_ticks(), os.times()
    work1, db1 = _process_seconds(workers), _process_seconds(database)
    count = sum(r[0] for r in results)
    spent = [b - a for a, b in zip(ticks0, ticks1, strict=True)]
    whole = sum(spent) or 1
    used_by_clients = (clients1.children_user + clients1.children_system
                       - clients0.children_user - clients0.children_system)
    cpu = {"idle_pct": round(100 * (spent[3] + spent[4]) / whole, 1),
           "steal_pct": round(100 * spent[7] / whole, 1),
           "worker_ms_per_request": round(1000 * (work1 - work0) / max(count, 1), 3),
           "client_ms_per_request": round(1000 * used_by_clients / max(count, 1), 3),
           "database_ms_per_request": round(1000 * (db1 - db0) / max(count, 1), 3)}
    return (count / seconds, sum(r[2] for r in results), [x for r in results for x in r[1]],
            cpu)


def summary(phases: list[Phase]) -> dict[str, Any]:
    """Medians over the rounds of one kind of phase (latencies pooled)."""
    rates = [p[0] for p in phases]
    cpu = [p[3] for p in phases]
    return {"per_s": round(statistics.median(rates), 1),
            "per_s_rounds": [round(r, 1) for r in rates],
            "errors": sum(p[1] for p in phases),
            **quantiles([x for p in phases for x in p[2]]),
            "cpu": {k: statistics.median(c[k] for c in cpu) for k in cpu[0]},
            "cpu_rounds": cpu}


def _cpu_text(cpu: dict[str, float]) -> str:
    database = (f" + database {cpu['database_ms_per_request']:.2f}"
                if cpu["database_ms_per_request"] else "")
    return (f"worker {cpu['worker_ms_per_request']:.2f}{database} + client "
            f"{cpu['client_ms_per_request']:.2f} ms CPU/request, idle {cpu['idle_pct']:.0f}%, "
            f"steal {cpu['steal_pct']:.0f}%")


def cpu_ratios(get: dict[str, float], life: dict[str, float]) -> dict[str, float]:
    """GET CPU per request over transition CPU per request (workers, clients and, on
    PostgreSQL, the database server): the throughput ratio a CPU-bound machine reaches when
    both phases keep it equally busy. It leaves out what the throughput ratio also pays on
    a shared host (steal, idle waits), so it moves much less from minute to minute; and,
    without the database, what the ratio would be with PostgreSQL on a host of its own."""
    def total(cpu: dict[str, float], database: bool = True) -> float:
        return (cpu["worker_ms_per_request"] + cpu["client_ms_per_request"]
                + (cpu["database_ms_per_request"] if database else 0.0))

    ratios = {"all": round(total(get) / total(life), 3)}
    if life["database_ms_per_request"]:
        ratios["without_database"] = round(total(get, False) / total(life, False), 3)
    return ratios


def measure(name: str, url_db: str, server: int | None, clients: int, workers: int,
            seconds: float, rounds: int) -> dict[str, Any]:
    """GET and lifecycle phases alternated `rounds` times against one server: the machine
    is shared and noisy, so each ratio compares phases a few seconds apart, and the
    medians are reported."""
    with tempfile.TemporaryDirectory() as tmp:
        env = {**os.environ, "BATON_DATABASE_URL": url_db,
               "BATON_SIGNING_KEY": str(Path(tmp) / "k.key")}
        subprocess.run([sys.executable, "-m", "api.cli", "init"], env=env, check=True,
                       capture_output=True, cwd=tmp)
        tokens = add_actors(env, DEMO)
        # The server alone, as measured before issue 16: the worker's sweeps and
        # deliveries would share the same two cores with the phases being compared.
        proc, url = start(Path(tmp), env, workers=workers, worker=False)
        runs: dict[str, list[Phase]] = {"get": [], "lifecycle": []}
        try:
            phase(url, tokens, "get", clients, 2)  # warm up
            pids = children(proc.pid)
            # The database's backends (one per pooled connection) and its own processes.
            database = children(server) if server is not None else []
            for _ in range(rounds):
                for mode in ("get", "lifecycle"):
                    runs[mode].append(phase(url, tokens, mode, clients, seconds, pids,
                                            database))
            # The target's second half: latency at 40 % of the GET ceiling, paced.
            target = TARGET * statistics.median(p[0] for p in runs["get"])
            paced_run = phase(url, tokens, "lifecycle", clients, seconds, pids, database,
                              rate=target)
        finally:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(timeout=30)
    ratios = [life[0] / get[0] for get, life in zip(runs["get"], runs["lifecycle"],
                                                     strict=True)]
    get = summary(runs["get"])
    life = summary(runs["lifecycle"])
    paced = {"target_per_s": round(target, 1),
             # Below the target the queue grows for as long as the phase lasts, and so
             # do the latencies: they then measure the phase, not the server.
             "sustained": paced_run[0] >= 0.97 * target,
             **{k: v for k, v in summary([paced_run]).items()
                if k not in ("per_s_rounds", "cpu_rounds")}}
    ratio = statistics.median(ratios)
    print(f"{name:10} GET ceiling {get['per_s']:8.1f} req/s (p50 {get['p50_ms']} ms, "
          f"p99 {get['p99_ms']} ms) | transitions {life['per_s']:7.1f}/s "
          f"(p50 {life['p50_ms']} ms, p95 {life['p95_ms']} ms, p99 {life['p99_ms']} ms, "
          f"errors {life['errors']}) | ratio {ratio:.2f} (median of {rounds} rounds: "
          f"{', '.join(f'{r:.2f}' for r in ratios)})")
    print(f"{'':10} GET: {_cpu_text(get['cpu'])} | transitions: {_cpu_text(life['cpu'])}")
    by_cpu = cpu_ratios(get["cpu"], life["cpu"])
    print(f"{'':10} by CPU per request, the ratio a machine of its own would reach (equally "
          f"busy in both phases, no steal): {by_cpu['all']:.2f}"
          + (f"; {by_cpu['without_database']:.2f} with the database on a host of its own"
             if "without_database" in by_cpu else ""))
    print(f"{'':10} paced at {TARGET:.0%} of the GET ceiling ({paced['target_per_s']}/s): "
          f"{paced['per_s']}/s{'' if paced['sustained'] else ' (NOT sustained)'}, "
          f"p50 {paced['p50_ms']} ms, p95 {paced['p95_ms']} ms, "
          f"p99 {paced['p99_ms']} ms, errors {paced['errors']}; {_cpu_text(paced['cpu'])}")
    return {"get": get, "lifecycle": life, "paced": paced, "ratio": round(ratio, 3),
            "ratio_by_cpu": by_cpu,
            "ratio_rounds": [round(r, 3) for r in ratios], "rounds": rounds,
            "clients": clients, "workers": workers, "seconds": seconds}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--rounds", type=int, default=3,
                        help="GET and lifecycle phases alternated this many times")
    parser.add_argument("--no-postgres", action="store_true")
    args = parser.parse_args()
    info = print_machine()
    figures = on_both_backends(
        lambda name, url, server: measure(name, url, server, args.clients, args.workers,
                                          args.seconds, args.rounds),
        not args.no_postgres)
    save("http", info, figures)


if __name__ == "__main__":
    main()
