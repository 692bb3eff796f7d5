"""Baton's in-process lifecycle next to the stacks a Python team would otherwise pick.

    python -m bench.lean [--escalations 1000] [--rounds 3] [--json FILE] [--profile]

N billing cases each taken through the 8-step lifecycle of bench.workload (open,
acknowledge, escalate, acknowledge, hand-off, accept-handoff, resolve, debrief), one durable
SQLite commit per transition (WAL, synchronous=FULL), by
  (a) baton: workflow.services on audit.store.uow.SqlUnitOfWork, as Baton runs;
  (b) eventsourcing: the library's Application and its SQLite recorder, an aggregate with
      the same steps and payloads (skipped, and said so, when it is not installed);
  (c) core: SQLAlchemy Core, UPDATE of a state row + INSERT of an event row;
  (d) sqlite3: the same two statements on the driver;
  (e) baton-sql: the statements (a) sends, noted once and replayed on the driver alone,
      transaction by transaction, each write changing the rows it changed in (a)
      (bench/lean_floor.py): the floor of Baton's schema, what the driver and SQLite do
      for its tables, indexes and commits.
Each round runs the four in turn on fresh database files; rates are medians over the
rounds. Bytes per event: the database file and its WAL after a checkpoint, over the
workload's events; then where Baton's bytes go, table by table (SQLite's dbstat).
--json writes the figures to bench/results/FILE; --profile also runs Baton's side once (at
most 100 escalations) under pyinstrument and saves bench/results/lean-profile-COMMIT.html.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sqlite3
import statistics
import subprocess
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from audit.store.uow import SqlUnitOfWork
from bench import lean_floor
from bench.harness import RESULTS, initialised, machine
from bench.workload import ACTORS, LIFECYCLE, OPEN
from workflow import policy_loader, services

try:
    from eventsourcing.application import Application
    from eventsourcing.domain import Aggregate, event
except ImportError:  # a benchmark-only extra: pip install -e '.[bench]'
    Application = None  # type: ignore[assignment,misc]

STEPS = len(LIFECYCLE) + 1
SLICE = 25  # escalations a system runs before the next one takes its turn
# A system under test: work(first, end) takes escalations first..end-1 through the
# lifecycle; close() lets go of the database.
Runner = tuple[Callable[[int, int], None], Callable[[], None]]
# The state after each step of the workload (the baselines write it; Baton derives it).
STATES = ["opened", "acknowledged", "escalated-tier-1", "escalated-tier-1", "handed-off",
          "escalated-tier-1", "resolved", "debriefed"]
OWNERS = ["alice"] + [who for who, _, _ in LIFECYCLE]


def opened(i: int) -> dict[str, Any]:
    """The case to open: a customer of its own, as in life."""
    return {**OPEN, "customer": {**OPEN["customer"], "id": f"cust-{i}"}}


def now() -> str:
    return datetime.now(UTC).isoformat()


# (a) Baton ---------------------------------------------------------------------------

def run_baton(path: Path) -> Runner:
    engine, signer = initialised(f"sqlite:///{path}", "bench/lean", 1000, datetime.now(UTC))
    policy = policy_loader.default()

    def work(first: int, end: int) -> None:
        for i in range(first, end):
            eid = f"esc-{i}"
            with SqlUnitOfWork(engine, signer) as uow:
                services.open_escalation(uow=uow, actor=ACTORS["alice"], escalation_id=eid,
                                         payload=opened(i), policy=policy,
                                         now=datetime.now(UTC))
                uow.commit()
            for who, action, body in LIFECYCLE:
                with SqlUnitOfWork(engine, signer) as uow:
                    services.act(uow=uow, actor=ACTORS[who], escalation_id=eid,
                                 action=action, payload=body, policy=policy,
                                 now=datetime.now(UTC))
                    uow.commit()
    return work, engine.dispose


# (b) eventsourcing -------------------------------------------------------------------

if Application is not None:
    class Case(Aggregate):
        """The billing case as an eventsourcing aggregate: each step checks the state it
        starts from, records who did it with its payload, and moves state and owner."""

        @event("Opened")
        def __init__(self, actor: str, payload: dict[str, Any]) -> None:
            self.state, self.owner, self.tier, self.payload = "opened", actor, 0, payload

        def _move(self, allowed: tuple[str, ...], to: str, owner: str) -> None:
            if self.state not in allowed:
                raise ValueError(f"{self.state} -> {to}")
            self.state, self.owner = to, owner

        @event("Acknowledged")
        def acknowledge(self, actor: str, payload: dict[str, Any]) -> None:
            self._move(("opened", "escalated-tier-1"), "escalated-tier-1" if self.tier
                       else "acknowledged", actor)

        @event("Escalated")
        def escalate(self, actor: str, payload: dict[str, Any]) -> None:
            self.tier += 1
            self._move(("acknowledged",), f"escalated-tier-{self.tier}", self.owner)

        @event("HandedOff")
        def hand_off(self, actor: str, payload: dict[str, Any]) -> None:
            self.back = self.state
            self._move(("acknowledged", "escalated-tier-1"), "handed-off", self.owner)

        @event("HandoffAccepted")
        def accept_handoff(self, actor: str, payload: dict[str, Any]) -> None:
            self._move(("handed-off",), self.back, actor)

        @event("Resolved")
        def resolve(self, actor: str, payload: dict[str, Any]) -> None:
            self._move(("acknowledged", "escalated-tier-1"), "resolved", self.owner)

        @event("Debriefed")
        def debrief(self, actor: str, payload: dict[str, Any]) -> None:
            self._move(("resolved",), "debriefed", self.owner)


def run_eventsourcing(path: Path) -> Runner:
    app: Any = Application(env={"PERSISTENCE_MODULE": "eventsourcing.sqlite",
                                "SQLITE_DBNAME": str(path)})
    with app.recorder.datastore.transaction(commit=False) as c:
        c.execute("PRAGMA synchronous")
        if c.fetchone()[0] != 2:  # this SQLite's default is FULL; another's may not be
            print("eventsourcing: its connections are not synchronous=FULL")

    def work(first: int, end: int) -> None:
        for i in range(first, end):
            case = Case(actor="alice", payload=opened(i))
            app.save(case)
            for who, action, body in LIFECYCLE:
                case = app.repository.get(case.id)
                getattr(case, action.replace("-", "_"))(actor=who, payload=body)
                app.save(case)
    return work, app.close


# (c) SQLAlchemy Core and (d) sqlite3: UPDATE + INSERT -------------------------------

SCHEMA = [
    "CREATE TABLE escalations (id TEXT PRIMARY KEY, version INTEGER NOT NULL, "
    "state TEXT NOT NULL, owner TEXT NOT NULL, at TEXT NOT NULL)",
    "CREATE TABLE events (seq INTEGER PRIMARY KEY, escalation_id TEXT NOT NULL, "
    "version INTEGER NOT NULL, action TEXT NOT NULL, actor TEXT NOT NULL, at TEXT NOT NULL, "
    "payload TEXT NOT NULL, UNIQUE (escalation_id, version))"]
meta = sa.MetaData()
core_state = sa.Table("escalations", meta, sa.Column("id", sa.Text, primary_key=True),
                      sa.Column("version", sa.Integer),
                      *(sa.Column(c, sa.Text) for c in ("state", "owner", "at")))
core_events = sa.Table("events", meta, sa.Column("seq", sa.Integer, primary_key=True),
                       sa.Column("escalation_id", sa.Text), sa.Column("version", sa.Integer),
                       *(sa.Column(c, sa.Text) for c in ("action", "actor", "at", "payload")))


def connect(path: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=FULL")
    return conn


def steps(i: int) -> list[tuple[str, str, dict[str, Any]]]:
    return [("alice", "open", opened(i)), *LIFECYCLE]


def run_core(path: Path) -> Runner:
    with connect(path) as conn:
        for statement in SCHEMA:
            conn.execute(statement)
    engine = sa.create_engine(f"sqlite:///{path}")
    sa.event.listen(engine, "connect", lambda dbapi, _: dbapi.execute("PRAGMA synchronous=FULL"))

    def work(first: int, end: int) -> None:
        for i in range(first, end):
            eid = f"esc-{i}"
            for v, (who, action, body) in enumerate(steps(i), start=1):
                row = {"version": v, "state": STATES[v - 1], "owner": OWNERS[v - 1], "at": now()}
                with engine.begin() as conn:
                    if v == 1:
                        conn.execute(sa.insert(core_state).values(id=eid, **row))
                    else:
                        done = conn.execute(sa.update(core_state).where(
                            core_state.c.id == eid, core_state.c.version == v - 1).values(row))
                        assert done.rowcount == 1
                    conn.execute(sa.insert(core_events).values(
                        escalation_id=eid, version=v, action=action, actor=who, at=row["at"],
                        payload=json.dumps(body)))
    return work, engine.dispose


def run_sqlite3(path: Path) -> Runner:
    conn = connect(path)
    for statement in SCHEMA:
        conn.execute(statement)

    def work(first: int, end: int) -> None:
        for i in range(first, end):
            eid = f"esc-{i}"
            for v, (who, action, body) in enumerate(steps(i), start=1):
                at = now()
                conn.execute("BEGIN IMMEDIATE")
                if v == 1:
                    conn.execute("INSERT INTO escalations VALUES (?, 1, ?, ?, ?)",
                                 (eid, STATES[0], who, at))
                else:
                    done = conn.execute(
                        "UPDATE escalations SET version = ?, state = ?, owner = ?, at = ? "
                        "WHERE id = ? AND version = ?",
                        (v, STATES[v - 1], OWNERS[v - 1], at, eid, v - 1))
                    assert done.rowcount == 1
                conn.execute("INSERT INTO events (escalation_id, version, action, actor, at, "
                             "payload) VALUES (?, ?, ?, ?, ?, ?)",
                             (eid, v, action, who, at, json.dumps(body)))
                conn.execute("COMMIT")
    return work, conn.close


# Measuring ---------------------------------------------------------------------------

RUNNERS: dict[str, Callable[[Path], Runner]] = {
    "baton": run_baton, "eventsourcing": run_eventsourcing, "core": run_core,
    "sqlite3": run_sqlite3}


def on_disk(path: Path) -> int:
    """Bytes of the database file and its WAL after a checkpoint (every writer closed)."""
    with sqlite3.connect(path) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    wal = Path(f"{path}-wal")
    return path.stat().st_size + (wal.stat().st_size if wal.exists() else 0)


def one_round(makers: dict[str, Callable[[Path], Runner]], tmp: Path, n: int
              ) -> dict[str, dict[str, Any]]:
    """One round: a fresh file each, then slices of SLICE escalations taken in turn by each
    system (the machine is shared: its disk and CPU change from second to second, so
    each system's time is made of the same seconds as far as can be)."""
    names = list(makers)
    paths = {k: tmp / f"{k}.db" for k in names}
    runners = {k: makers[k](paths[k]) for k in names}
    # Before the workload: the schema (and Baton's policy and actors).
    before = {k: on_disk(paths[k]) for k in names}
    wall, cpu = dict.fromkeys(names, 0.0), dict.fromkeys(names, 0.0)
    for first in range(0, n, SLICE):
        for k in names:
            c0, t0 = time.process_time(), time.perf_counter()
            runners[k][0](first, min(n, first + SLICE))
            wall[k] += time.perf_counter() - t0
            cpu[k] += time.process_time() - c0
    events = n * STEPS
    out = {}
    for k in names:
        runners[k][1]()
        size = on_disk(paths[k])
        out[k] = {"per_s": events / wall[k], "cpu_ms": 1000 * cpu[k] / events, "bytes": size,
                  "bytes_per_event": size / events,
                  "added_per_event": (size - before[k]) / events}
    return out


def where_bytes_go(path: Path, events: int) -> list[dict[str, Any]]:
    """Bytes per table and index (dbstat), largest first."""
    with sqlite3.connect(path) as conn:
        owner = dict(conn.execute("SELECT name, tbl_name FROM sqlite_master"))
        rows = conn.execute(
            "SELECT name, count(*), sum(pgsize), sum(payload), "
            "sum(CASE WHEN pagetype = 'leaf' THEN ncell ELSE 0 END) "
            "FROM dbstat GROUP BY name ORDER BY sum(pgsize) DESC").fetchall()
    conn.close()
    return [{"name": name, "of": owner.get(name, name), "pages": pages, "bytes": size,
             "payload": payload, "rows": cells, "bytes_per_event": round(size / events, 1)}
            for name, pages, size, payload, cells in rows]


def analyzer(path: Path) -> str | None:
    """The page counts of sqlite3_analyzer where dbstat is missing, or None."""
    tool = shutil.which("sqlite3_analyzer")
    if tool is None:
        return None
    out = subprocess.run([tool, str(path)], capture_output=True, text=True).stdout
    start = out.find("*** Page counts for all tables and indices")
    return out[start:out.find("***", start + 4)] if start >= 0 else out[:2000]


def dbstat_available() -> bool:
    try:
        sqlite3.connect(":memory:").execute("SELECT count(*) FROM dbstat").fetchall()
        return True
    except sqlite3.OperationalError:
        return False


def measure(n: int, rounds: int) -> dict[str, Any]:
    """The rounds; then where the bytes of Baton's last file go."""
    makers = {k: RUNNERS[k] for k in RUNNERS if k != "eventsourcing" or Application is not None}
    makers["baton-sql"] = lean_floor.runner(lean_floor.record(run_baton, n))
    names = list(makers)
    runs: dict[str, list[dict[str, Any]]] = {k: [] for k in names}
    tables: list[dict[str, Any]] | str | None = None
    for r in range(rounds):
        with tempfile.TemporaryDirectory() as tmp:
            for k, figures in one_round(makers, Path(tmp), n).items():
                runs[k].append(figures)
            print(f"  round {r + 1}/{rounds}: " + ", ".join(
                f"{k} {runs[k][-1]['per_s']:.0f}/s ({runs[k][-1]['cpu_ms']:.3f} ms CPU)"
                for k in names), flush=True)
            if r == rounds - 1:
                baton = Path(tmp) / "baton.db"
                tables = (where_bytes_go(baton, n * STEPS) if dbstat_available()
                          else analyzer(baton))
    return {"systems": {k: summarise(v) for k, v in runs.items()}, "baton_bytes": tables,
            "ratios_by_round": {k: [round(b["per_s"] / o["per_s"], 3) for b, o in
                                    zip(runs["baton"], runs[k], strict=True)]
                                for k in names if k != "baton"}}


def summarise(runs: list[dict[str, Any]]) -> dict[str, Any]:
    def med(key: str) -> float:
        return round(statistics.median(r[key] for r in runs), 2)
    return {"per_s": med("per_s"), "per_s_rounds": [round(r["per_s"], 1) for r in runs],
            "cpu_ms_per_transition": med("cpu_ms"), "bytes_per_event": med("bytes_per_event"),
            "added_bytes_per_event": med("added_per_event"), "bytes": int(med("bytes"))}


def report(figures: dict[str, Any], n: int, rounds: int) -> None:
    systems = figures["systems"]
    baton = systems["baton"]
    print(f"\n{n} escalations x {STEPS} transitions, {rounds} rounds (medians):")
    for name, s in systems.items():
        print(f"{name:14} {s['per_s']:8.1f} transitions/s  {s['cpu_ms_per_transition']:6.3f} ms "
              f"CPU/transition  {s['bytes_per_event']:7.1f} bytes/event (the workload's own "
              f"{s['added_bytes_per_event']:.1f})")
    for name, s in systems.items():
        if name != "baton":
            rounds_ = figures["ratios_by_round"][name]
            print(f"baton/{name}: {baton['per_s'] / s['per_s']:.2f} by transitions/s (rounds "
                  f"{', '.join(f'{r:.2f}' for r in rounds_)}), "
                  f"{s['cpu_ms_per_transition'] / baton['cpu_ms_per_transition']:.2f} by CPU "
                  f"per transition; bytes per event "
                  f"{baton['bytes_per_event'] / s['bytes_per_event']:.1f}x")
    floor = systems.get("baton-sql")
    if floor is not None:
        whole, sql = baton["cpu_ms_per_transition"], floor["cpu_ms_per_transition"]
        print(f"of Baton's {whole:.3f} ms CPU a transition, the driver and SQLite on its "
              f"statements (baton-sql) take {sql:.3f} ms and the rest, {whole - sql:.3f} ms, is "
              f"Baton's Python (use case, authority, canonical bytes, hashes, unit of work, "
              f"SQLAlchemy) and its writer lock")
    if "eventsourcing" not in systems:
        print("eventsourcing: not installed (pip install -e '.[bench]'): not measured")
    tables = figures["baton_bytes"]
    if isinstance(tables, list):
        print_tables(tables)
    else:
        print("where Baton's bytes go: " + (tables or "dbstat is not compiled in and "
                                             "sqlite3_analyzer is not installed"))


def print_tables(objects: list[dict[str, Any]]) -> None:
    """Each table with its indexes, largest first; one-page objects summed at the end."""
    tables: dict[str, list[dict[str, Any]]] = {}
    for o in objects:
        tables.setdefault(o["of"], []).append(o)
    print("where Baton's bytes go (dbstat, last round; B/event over the workload's events):")
    small = []
    for name, parts in sorted(tables.items(), key=lambda t: -sum(o["bytes"] for o in t[1])):
        total = sum(o["bytes"] for o in parts)
        if total <= 4096 * len(parts):
            small.append(name)
            continue
        table = next(o for o in parts if o["name"] == name)
        print(f"  {name:20} {total:10d} B {sum(o['bytes_per_event'] for o in parts):7.1f} "
              f"B/event: {table['rows']} rows of {table['payload'] / max(table['rows'], 1):.0f} B "
              f"payload, {table['bytes']} B in the table")
        for o in parts:
            if o is not table:
                print(f"    {o['name']:34} {o['bytes']:10d} B {o['bytes_per_event']:7.1f} B/event")
    if small:
        print(f"  one page each (table and indexes): {', '.join(sorted(small))}")


def profile(n: int, commit: str) -> Path:
    """Baton's side once under pyinstrument; the HTML next to the figures."""
    from pyinstrument import Profiler  # a profiling tool, not a dependency of the bench

    with tempfile.TemporaryDirectory() as tmp:
        work, close = run_baton(Path(tmp) / "baton.db")
        with Profiler(interval=0.001) as profiler:  # coarse: the page stays under 2 MB
            work(0, n)
        close()
    RESULTS.mkdir(exist_ok=True)
    out = RESULTS / f"lean-profile-{commit or 'nocommit'}.html"
    out.write_text(profiler.output_html())
    print(f"profile of {n * STEPS} transitions written to {out}")
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--escalations", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--json", help="write the figures to bench/results/FILE (or to a path)")
    parser.add_argument("--profile", action="store_true",
                        help="also profile Baton's side once (pyinstrument)")
    args = parser.parse_args()
    info = {**machine(), "load_average": os.getloadavg(),
            "eventsourcing": _version("eventsourcing") if Application is not None else None,
            "sqlalchemy": sa.__version__}
    print("machine: " + ", ".join(f"{k}={v}" for k, v in info.items() if v is not None))
    figures = measure(args.escalations, args.rounds)
    info["load_average_after"] = os.getloadavg()
    report(figures, args.escalations, args.rounds)
    print(f"load average before {info['load_average'][0]:.2f}, "
          f"after {info['load_average_after'][0]:.2f}")
    if args.json:
        out = Path(args.json) if Path(args.json).parent != Path() else RESULTS / args.json
        out.parent.mkdir(exist_ok=True)
        out.write_text(json.dumps({"machine": info, "escalations": args.escalations,
                                   "rounds": args.rounds, "figures": figures}, indent=2) + "\n")
        print(f"figures written to {out}")
    if args.profile:
        profile(min(args.escalations, 100), info["commit"])


def _version(package: str) -> str | None:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(package)
    except PackageNotFoundError:
        return None


if __name__ == "__main__":
    main()
