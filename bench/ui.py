"""Server time of the dashboard's pages at many open escalations, next to the API's list
endpoint for the same rows in the same run.

    python -m bench.ui [--escalations 10000] [--events 200] [--runs 60]

Builds a SQLite database of open escalations (through the open use case), one escalation
with --events events (hand-offs between two agents and status updates), then times, in
process through Flask's test client (no network, no browser): the queue page's first page
unfiltered and filtered, the fragment the page polls, the escalation page with its
timeline and swimlane, and the API's GET /escalations (50 rows, unfiltered and with the
same filter) and the escalation's timeline. Prints medians and p95 per request.
"""

from __future__ import annotations

import argparse
import re
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from api import create_app
from audit.store import actors
from audit.store.uow import SqlUnitOfWork
from bench.harness import initialised, print_machine, quantiles, save
from bench.workload import ACTORS, OPEN
from workflow import policy_loader, services

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
SEVERITIES = ("urgent", "high", "normal", "low")
CATEGORIES = ("billing", "technical", "account", "outage")


def build(engine: Any, signer: Any, n: int) -> None:
    """`n` open escalations opened over the last two days (some already breached)."""
    policy = policy_loader.default()
    for first in range(0, n, 500):
        with SqlUnitOfWork(engine, signer) as uow:
            for i in range(first, min(first + 500, n)):
                payload = {**OPEN, "title": f"Case {i}",
                           "severity": SEVERITIES[i % 4], "category": CATEGORIES[(i // 4) % 4],
                           "customer": {"id": f"cust-{i}", "name": "Ada Lovelace"}}
                at = NOW - timedelta(seconds=(n - i) * 172800 / n)
                services.open_escalation(uow=uow, actor=ACTORS["alice"],
                                         escalation_id=f"e{i:06d}", payload=payload,
                                         policy=policy, now=at)
            uow.commit()


def long_history(engine: Any, signer: Any, events: int) -> str:
    """One escalation with `events` events: acknowledged, handed between two agents,
    and updated."""
    policy = policy_loader.default()
    eid = "long-history"
    at = NOW - timedelta(hours=6)
    with SqlUnitOfWork(engine, signer) as uow:
        services.open_escalation(uow=uow, actor=ACTORS["alice"], escalation_id=eid,
                                 payload={**OPEN, "severity": "normal"}, policy=policy, now=at)
        uow.commit()
    owner, other = "alice", "andy"
    steps = [(owner, "acknowledge", {"note": "mine"})]
    while len(steps) < events - 1:
        if len(steps) % 20 == 0 and len(steps) + 2 <= events - 1:
            steps += [(owner, "hand-off", {"to": other, "context": "over to you"}),
                      (other, "accept-handoff", {"note": "taking it"})]
            owner, other = other, owner
        else:
            steps.append((owner, "update", {"note": f"progress {len(steps)}",
                                                  "next_steps": "call back"}))
    for who, action, body in steps:
        at += timedelta(minutes=1)
        with SqlUnitOfWork(engine, signer) as uow:
            services.act(uow=uow, actor=ACTORS[who], escalation_id=eid, action=action,
                         payload=body, policy=policy, now=at)
            uow.commit()
    return eid


def measure(client: Any, path: str, runs: int, headers: dict[str, str] | None = None
            ) -> dict[str, float]:
    """Server time of `runs` GETs of `path` (after three to warm up)."""
    for _ in range(3):
        assert client.get(path, headers=headers).status_code == 200, path
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        response = client.get(path, headers=headers)
        samples.append(time.perf_counter() - start)
        assert response.status_code == 200, path
    return quantiles(samples)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--escalations", type=int, default=10_000)
    parser.add_argument("--events", type=int, default=200)
    parser.add_argument("--runs", type=int, default=60)
    args = parser.parse_args()
    info = print_machine()
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{Path(tmp) / 'ui.db'}"
        engine, signer = initialised(url, "bench/ui", 100_000, NOW)
        t0 = time.perf_counter()
        build(engine, signer, args.escalations)
        eid = long_history(engine, signer, args.events)
        with engine.begin() as conn:
            token = actors.add(conn, "benchui", ["manager"], "management", NOW)
        print(f"built {args.escalations} open escalations and one of {args.events} events "
              f"in {time.perf_counter() - t0:.0f} s")
        app = create_app({"BATON_DATABASE_URL": url,
                          "BATON_SIGNING_KEY": str(Path(tmp) / "signing.key"),
                          "BATON_CLOCK": lambda: NOW})
        app.extensions["baton"].ensure_key()
        client = app.test_client()
        form = client.get("/ui/login").text
        csrf = re.search(r'name="csrf_token" value="([^"]+)"', form)
        assert csrf is not None
        client.post("/ui/login", data={"token": token, "csrf_token": csrf.group(1)})
        bearer = {"Authorization": f"Bearer {token}"}
        flt = "team=finance&severity=high"
        cases = {
            "ui queue, first page": ("/ui/", None),
            "ui queue, filtered": (f"/ui/?{flt}", None),
            "ui queue fragment (polled)": ("/ui/queue/live", None),
            f"ui escalation, {args.events} events": (f"/ui/escalations/{eid}", None),
            "api list, 50 rows": ("/api/v1/escalations?limit=50", bearer),
            "api list, filtered": (f"/api/v1/escalations?limit=50&{flt}", bearer),
            f"api timeline, {args.events} events": (f"/api/v1/escalations/{eid}/timeline",
                                                    bearer),
        }
        figures: dict[str, Any] = {"escalations": args.escalations, "events": args.events}
        print(f"{'request':38} {'p50 ms':>8} {'p95 ms':>8}")
        for name, (path, headers) in cases.items():
            q = measure(client, path, args.runs, headers)
            figures[name] = q
            print(f"{name:38} {q['p50_ms']:8.1f} {q['p95_ms']:8.1f}")
        engine.dispose()
        app.extensions["baton"].engine.dispose()
    save("ui", info, figures)


if __name__ == "__main__":
    main()
