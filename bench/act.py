"""In-process throughput of the `act` use case, next to plain UPDATE+INSERT of the same rows.

    python -m bench.act [--escalations 150] [--runs 3] [--no-postgres]

Each transition is one durable transaction (SQLite WAL synchronous=FULL; PostgreSQL with
fsync on). The baseline writes the same projection row and a ledger-shaped row with plain
SQLAlchemy Core statements, in the same database, in the same run.
"""

from __future__ import annotations

import argparse
import json
import time
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Column, Integer, LargeBinary, MetaData, String, Table, insert, update

from audit.log.ledger import Signer
from audit.store.uow import SqlUnitOfWork
from bench.harness import initialised, median_of, on_both_backends, print_machine, rate, save
from bench.workload import ACTORS, LIFECYCLE, OPEN
from workflow import policy_loader, services

plain = MetaData()
plain_ledger = Table(
    "bench_plain_ledger", plain,
    Column("seq", Integer, primary_key=True), Column("escalation_id", String(64)),
    Column("body", LargeBinary), Column("leaf_hash", LargeBinary))
plain_state = Table(
    "bench_plain_state", plain,
    Column("id", String(64), primary_key=True), Column("version", Integer),
    Column("snapshot", String))


def prepare(url: str) -> Any:
    engine, signer = initialised(url, "bench/log", 1000, datetime.now(UTC))
    plain.create_all(engine)
    return engine, signer


def run_baton(engine: Any, signer: Signer, n: int, tag: str) -> float:
    policy = policy_loader.default()
    transitions = 0
    start = time.perf_counter()
    for i in range(n):
        eid = f"{tag}-{i}"
        with SqlUnitOfWork(engine, signer) as uow:
            services.open_escalation(uow=uow, actor=ACTORS["alice"], escalation_id=eid,
                                     payload=OPEN, policy=policy, now=datetime.now(UTC))
            uow.commit()
        for who, action, body in LIFECYCLE:
            with SqlUnitOfWork(engine, signer) as uow:
                services.act(uow=uow, actor=ACTORS[who], escalation_id=eid,
                             action=action, payload=body, policy=policy,
                             now=datetime.now(UTC))
                uow.commit()
        transitions += 1 + len(LIFECYCLE)
    return rate(transitions, time.perf_counter() - start)


def run_plain(engine: Any, n: int, tag: str) -> float:
    body = json.dumps({"payload": OPEN, "action": "acknowledge"}).encode() * 2
    snapshot = "x" * 700
    seq = [0]
    transitions = 0

    def writer() -> Any:  # a connection whose transactions BEGIN IMMEDIATE
        return engine.connect().execution_options(baton_write=True)

    start = time.perf_counter()
    for i in range(n):
        eid = f"{tag}-{i}"
        with writer() as conn, conn.begin():
            conn.execute(insert(plain_state).values(id=eid, version=1, snapshot=snapshot))
            seq[0] += 1
            conn.execute(insert(plain_ledger).values(escalation_id=eid, body=body,
                                                     leaf_hash=b"h" * 32))
        for version in range(2, 2 + len(LIFECYCLE)):
            with writer() as conn, conn.begin():
                conn.execute(update(plain_state).where(plain_state.c.id == eid)
                             .values(version=version, snapshot=snapshot))
                conn.execute(insert(plain_ledger).values(escalation_id=eid, body=body,
                                                         leaf_hash=b"h" * 32))
        transitions += 1 + len(LIFECYCLE)
    return rate(transitions, time.perf_counter() - start)


def measure(name: str, url: str, n: int, runs: int) -> dict[str, Any]:
    engine, signer = prepare(url)
    counter = iter(range(1000))
    baton = median_of(runs, lambda: run_baton(engine, signer, n, f"b{next(counter)}"))
    base = median_of(runs, lambda: run_plain(engine, n, f"p{next(counter)}"))
    engine.dispose()
    out = {"act_transitions_per_s": round(baton, 1),
           "plain_update_insert_per_s": round(base, 1), "ratio": round(baton / base, 3)}
    print(f"{name:10} act: {baton:8.1f} transitions/s   plain UPDATE+INSERT: {base:8.1f}/s   "
          f"ratio {baton / base:.2f}  (median of {runs}, {n * 8} transitions each)")
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--escalations", type=int, default=150)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--no-postgres", action="store_true")
    args = parser.parse_args()
    info = print_machine()
    figures = on_both_backends(
        lambda name, url, _server: measure(name, url, args.escalations, args.runs),
        not args.no_postgres)
    save("act", info, figures)


if __name__ == "__main__":
    main()
