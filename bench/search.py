"""The escalation list's search (`q=`) at many escalations on SQLite and PostgreSQL, next
to the unfiltered list in the same run.

    python -m bench.search [--escalations 100000] [--runs 60] [--db sqlite,postgresql]

Builds each database through the open use case (titles and descriptions drawn from a
small vocabulary, so a word matches from a handful of escalations to a third of them;
customer ids and names unique), then times, in process through Flask's test client, the
API's GET /escalations (50 rows): unfiltered, and with q= a rare word, a common word, two
words, a prefix, a customer id, and q= beside filters; the dashboard's queue with a search.
Prints p50 and p95 per request (the goal: p95 under 50 ms), then the time of one erasure
(which rewrites the escalation's document and, on SQLite, merges FTS5's segments). On
PostgreSQL (analysed after the build, as autovacuum would have it) each search is also
timed right after with the former plan (the matches as one subquery left to the planner,
before search_index.FEW), so the two compare within the same minutes.
"""

from __future__ import annotations

import argparse
import re
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import text

from api import create_app
from audit.store import actors, search_index
from audit.store.uow import SqlUnitOfWork
from bench.harness import initialised, postgres, print_machine, save
from bench.ui import measure
from bench.workload import ACTORS, OPEN
from workflow import erasure, policy_loader, services

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
SEVERITIES = ("urgent", "high", "normal", "low")
CATEGORIES = ("billing", "technical", "account", "outage")
# Common words first: word k appears in about 1 / (k + 3) of the titles.
WORDS = ("invoice", "refund", "login", "checkout", "timeout", "password", "shipment",
         "voucher", "warranty", "export", "mailbox", "quarantine", "zeppelin")
SURNAMES = ("Lovelace", "Hopper", "Turing", "Noether", "Curie", "Meitner", "Franklin")


def _title(i: int) -> str:
    picked = [w for k, w in enumerate(WORDS) if i % (k + 3) == 0] or ["question"]
    return f"Case {i}: " + " ".join(picked[:3])


def build(engine: Any, signer: Any, n: int) -> None:
    """`n` escalations opened over the last 30 days, most still open."""
    policy = policy_loader.default()
    for first in range(0, n, 1000):
        with SqlUnitOfWork(engine, signer) as uow:
            for i in range(first, min(first + 1000, n)):
                payload = {**OPEN, "title": _title(i),
                           "description": f"Reported by phone; {WORDS[i % len(WORDS)]} "
                                          f"again, reference R{i}",
                           "severity": SEVERITIES[i % 4], "category": CATEGORIES[(i // 4) % 4],
                           "customer": {"id": f"cust-{i}",
                                        "name": f"Client{i} {SURNAMES[i % 7]}"}}
                at = NOW - timedelta(seconds=(n - i) * 2_592_000 / n)
                services.open_escalation(uow=uow, actor=ACTORS["alice"],
                                         escalation_id=f"e{i:07d}", payload=payload,
                                         policy=policy, now=at)
            uow.commit()


@contextmanager
def former_plan() -> Iterator[None]:
    """search_index.matching as it was before it looked for a few matches first."""
    current = search_index.matching

    def former(conn: Any, q: str, *, walked: str | None = None) -> Any:
        del walked
        return current(conn, q)

    search_index.matching = former  # type: ignore[assignment]
    try:
        yield
    finally:
        search_index.matching = current  # type: ignore[assignment]


@contextmanager
def database(kind: str, tmp: Path) -> Iterator[str]:
    """A fresh database of `kind`, its URL."""
    if kind == "sqlite":
        yield f"sqlite:///{tmp / 'search.db'}"
        return
    with postgres() as cluster:
        yield cluster.new_database()


def _signed_in(app: Any, token: str) -> Any:
    client = app.test_client()
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/ui/login").text)
    assert csrf is not None
    client.post("/ui/login", data={"token": token, "csrf_token": csrf.group(1)})
    return client


def run(kind: str, n: int, runs: int) -> dict[str, Any]:
    """Build, time, print; the figures."""
    with tempfile.TemporaryDirectory() as tmp, database(kind, Path(tmp)) as url:
        engine, signer = initialised(url, "bench/search", 100_000, NOW)
        t0 = time.perf_counter()
        build(engine, signer, n)
        with engine.begin() as conn:
            token = actors.add(conn, "benchsearch", ["manager"], "management", NOW)
        print(f"{kind}: built {n} escalations in {time.perf_counter() - t0:.0f} s")
        if kind == "postgresql":
            with engine.connect() as conn:
                conn.execute(text("ANALYZE"))
                conn.commit()
        app = create_app({"BATON_DATABASE_URL": url,
                          "BATON_SIGNING_KEY": str(Path(tmp) / "signing.key"),
                          "BATON_CLOCK": lambda: NOW})
        app.extensions["baton"].ensure_key()
        client = _signed_in(app, token)
        bearer = {"Authorization": f"Bearer {token}"}
        api = "/api/v1/escalations?limit=50"
        cases = {
            "list, unfiltered": api,
            "list, sorted by deadline": f"{api}&sort=next_due",
            "q=zeppelin (rare word)": f"{api}&q=zeppelin",
            "q=invoice (common word)": f"{api}&q=invoice",
            "q=invoice refund (two words)": f"{api}&q=invoice%20refund",
            "q=quaran (a prefix)": f"{api}&q=quaran",
            f"q=cust-{n // 2} (customer id)": f"{api}&q=cust-{n // 2}",
            f"q=client{n // 3} (customer name)": f"{api}&q=client{n // 3}",
            "q=invoice&severity=high&sort=next_due": f"{api}&q=invoice&severity=high"
                                                     "&sort=next_due",
            "ui queue, q=refund": "/ui/?q=refund",
            "ui queue, unfiltered": "/ui/",
        }
        figures: dict[str, Any] = {}
        print(f"{'request (' + kind + ')':44} {'p50 ms':>8} {'p95 ms':>8}")
        for name, path in cases.items():
            headers = None if path.startswith("/ui/") else bearer
            compare = kind == "postgresql" and "q=" in path
            for label, plan in ((name, nullcontext()), ("  former plan", former_plan())):
                if label != name and not compare:
                    continue
                with plan:
                    q = measure(client, path, runs, headers)
                figures[name if label == name else f"{name}, former plan"] = q
                print(f"{label:44} {q['p50_ms']:8.1f} {q['p95_ms']:8.1f}")
        figures["erasure_s"] = _erase_one(engine, signer, n)
        print(f"one erasure (document rewritten, index compacted): "
              f"{figures['erasure_s'] * 1000:.0f} ms")
        engine.dispose()
        app.extensions["baton"].engine.dispose()
        return figures


def _erase_one(engine: Any, signer: Any, n: int) -> float:
    """Seconds to erase one customer's escalation through the use case."""
    start = time.perf_counter()
    with SqlUnitOfWork(engine, signer) as uow:
        erasure.erase_customer(uow=uow, customer_id=f"cust-{n // 2}", actor=ACTORS["root"],
                               policy=policy_loader.default(), now=NOW)
        uow.commit()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--escalations", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=60)
    parser.add_argument("--db", default="sqlite,postgresql")
    args = parser.parse_args()
    info = print_machine()
    figures: dict[str, Any] = {"escalations": args.escalations}
    for kind in args.db.split(","):
        figures[kind] = run(kind, args.escalations, args.runs)
    save("search", info, figures)


if __name__ == "__main__":
    main()
