"""Notifications: commit-to-receipt latency at a steady rate, and deliveries per second
from a backlog, next to a baseline in the same run (the same HTTP client posting the same
bodies in a loop, one thread, no database).

    python -m bench.notify [--rate 100] [--seconds 10] [--backlog 2000] [--postgres]
"""

from __future__ import annotations

import argparse
import json
import threading
import time
import uuid
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from api.config import settings
from api.container import Baton
from api.delivery import post, webhook_body
from api.worker import Worker
from audit.store import webhooks
from audit.store.outbox import Message
from audit.store.uow import SqlUnitOfWork
from audit.store.webhooks import SqlWebhooks
from bench import harness
from bench.workload import ACTORS, OPEN
from workflow import services, webhook_admin


class Sink:
    """A loopback receiver noting when each escalation's open event arrived."""

    def __init__(self) -> None:
        self.arrived: dict[str, float] = {}
        self.count = 0
        sink = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:  # noqa: N802
                body = self.rfile.read(int(self.headers.get("content-length", 0)))
                at = time.monotonic()
                eid = json.loads(body)["data"]["escalation_id"]
                sink.arrived.setdefault(eid, at)
                sink.count += 1
                self.send_response(204)
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, *_args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"


def _open(engine: Any, eid: str) -> None:
    with SqlUnitOfWork(engine, release_before_flush=True) as uow:
        services.open_escalation(uow=uow, actor=ACTORS["alice"], escalation_id=eid,
                                 payload=OPEN, policy=uow.policies.active_or_raise(),
                                 now=datetime.now(UTC))
        uow.commit()


def measure(name: str, url: str, _server: int | None, args: argparse.Namespace
            ) -> dict[str, Any]:
    engine, _signer = harness.initialised(url, "bench/notify", 1000, datetime.now(UTC))
    sink = Sink()
    baton = Baton(settings({"BATON_DATABASE_URL": url, "BATON_WORKER_POLL": args.poll,
                            "BATON_WEBHOOK_ALLOW_INSECURE": "1",
                            "BATON_WEBHOOK_ALLOW_PRIVATE": "1",
                            "BATON_SIGNING_KEY": "/nonexistent/bench.key"}))
    with SqlUnitOfWork(engine) as uow:
        created = webhook_admin.subscribe(
            store=SqlWebhooks(uow), actor=ACTORS["root"], url=sink.url,
            events=["escalation.open"], description=None, secret=webhooks.new_secret(),
            problem=None, policy=uow.policies.active_or_raise(), now=datetime.now(UTC))
        uow.commit()
    # 1. Latency at a steady rate, the worker running beside the writer.
    worker = Worker(baton, interval=3600.0)
    thread = threading.Thread(target=worker.run, daemon=True)
    thread.start()
    committed: dict[str, float] = {}
    total = int(args.rate * args.seconds)
    start = time.monotonic()
    for i in range(total):
        due = start + i / args.rate
        delay = due - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        eid = f"{name}-{i}"
        _open(engine, eid)
        committed[eid] = time.monotonic()
    written = time.monotonic() - start
    deadline = time.monotonic() + 30
    while len(sink.arrived) < total and time.monotonic() < deadline:
        time.sleep(0.01)
    latencies = [sink.arrived[e] - t for e, t in committed.items() if e in sink.arrived]
    steady = {"rate_asked": args.rate, "rate_written": round(harness.rate(total, written), 1),
              "received": len(latencies), **harness.quantiles(latencies)}
    worker.stop.set()
    thread.join()
    # 2. Deliveries per second from a backlog (the worker stopped while it is written).
    backlog = [f"{name}-b{i}" for i in range(args.backlog)]
    for eid in backlog:
        _open(engine, eid)
    worker = Worker(baton, interval=3600.0)
    before = sink.count
    drained = harness.timed(lambda: worker.run(once=True))
    delivered = sink.count - before
    # 3. Baseline: the same client, the same bodies, one thread, no database.
    body_of = Message(0, 1, backlog[0], "webhook", created["id"], "escalation.open",
                      {"at": "2026-01-01T00:00:00.000000Z", "escalation_id": backlog[0]}, 0,
                      0.0)
    body = webhook_body(body_of, baton.settings["BATON_PUBLIC_URL"])
    headers = {"content-type": "application/json", "webhook-id": str(uuid.uuid4())}
    n = args.backlog
    baseline = harness.timed(
        lambda: [post(sink.url, "127.0.0.1", body, headers, 15.0) for _ in range(n)])
    engine.dispose()
    baton.engine.dispose()
    return {"steady": steady,
            "backlog": {"messages": delivered, "seconds": round(drained, 3),
                        "deliveries_per_s": round(harness.rate(delivered, drained), 1)},
            "baseline_posts_per_s": round(harness.rate(n, baseline), 1),
            "ratio": round(harness.rate(delivered, drained) / harness.rate(n, baseline), 2)}


def main() -> None:
    """Run and print the figures (and save them under bench/results)."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rate", type=float, default=100.0)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--backlog", type=int, default=2000)
    parser.add_argument("--poll", type=float, default=0.05)
    parser.add_argument("--postgres", action="store_true")
    args = parser.parse_args()
    info = harness.print_machine()
    figures = harness.on_both_backends(lambda n, u, s: measure(n, u, s, args), args.postgres)
    print(json.dumps(figures, indent=2))
    harness.save("notify", info, figures)


if __name__ == "__main__":
    main()
