"""Shared bench helpers: the machine, medians, results files, throwaway databases."""

from __future__ import annotations

import json
import os
import platform
import sqlite3
import statistics
import subprocess
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).resolve().parent / "results"


def machine() -> dict[str, Any]:
    """What the figures were measured on."""
    pg = None
    try:
        from api.testbed import find

        postgres = find("postgres")
        if postgres:
            pg = subprocess.run([postgres, "--version"], capture_output=True,
                                text=True).stdout.strip()
    except (OSError, ImportError):
        pass
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True,
                            text=True, cwd=Path(__file__).parent).stdout.strip()
    return {"cores": os.cpu_count(), "python": platform.python_version(),
            "sqlite": sqlite3.sqlite_version, "postgresql": pg,
            "platform": platform.platform(), "commit": commit,
            "at": datetime.now(UTC).isoformat(timespec="seconds")}


def print_machine() -> dict[str, Any]:
    info = machine()
    print("machine: " + ", ".join(f"{k}={v}" for k, v in info.items()))
    return info


def rate(n: int, seconds: float) -> float:
    return n / seconds if seconds else float("inf")


def quantiles(samples: list[float]) -> dict[str, float]:
    """p50/p95/p99 in milliseconds."""
    ordered = sorted(samples)

    def q(p: float) -> float:
        return ordered[min(len(ordered) - 1, int(p * len(ordered)))] * 1000

    return {"p50_ms": round(q(0.50), 3), "p95_ms": round(q(0.95), 3),
            "p99_ms": round(q(0.99), 3), "n": len(ordered)}


def median_of(runs: int, fn: Callable[[], float]) -> float:
    """The median of `runs` measurements (the machines are shared and noisy)."""
    return statistics.median(fn() for _ in range(runs))


def timed(fn: Callable[[], Any]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def save(name: str, info: dict[str, Any], figures: dict[str, Any]) -> Path:
    """Write the figures to bench/results/NAME-COMMIT.json for comparison across commits."""
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / f"{name}-{info['commit'] or 'nocommit'}.json"
    path.write_text(json.dumps({"machine": info, "figures": figures}, indent=2) + "\n")
    print(f"figures written to {path}")
    return path


@contextmanager
def postgres(durable: bool = True) -> Iterator[Any]:
    """A throwaway PostgreSQL cluster (fsync on unless asked otherwise)."""
    from api.testbed import Cluster

    cluster = Cluster(durable=durable)
    cluster.start()
    cluster.wait()
    try:
        yield cluster
    finally:
        cluster.stop()


def on_both_backends(measure: Callable[[str, str, int | None], dict[str, Any]],
                     with_postgres: bool) -> dict[str, Any]:
    """measure(name, url, server) on a fresh SQLite file, then on a durable throwaway
    PostgreSQL; `server` is the PostgreSQL postmaster's process id (None on SQLite)."""
    import tempfile

    figures = {}
    with tempfile.TemporaryDirectory() as tmp:
        figures["sqlite"] = measure("sqlite", f"sqlite:///{Path(tmp) / 'bench.db'}", None)
    if with_postgres:
        with postgres(durable=True) as cluster:
            figures["postgresql"] = measure("postgresql", cluster.new_database(), cluster.pid())
    return figures


def initialised(url: str, origin: str, every: int, now: datetime) -> tuple[Any, Any]:
    """A migrated database with the default policy and the demo actors, and its signer."""
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from audit.log.ledger import Signer
    from audit.store import actors, db
    from audit.store.uow import SqlUnitOfWork
    from bench.workload import ACTORS
    from workflow import policy_loader

    engine = db.make_engine(url)
    db.create_schema(engine)
    signer = Signer(Ed25519PrivateKey.generate(), origin, every=every)
    with SqlUnitOfWork(engine, signer) as uow:
        uow.policies.apply(policy_loader.default_text(), actor="root", role="admin", now=now)
        for a in ACTORS.values():
            actors.add(uow.conn, a.handle, list(a.roles), a.team, now)
        uow.commit()
    return engine, signer
