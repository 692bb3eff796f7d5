"""Reads that span many escalations, on the 1,000,000-event SQLite ledger: the metrics
report and an actor's ownership trail, served from read digests, each next to a plain
indexed read (one escalation's history) in the same run.

    python -m bench.ledger_reads [--escalations 100000] [--samples 100] [--keep DB]

Builds the ledger with bench.ledger's `build` (10 events per escalation, one opened every
30 s: 2,880 a day), or reuses the file given with --keep (built there when missing).
Measures, with every digest dropped first: the first report of a day (each digest folded
from its history and stored) and the fill of every digest; then p50/p95 of the reports
of a random day (overall and per team), of the largest a request may ask for
(report_period.MAX_ESCALATIONS escalations), the refusal of a 92-day report that holds
more, an actor's first page of spans over a day and over 92 days, and the full fold that
reports were before digests (a few samples).
"""

from __future__ import annotations

import argparse
import functools
import random
import tempfile
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, delete, select

from audit.reads import metrics, read_digests, records, report_period, trails
from audit.store import db
from audit.store.schema import escalations
from audit.store.schema import read_digests as digest_table
from bench.harness import initialised, print_machine, quantiles, rate, save, timed
from bench.ledger import FINANCE, T0, build
from workflow import policy_loader
from workflow.errors import PayloadInvalid

DAY = timedelta(days=1)
PAGE = 200  # the ownership endpoint's default page


def read_latencies(engine: Engine, escalations_: int, samples: int) -> dict[str, Any]:
    """p50/p95 (ms) of metrics reports and ownership pages from digests, beside one
    escalation's history; and what folding costs when digests are missing."""
    rng = random.Random(11)
    max_tier = policy_loader.default().max_tier
    end = T0 + timedelta(seconds=30 * escalations_)
    now = end + DAY
    limit = report_period.MAX_ESCALATIONS

    def day() -> datetime:
        span = max(0, int((end - T0 - DAY).total_seconds()))
        return T0 + timedelta(seconds=rng.randrange(span + 1))

    out: dict[str, Any] = {}
    with engine.begin() as conn:
        conn.execute(delete(digest_table))
    with engine.connect() as conn:
        start = day()
        cold = timed(lambda: metrics.report(conn, start, start + DAY, None, max_tier, now))
        out["metrics_day_cold_s"] = round(cold, 3)
        every = select(escalations.c.id.label("escalation_id"),
                       escalations.c.pk.label("ord"))
        fill_metrics = timed(lambda: metrics.report(conn, None, None, None, max_tier, now))
        fill_trails = timed(lambda: read_digests.digests(conn, trails.DIGEST, every, trails.trail))
        out["fill_ms_per_escalation"] = {
            "metrics": round(fill_metrics * 1000 / escalations_, 3),
            "trail": round(fill_trails * 1000 / escalations_, 3)}
        largest = timedelta(seconds=30 * limit)  # the period holding `limit` escalations
        def refused_92_days(_: Any) -> None:
            try:
                metrics.report(conn, T0, T0 + report_period.MAX_PERIOD, None, max_tier,
                               now, limit=limit)
            except PayloadInvalid:
                return
            raise AssertionError("a 92-day report was not refused")

        def actor_day() -> tuple[datetime, str]:
            return day(), rng.choice(FINANCE)

        # name: (samples, draw the arguments (untimed), the read (timed)).
        cases: dict[str, tuple[int, Callable[[], Any], Callable[[Any], Any]]] = {
            "history_of_one": (samples, lambda: rng.randrange(escalations_),
                               lambda i: records.history(conn, f"e{i}")),
            "metrics_day": (samples, day, lambda s: metrics.report(
                conn, s, s + DAY, None, max_tier, now, limit=limit)),
            "metrics_day_by_team": (samples, day, lambda s: metrics.report(
                conn, s, s + DAY, "team", max_tier, now, limit=limit)),
            "metrics_largest_allowed": (max(3, samples // 10), lambda: None,
                                        lambda _: metrics.report(
                conn, T0, T0 + largest, None, max_tier, now, limit=limit)),
            "metrics_92_days_refused": (samples, lambda: None, refused_92_days),
            "ownership_day_page": (samples, actor_day, lambda d: trails.actor_page(
                conn, d[1], d[0], d[0] + DAY, PAGE)),
            "ownership_92_days_page": (samples, lambda: rng.choice(FINANCE),
                                       lambda a: trails.actor_page(
                conn, a, T0, T0 + report_period.MAX_PERIOD, PAGE)),
            "ownership_92_days_largest_page": (samples, lambda: rng.choice(FINANCE),
                                               lambda a: trails.actor_page(
                conn, a, T0, T0 + report_period.MAX_PERIOD, 1000)),
            "metrics_day_full_fold": (3, day, lambda s: metrics.report_from_ledger(
                conn, s, s + DAY, None, max_tier, now)),
        }
        if escalations_ <= limit:  # everything fits: no report to refuse
            del cases["metrics_92_days_refused"]
        for name, (n, draw, read) in cases.items():
            drawn = [draw() for _ in range(n)]
            out[name] = quantiles([timed(functools.partial(read, d)) for d in drawn])
        out["escalations_per_day"] = min(escalations_, int(DAY.total_seconds()) // 30)
    return out


def _ledger(path: Path, escalations_: int) -> Engine:
    """The ledger at `path`: built when missing, else upgraded to the newest schema."""
    if path.exists():
        engine = db.make_engine(f"sqlite:///{path}")
        db.create_schema(engine)
        return engine
    engine, signer = initialised(f"sqlite:///{path}", "bench/ledger", 100_000, T0)
    built = build(engine, signer, escalations_)
    print(f"built {escalations_ * 10} events in {built:.0f} s "
          f"({rate(escalations_ * 10, built):.0f} events/s)")
    return engine


def print_reads(figures: dict[str, Any]) -> None:
    """One line per read, p50 and p95 beside each other."""
    for name, value in figures.items():
        if isinstance(value, dict) and "p50_ms" in value:
            print(f"{name:32} p50 {value['p50_ms']:9.3f} ms  p95 {value['p95_ms']:9.3f} ms "
                  f"(n={value['n']})")
        else:
            print(f"{name:32} {value}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--escalations", type=int, default=100_000)
    parser.add_argument("--samples", type=int, default=100)
    parser.add_argument("--keep", type=Path, default=None,
                        help="the ledger file to reuse (built there when missing)")
    args = parser.parse_args()
    info = print_machine()
    with tempfile.TemporaryDirectory() as tmp:
        engine = _ledger(args.keep or Path(tmp) / "ledger.db", args.escalations)
        figures = read_latencies(engine, args.escalations, args.samples)
        engine.dispose()
    print_reads(figures)
    save("ledger_reads", info, {"escalations": args.escalations,
                                "events": args.escalations * 10, "reads": figures})


if __name__ == "__main__":
    main()
