"""Clocks on time: deadline-to-record lag of SLA breaches (beside the baseline, the old
worker's 10 s poll interval), with many open escalations and a steady stream of
deadlines; and a healthy webhook receiver's commit-to-receipt latency without and then
with three hostile receivers (a drip, a silent one, a 200 MB body) subscribed beside it.

    python -m bench.clocks [--background 10000] [--rate 100] [--seconds 10] [--postgres]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from tempfile import TemporaryDirectory
from typing import Any

from cryptography.hazmat.primitives import serialization
from sqlalchemy import text

from api.config import settings
from api.container import Baton
from api.testbed_hostile import KINDS, Hostile
from api.worker import Worker
from audit.store import policy_refs, webhooks
from audit.store.uow import SqlUnitOfWork
from audit.store.webhooks import SqlWebhooks
from bench import harness
from bench.notify import Sink
from bench.workload import ACTORS, OPEN
from workflow import policy_loader, services, webhook_admin
from workflow.timestamps import parse_rfc3339

OLD_POLL = 10.0  # the worker's sweep interval before it woke on deadlines
ACKNOWLEDGE = 5  # seconds: the urgent acknowledge clock of the bench's policy


def _open(baton: Baton, eid: str, severity: str) -> None:
    with baton.uow(release_before_flush=True) as uow:
        services.open_escalation(uow=uow, actor=ACTORS["alice"], escalation_id=eid,
                                 payload={**OPEN, "severity": severity},
                                 policy=uow.policies.active_or_raise(),
                                 now=datetime.now(UTC))
        uow.commit()


def _steady(baton: Baton, prefix: str, rate: float, seconds: float,
            severity: str) -> dict[str, float]:
    """Open at `rate` per second for `seconds`; when each committed (monotonic)."""
    committed: dict[str, float] = {}
    start = time.monotonic()
    for i in range(int(rate * seconds)):
        delay = start + i / rate - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        _open(baton, f"{prefix}-{i}", severity)
        committed[f"{prefix}-{i}"] = time.monotonic()
    return committed


def _subscribe(baton: Baton, url: str) -> None:
    with baton.uow() as uow:
        webhook_admin.subscribe(
            store=SqlWebhooks(uow), actor=ACTORS["root"], url=url, events=["escalation.open"],
            description=None, secret=webhooks.new_secret(), problem=None,
            policy=uow.policies.active_or_raise(), now=datetime.now(UTC))
        uow.commit()


def _baton(url: str, tmp: Path) -> Baton:
    engine, signer = harness.initialised(url, "bench/clocks", 1000, datetime.now(UTC))
    policy = re.sub(r'(\[severities\.urgent\][^\[]*?acknowledge = )"10m"',
                    rf'\1"{ACKNOWLEDGE}s"', policy_loader.default_text(), flags=re.S)
    with SqlUnitOfWork(engine, signer) as uow:
        uow.policies.apply(policy, actor="root", role="admin", now=datetime.now(UTC))
        uow.commit()
    engine.dispose()
    key = tmp / "signing.pem"
    key.write_bytes(signer.key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption()))
    return Baton(settings({"BATON_DATABASE_URL": url, "BATON_SIGNING_KEY": str(key),
                           "BATON_WEBHOOK_ALLOW_INSECURE": "1",
                           "BATON_WEBHOOK_ALLOW_PRIVATE": "1",
                           "BATON_WEBHOOK_TIMEOUT": 10.0}))


def _lags(baton: Baton) -> list[float]:
    with baton.engine.connect() as conn:
        rows = conn.execute(text("SELECT body FROM ledger WHERE action = 'sla-breached'")
                            ).scalars().all()
        records = policy_refs.records(conn, list(rows))
    out = []
    for body in records:
        out.append((parse_rfc3339(body["at"]) - parse_rfc3339(
            body["payload"]["deadline"])).total_seconds())
    return out


def measure(name: str, url: str, args: argparse.Namespace) -> dict[str, Any]:
    with TemporaryDirectory() as tmp:
        baton = _baton(url, Path(tmp))
        for i in range(args.background):  # open, far from their deadlines
            _open(baton, f"bg-{i}", "low")
        sink = Sink()
        _subscribe(baton, sink.url)
        worker = Worker(baton)
        thread = threading.Thread(target=worker.run, daemon=True)
        thread.start()
        # 1. deadlines at `rate` a second, the worker sweeping beside the writer
        urgent = _steady(baton, "u", args.rate, args.seconds, "urgent")
        time.sleep(ACKNOWLEDGE + 2)
        lags = _lags(baton)
        # 2. the healthy receiver alone, then beside three hostile ones
        alone = _steady(baton, "h0", args.hook_rate, args.hook_seconds, "low")
        hostile = [Hostile(kind) for kind in KINDS]
        for h in hostile:
            _subscribe(baton, h.url)
        time.sleep(6)  # the worker reads the subscriptions' hosts every 5 s
        beside = _steady(baton, "h1", args.hook_rate, args.hook_seconds, "low")
        time.sleep(3)
        worker.stop.set()
        thread.join(60)
        for h in hostile:
            h.close()
        baton.engine.dispose()

    def receipt(committed: dict[str, float]) -> dict[str, float]:
        return harness.quantiles([sink.arrived[e] - t for e, t in committed.items()
                                  if e in sink.arrived])

    without, with_hostile = receipt(alone), receipt(beside)
    # The opens that set the deadlines run in this thread: say the rate they reached.
    span = max(urgent.values()) - min(urgent.values())
    reached = round((len(urgent) - 1) / span, 1) if span else 0.0
    lag = harness.quantiles(lags)
    print(f"{name}: {len(urgent)} deadlines at {reached}/s among "
          f"{args.background + len(urgent)} open escalations: breach recorded p50 "
          f"{lag['p50_ms']} ms, p99 {lag['p99_ms']} ms after its deadline (baseline: the "
          f"former poll interval, {OLD_POLL * 1000:.0f} ms); healthy receiver p99 "
          f"{without['p99_ms']} ms alone, {with_hostile['p99_ms']} ms beside 3 hostile")
    return {"breach_lag": {**lag, "deadlines": len(urgent), "deadlines_per_s": reached,
                           "open_escalations": args.background + len(urgent),
                           "baseline_poll_interval_ms": OLD_POLL * 1000},
            "healthy_receipt": {"alone": without, "beside_hostile": with_hostile,
                                "p99_ratio": round(with_hostile["p99_ms"]
                                                   / max(without["p99_ms"], 0.001), 2)}}


def main() -> None:
    """Run and print the figures (and save them under bench/results)."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--background", type=int, default=10000)
    parser.add_argument("--rate", type=float, default=100.0)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--hook-rate", type=float, default=20.0)
    parser.add_argument("--hook-seconds", type=float, default=5.0)
    parser.add_argument("--postgres", action="store_true")
    args = parser.parse_args()
    info = harness.print_machine()
    info["load"] = os.getloadavg()
    print(f"load: {info['load']}")
    figures = harness.on_both_backends(lambda n, u, _s: measure(n, u, args), args.postgres)
    print(json.dumps(figures, indent=2))
    harness.save("clocks", info, figures)


if __name__ == "__main__":
    main()
