"""SLA sweep over many open escalations, with the breach query served by an index.

    python -m bench.sweep [--escalations 100000] [--due 1000]

Prints the query plan of the sweeper's candidate query, then the time of a sweep with
nothing due and of one with --due breaches to record (each writes the breach, the
temporary owner and the notice), next to a baseline in the same run: reading every open
escalation and checking its deadlines in Python (what a sweep costs without the index).
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import select

from audit.reads.escalation_ids import due_query
from audit.store.schema import escalations
from audit.store.uow import SqlUnitOfWork
from bench.harness import initialised, print_machine, save
from workflow import policy_loader, sla
from workflow.model import Escalation, Event, rfc3339
from workflow.sla_sweep import sweep

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)


def build(engine, signer, n: int, due: int) -> None:  # type: ignore[no-untyped-def]
    policy = policy_loader.default()
    for first in range(0, n, 500):
        with SqlUnitOfWork(engine, signer) as uow:
            for i in range(first, min(first + 500, n)):
                # The first `due` are already late; the rest fall due tomorrow.
                late = i < due
                ack = NOW - timedelta(minutes=5) if late else NOW + timedelta(days=1)
                event = Event(
                    f"s{i}", 0, "open", "alice", "agent", NOW - timedelta(hours=1), None,
                    "opened", None, None, 0,
                    {"title": "t", "category": "billing", "severity": "high",
                     "customer_id": f"c{i}", "customer_value": "standard",
                     "team": "frontline", "governor": "sam",
                     "deadlines": {"acknowledge": rfc3339(ack),
                                   "resolve": rfc3339(NOW + timedelta(days=2))}},
                    policy.version, "bench")
                esc = Escalation(id=f"s{i}", state="opened")
                esc.apply(event)
                uow.record(esc, event)
            uow.commit()


def full_scan(engine) -> tuple[float, int]:  # type: ignore[no-untyped-def]
    start = time.perf_counter()
    found = 0
    with engine.connect() as conn:
        for row in conn.execute(select(escalations.c.snapshot)):
            snap = json.loads(row.snapshot)
            esc = Escalation(id=snap["id"], deadlines=snap["deadlines"],
                             breached=snap["breached"])
            found += bool(sla.due(esc, NOW))
    return time.perf_counter() - start, found


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--escalations", type=int, default=100_000)
    parser.add_argument("--due", type=int, default=1000)
    args = parser.parse_args()
    info = print_machine()
    with tempfile.TemporaryDirectory() as tmp:
        engine, signer = initialised(f"sqlite:///{Path(tmp) / 'sweep.db'}", "bench/sweep",
                                     100_000, NOW)
        t0 = time.perf_counter()
        build(engine, signer, args.escalations, args.due)
        print(f"built {args.escalations} open escalations ({args.due} late) in "
              f"{time.perf_counter() - t0:.0f} s")
        query = due_query(NOW, 200)
        compiled = query.compile(engine, compile_kwargs={"literal_binds": True})
        with engine.connect() as conn:
            plan = conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {compiled}").all()
        plan_text = "; ".join(str(r[-1]) for r in plan)
        print(f"candidate query: {compiled}\nplan: {plan_text}")
        idle = []
        for _ in range(5):
            t0 = time.perf_counter()
            sweep(uow_factory=lambda: SqlUnitOfWork(engine, signer),
                  now=NOW - timedelta(minutes=10))
            idle.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        done = sweep(uow_factory=lambda: SqlUnitOfWork(engine, signer), now=NOW)
        busy = time.perf_counter() - t0
        scans = [full_scan(engine) for _ in range(3)]
        scan = sorted(s[0] for s in scans)[1]
        idle_s = sorted(idle)[2]
        print(f"sweep with nothing due: {idle_s * 1000:.2f} ms (median of 5)")
        print(f"sweep recording {done.escalations} breaches ({done.events} events): "
              f"{busy:.2f} s")
        print(f"baseline, read every open escalation and check in Python: {scan:.2f} s "
              f"(median of 3; found {scans[0][1]} still due after the sweep)")
        engine.dispose()
    save("sweep", info, {"escalations": args.escalations, "due": args.due,
                         "plan": plan_text, "idle_sweep_ms": round(idle_s * 1000, 2),
                         "busy_sweep_s": round(busy, 3), "breaches": done.escalations,
                         "events": done.events, "full_scan_baseline_s": round(scan, 3)})


if __name__ == "__main__":
    main()
