"""The ledger at size: append, offline verify and read-model queries on SQLite.

    python -m bench.ledger [--escalations 100000] [--samples 300] [--verify-only]

Builds a ledger of 10 events per escalation (1,000,000 events for 100,000 escalations)
through the real append path (uow.record: canonical bytes, commitments, leaf, chain,
compact range, projection), in batches. Then measures, each next to its baseline in the
same run: durable single-event appends vs raw sqlite3 single-row commits with the same
settings (WAL, synchronous=FULL); offline verification (structural and full, one core
and every core, with two witnesses' cosignatures on every checkpoint) vs the hashing floor
of the same bytes (leaf, chain link, Merkle node per event); p50/p95 of timeline,
owner-at-instant and actor-trail queries. --verify-only builds the ledger and measures
the offline verification alone.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import random
import sqlite3
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import select

from audit.log import cosignature, cosignatures, witness_policy
from audit.log.ledger import Signer
from audit.reads import records, timeline, trails
from audit.reads.export import write_binary_bundle, write_bundle
from audit.store.schema import checkpoints
from audit.store.uow import SqlUnitOfWork
from audit.verifier import verify_embedded
from audit.verifier.verify import verify_path
from audit.verifier.verify_parallel import cores as parallel_cores
from bench.harness import initialised, print_machine, quantiles, rate, save
from bench.workload import ACTORS
from workflow import policy_loader, services
from workflow.model import Escalation, Event

T0 = datetime(2026, 1, 1, tzinfo=UTC)
AGENTS = [f"agent-{i}" for i in range(500)]
FINANCE = [f"fin-{i}" for i in range(200)]


def history_for(eid: str, i: int, version: str) -> list[Event]:
    """Ten events of a billing escalation, the shape the use cases produce."""
    agent, fin, fin2 = AGENTS[i % 500], FINANCE[i % 200], FINANCE[(i + 1) % 200]
    at = T0 + timedelta(seconds=i * 30)
    steps: list[tuple[str, str, str, str | None, str | None, int, dict[str, Any]]] = [
        ("open", agent, "opened", None, None, 0,
         {"title": f"Case {i}", "description": "charged twice", "category": "billing",
          "severity": "high", "customer_id": f"cust-{i % 20000}", "customer_name": "Name",
          "customer_value": "standard", "team": "frontline", "governor": "sam",
          "deadlines": {"acknowledge": "2026-01-01T00:30:00.000000Z"}}),
        ("acknowledge", agent, "acknowledged", None, agent, 0, {"note": "mine"}),
        ("escalate", agent, "escalated-tier-1", agent, agent, 1,
         {"reason": "limit", "trigger": "authority", "to_tier": 1, "from_tier": 0,
          "team": "finance", "governor": "sam"}),
        ("acknowledge", fin, "escalated-tier-1", agent, fin, 1, {"note": "finance"}),
        ("update", fin, "escalated-tier-1", fin, fin, 1, {"note": "n", "next_steps": "s"}),
        ("hand-off", fin, "handed-off", fin, fin, 1, {"to": fin2, "context": "c"}),
        ("accept-handoff", fin2, "escalated-tier-1", fin, fin2, 1, {}),
        ("update", fin2, "escalated-tier-1", fin2, fin2, 1, {"note": "n", "next_steps": "s"}),
        ("resolve", fin2, "resolved", fin2, fin2, 1, {"summary": "refunded"}),
        ("debrief", "fay", "debriefed", fin2, fin2, 1,
         {"what_worked": "a", "what_did_not": "b", "root_cause": "c", "lessons": ["d"],
          "actions": ["e"], "action_items": [{"id": "a9.1", "owner": "fay", "due": None}]}),
    ]
    events, state = [], None
    for n, (action, actor, to_state, from_owner, to_owner, tier, payload) in enumerate(steps):
        events.append(Event(eid, n, action, actor, "agent", at + timedelta(minutes=n),
                            state, to_state, from_owner, to_owner, tier, payload, version,
                            "bench"))
        state = to_state
    return events


def build(engine: Any, signer: Signer, escalations: int) -> float:
    policy = policy_loader.default()
    start = time.perf_counter()
    batch = 100
    for first in range(0, escalations, batch):
        with SqlUnitOfWork(engine, signer) as uow:
            for i in range(first, min(first + batch, escalations)):
                esc = Escalation(id=f"e{i}", state="opened")
                for event in history_for(f"e{i}", i, policy.version):
                    esc.apply(event)
                    uow.record(esc, event)
            uow.commit()
        if first and first % 10000 == 0:
            done = first * 10
            print(f"  built {done} events ({rate(done, time.perf_counter() - start):.0f}/s)",
                  flush=True)
    return time.perf_counter() - start


def durable_appends(engine: Any, signer: Signer, path: Path, n: int) -> dict[str, float]:
    policy = policy_loader.default()
    # The real use case, one durable transaction per event, on the big ledger.
    with SqlUnitOfWork(engine, signer) as uow:
        services.open_escalation(uow=uow, actor=ACTORS["alice"], escalation_id="hot",
                                 payload={"title": "t", "category": "billing",
                                          "severity": "high", "customer": {"id": "c"}},
                                 policy=policy, now=datetime.now(UTC))
        services.act(uow=uow, actor=ACTORS["alice"], escalation_id="hot",
                     action="acknowledge", payload={"note": "x"}, policy=policy,
                     now=datetime.now(UTC))
        uow.commit()
    start = time.perf_counter()
    for _ in range(n):
        with SqlUnitOfWork(engine, signer) as uow:
            services.act(uow=uow, actor=ACTORS["alice"], escalation_id="hot",
                         action="update", payload={"note": "n", "next_steps": "s"},
                         policy=policy, now=datetime.now(UTC))
            uow.commit()
    baton = rate(n, time.perf_counter() - start)
    # The ledger append alone (canonical bytes, leaf, chain, compact range, head, commit).
    start = time.perf_counter()
    for i in range(n):
        with SqlUnitOfWork(engine, signer) as uow:
            uow.append({"v": 1, "escalation_id": None, "version": None, "action": "bench",
                        "actor": "bench", "at": "2026-01-01T00:00:00.000000Z",
                        "payload": {"i": i}}, [], datetime.now(UTC))
            uow.commit()
    append_only = rate(n, time.perf_counter() - start)
    raw = sqlite3.connect(path, isolation_level=None)
    raw.execute("PRAGMA journal_mode=WAL")
    raw.execute("PRAGMA synchronous=FULL")
    raw.execute("CREATE TABLE IF NOT EXISTS bench_raw (id INTEGER PRIMARY KEY, body BLOB)")
    body = b"x" * 600
    start = time.perf_counter()
    for _ in range(n):
        raw.execute("BEGIN IMMEDIATE")
        raw.execute("INSERT INTO bench_raw (body) VALUES (?)", (body,))
        raw.execute("COMMIT")
    raw_rate = rate(n, time.perf_counter() - start)
    raw.close()
    return {"act_per_s": round(baton, 1), "ledger_append_per_s": round(append_only, 1),
            "raw_sqlite_commit_per_s": round(raw_rate, 1),
            "act_ratio": round(baton / raw_rate, 3),
            "append_ratio": round(append_only / raw_rate, 3)}


def _witnessed(engine: Any, now: datetime) -> witness_policy.TrustPolicy:
    """Two witnesses (real Ed25519 keys) cosign every checkpoint; the policy needs both."""
    keys = {name: Ed25519PrivateKey.generate() for name in ("w1.bench", "w2.bench")}
    vkeys = {name: cosignature.Cosigner(name, cosignature.public_bytes(k)).vkey
             for name, k in keys.items()}
    text = "".join(f"witness {name} {vkey}\n" for name, vkey in vkeys.items())
    policy = witness_policy.parse(text + "group both all w1.bench w2.bench\nquorum both\n")
    with engine.begin() as conn:
        for size, note in conn.execute(select(checkpoints.c.size, checkpoints.c.note)).all():
            for name, key in keys.items():
                cosignatures.add(conn, size, policy.witnesses[name].cosigner,
                                 cosignature.sign(note, key, name, int(now.timestamp())), now)
    return policy


def _timed(fn: Any) -> tuple[float, float, Any]:
    """(wall seconds, this process's CPU seconds, result)."""
    wall, cpu = time.perf_counter(), time.process_time()
    result = fn()
    return time.perf_counter() - wall, time.process_time() - cpu, result


def hashing_floor(bodies: list[bytes]) -> tuple[float, float]:
    """(wall, CPU) seconds to hash the events as plain hashlib code can: per event its
    leaf and its chain link, then the Merkle tree over the leaves (one node per event)."""
    sha = hashlib.sha256

    def run() -> None:
        chain = bytes(32)
        leaves = []
        for b in bodies:
            leaf = sha(b"\x00" + b).digest()
            chain = sha(b"\x02" + chain + leaf).digest()
            leaves.append(leaf)
        while len(leaves) > 1:
            pairs = [sha(b"\x01" + a + b).digest()
                     for a, b in zip(leaves[::2], leaves[1::2], strict=False)]
            leaves = pairs + leaves[len(pairs) * 2:]

    wall, cpu, _ = _timed(run)
    return wall, cpu


RUNS = {  # name: (what, binary file?, structural?, all cores?)
    "structural_binary": ("structural, binary bundle, 1 process", True, True, False),
    "structural_jsonl": ("structural, JSON Lines, 1 process", False, True, False),
    "full_jsonl": ("full (content, repeated fields), JSON Lines, 1 process", False, False,
                   False),
    "structural_binary_parallel": ("structural, binary bundle, {cores} processes", True,
                                   True, True),
    "full_jsonl_parallel": ("full, JSON Lines, {cores} processes", False, False, True),
}


def verify_rates(engine: Any, signer: Signer, tmp: Path) -> dict[str, Any]:
    """The offline verifier next to the hashing floor of the same bytes, each run paired
    with a floor measured just before it (the machine is shared)."""
    policy = _witnessed(engine, datetime.now(UTC))
    bundle, binary = tmp / "bundle.jsonl", tmp / "bundle.bin"
    with engine.connect() as conn, open(bundle, "w") as fh:
        start = time.perf_counter()
        events = write_bundle(conn, fh, signer.origin, signer.vkey, datetime.now(UTC))
        export_s = time.perf_counter() - start
    with engine.connect() as conn, open(binary, "wb") as bfh:
        write_binary_bundle(conn, bfh, signer.origin, signer.vkey, datetime.now(UTC))
    bodies = []
    with open(bundle) as fh:
        for line in fh:
            if line.startswith('{"type":"event"'):  # bundle format 1
                bodies.append(base64.b64decode(json.loads(line)["bytes"]))
            elif line.startswith(verify_embedded.EVENT_START):  # format 2
                found = verify_embedded.event_bytes(line)
                assert found is not None, line
                bodies.append(found[1])
    assert len(bodies) == events, "the floor hashes every event's bytes"
    cores = parallel_cores()
    out: dict[str, Any] = {"events": events, "cores": cores, "cosignatures_per_checkpoint": 2,
                           "export_per_s": round(rate(events, export_s)),
                           "bundle_mb": round(bundle.stat().st_size / 1e6, 1),
                           "binary_mb": round(binary.stat().st_size / 1e6, 1), "runs": {}}
    for name, (_, is_binary, structural, parallel) in RUNS.items():
        floor_wall, floor_cpu = hashing_floor(bodies)
        jobs = cores if parallel else 1
        wall, cpu, report = _timed(lambda b=is_binary, s=structural, j=jobs: verify_path(
            str(binary if b else bundle), signer.vkey, policy=policy, structural=s, jobs=j,
            parallel_from=0))
        assert report.ok, report.problems
        assert report.cores == jobs, f"{name} ran on {report.cores} processes, not {jobs}"
        out["checkpoints"] = report.checkpoints
        out["runs"][name] = {
            "per_s": round(rate(events, wall)),
            "floor_per_s": round(rate(len(bodies), floor_wall)),
            "vs_floor": round(floor_wall / wall, 3),
            # one process: its CPU time against the floor's (less disturbed by neighbours)
            "cpu_vs_floor": None if parallel else round(floor_cpu / cpu, 3)}
    return out


def print_verify(v: dict[str, Any]) -> None:
    """The verifier's figures, each next to the hashing floor measured just before it."""
    print(f"offline verify of {v['events']} events, {v['checkpoints']} checkpoints each "
          f"with {v['cosignatures_per_checkpoint']} witness cosignatures (policy: both); "
          "hashing floor = leaf + chain link + Merkle node per event, bytes in memory, "
          "one process, measured just before each run:")
    for name, (what, *_) in RUNS.items():
        r = v["runs"][name]
        by_cpu = f", by CPU {r['cpu_vs_floor']}" if r["cpu_vs_floor"] is not None else ""
        print(f"  {what.format(cores=v['cores']):58} {r['per_s']:>8} events/s  floor "
              f"{r['floor_per_s']:>8}/s  ratio {r['vs_floor']}{by_cpu}")
    print(f"  export {v['export_per_s']} events/s; JSON Lines {v['bundle_mb']} MB, binary "
          f"{v['binary_mb']} MB")


def query_latencies(engine: Any, escalations: int, samples: int) -> dict[str, Any]:
    rng = random.Random(7)
    out: dict[str, list[float]] = {"timeline": [], "owner_at": [], "actor_trail": []}
    with engine.connect() as conn:
        for _ in range(samples):
            i = rng.randrange(escalations)
            t0 = time.perf_counter()
            timeline.build(records.history(conn, f"e{i}"))
            out["timeline"].append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            spans = trails.trail(records.history(conn, f"e{i}"))
            trails.owner_at(spans, T0 + timedelta(seconds=i * 30, minutes=4))
            out["owner_at"].append(time.perf_counter() - t0)
            actor = FINANCE[rng.randrange(200)]
            since = T0 + timedelta(seconds=rng.randrange(escalations) * 30)
            t0 = time.perf_counter()
            trails.actor_spans(conn, actor, since, since + timedelta(hours=2))
            out["actor_trail"].append(time.perf_counter() - t0)
    return {k: quantiles(v) for k, v in out.items()}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--escalations", type=int, default=100_000)
    parser.add_argument("--appends", type=int, default=1000)
    parser.add_argument("--samples", type=int, default=300)
    parser.add_argument("--verify-only", action="store_true",
                        help="measure the offline verification alone (no appends, queries)")
    args = parser.parse_args()
    info = print_machine()
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        path = tmp / "ledger.db"
        engine, signer = initialised(f"sqlite:///{path}", "bench/ledger", 100_000, T0)
        built = build(engine, signer, args.escalations)
        n_events = args.escalations * 10
        print(f"built {n_events} events over {args.escalations} escalations in "
              f"{built:.0f} s ({rate(n_events, built):.0f} events/s, 100 escalations per "
              f"transaction); file {path.stat().st_size / 1e6:.0f} MB")
        if args.verify_only:
            verify = verify_rates(engine, signer, tmp)
            print_verify(verify)
            engine.dispose()
            save("ledger", info, {"escalations": args.escalations, "events": n_events,
                                  "verify": verify})
            return
        appends = durable_appends(engine, signer, path, args.appends)
        print(f"durable single-event transactions: ledger append alone "
              f"{appends['ledger_append_per_s']}/s (ratio {appends['append_ratio']}), full act "
              f"use case {appends['act_per_s']}/s (ratio {appends['act_ratio']}), vs raw "
              f"sqlite3 single-row commit {appends['raw_sqlite_commit_per_s']}/s")
        verify = verify_rates(engine, signer, tmp)
        print_verify(verify)
        queries = query_latencies(engine, args.escalations, args.samples)
        for name, q in queries.items():
            print(f"query {name:12} p50 {q['p50_ms']} ms  p95 {q['p95_ms']} ms "
                  f"(n={q['n']})")
        # Metrics and an actor's ownership (read digests), beside one history's read
        # (bench.ledger_reads builds its ledger with this module's build: imported here).
        from bench import ledger_reads
        reads = ledger_reads.read_latencies(engine, args.escalations, args.samples)
        ledger_reads.print_reads(reads)
        engine.dispose()
    save("ledger", info, {"escalations": args.escalations, "events": n_events,
                          "build_events_per_s": round(rate(n_events, built)),
                          "append": appends, "verify": verify, "queries": queries,
                          "reads": reads})


if __name__ == "__main__":
    main()
