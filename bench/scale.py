"""Transitions per second with 1, 2 and 3 `baton serve` processes on one PostgreSQL, with
the CPU per request of the servers' workers, of the database and of the clients.

    python -m bench.scale [--servers 3] [--workers 2] [--clients 6] [--seconds 8]
                          [--rounds 3] [--json FILE]

One durable throwaway PostgreSQL cluster, one database, one signing key and one
configuration shared by every server (as on separate hosts: nothing else is local). The
servers run without the worker beside them (`--no-worker`), as in bench.http. The same
client processes (bench.http's, lifecycle mode: open, then the 8-step billing case) are
spread over the first k servers, k = 1, 2, 3 alternating for several rounds so that each
figure is compared with the one-server figure of the same minutes; rates are medians over
the rounds, and one server is the baseline. All of it shares this machine's cores: more
servers cannot add CPU here, so the figure to read is whether the rate holds and what a
transition costs (worker and database CPU per request), not a speed-up.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from api.cli import DEMO
from api.testbed import add_actors, children, start
from bench.harness import postgres, print_machine, save
from bench.http import Phase, _cpu_text, phase, summary


def measure(servers: int, workers: int, clients: int, seconds: float,
            rounds: int) -> dict[str, Any]:
    """Start `servers` servers on one PostgreSQL; alternate k = 1..servers for `rounds`."""
    runs: dict[int, list[Phase]] = {k: [] for k in range(1, servers + 1)}
    with postgres(durable=True) as cluster, tempfile.TemporaryDirectory() as tmp:
        env = {**os.environ, "BATON_DATABASE_URL": cluster.new_database(),
               "BATON_SIGNING_KEY": str(Path(tmp) / "k.key")}
        subprocess.run([sys.executable, "-m", "api.cli", "init"], env=env, check=True,
                       capture_output=True, cwd=tmp)
        tokens = add_actors(env, DEMO)
        procs: list[subprocess.Popen[bytes]] = []
        urls: list[str] = []
        try:
            for _ in range(servers):
                proc, url = start(Path(tmp), env, workers=workers, worker=False)
                procs.append(proc)
                urls.append(url)
            pids = [pid for p in procs for pid in children(p.pid)]
            database = children(cluster.pid())
            phase(urls, tokens, "lifecycle", clients, 2, pids, database)  # warm every server up
            for _ in range(rounds):
                for k in runs:
                    runs[k].append(phase(urls[:k], tokens, "lifecycle", clients, seconds, pids,
                                             database))
        finally:
            for proc in procs:
                os.killpg(proc.pid, signal.SIGTERM)
            for proc in procs:
                proc.wait(timeout=30)
    figures: dict[str, Any] = {"servers": {}, "workers_per_server": workers,
                               "clients": clients, "seconds": seconds, "rounds": rounds}
    base = summary(runs[1])
    for k, phases in runs.items():
        s = summary(phases)
        # Per round against the one-server phase of the same round (seconds apart).
        ratios = [p[0] / b[0] for p, b in zip(phases, runs[1], strict=True)]
        s["ratio_to_one_server"] = round(statistics.median(ratios), 3)
        s["ratio_rounds"] = [round(r, 3) for r in ratios]
        figures["servers"][str(k)] = s
        print(f"{k} server{'s' if k > 1 else ' '} x {workers} workers: "
              f"{s['per_s']:7.1f} transitions/s (rounds "
              f"{', '.join(f'{r:.0f}' for r in s['per_s_rounds'])}; p50 {s['p50_ms']} ms, "
              f"p99 {s['p99_ms']} ms, errors {s['errors']}) | against 1 server "
              f"{base['per_s']:.1f}/s: {s['ratio_to_one_server']:.2f}")
        print(f"{'':22}{_cpu_text(s['cpu'])}")
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--servers", type=int, default=3)
    parser.add_argument("--workers", type=int, default=2,
                        help="gunicorn sync workers per server")
    parser.add_argument("--clients", type=int, default=6,
                        help="client processes in total, dealt over the servers")
    parser.add_argument("--seconds", type=float, default=8)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--json", help="write the figures to this path instead of "
                                       "bench/results/scale-COMMIT.json")
    args = parser.parse_args()
    info = print_machine()
    info["load_average"] = [round(x, 2) for x in os.getloadavg()]
    print(f"load average: {info['load_average']}")
    figures = measure(args.servers, args.workers, args.clients, args.seconds, args.rounds)
    info["load_average_after"] = [round(x, 2) for x in os.getloadavg()]
    print(f"load average after: {info['load_average_after']}")
    if args.json:
        Path(args.json).write_text(json.dumps({"machine": info, "figures": figures},
                                              indent=2) + "\n")
    else:
        save("scale", info, figures)


if __name__ == "__main__":
    main()
