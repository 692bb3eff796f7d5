"""Whether the database can take a write now, and whether the worker keeps up: what a
health check reports."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Engine, text
from sqlalchemy.exc import SQLAlchemyError

from audit.errors import DatabaseFailed, ReadOnly, SchemaMissing, StorageFull
from audit.store import db, heartbeats, timers
from workflow.model import rfc3339


def database_answers(engine: Engine) -> bool:
    """True when a connection can be had and a trivial statement runs."""
    return write_readiness(engine) != "unreachable"


def write_readiness(engine: Engine) -> str:
    """Whether a write transaction could succeed now: "ok", "unreachable",
    "not-initialised", "read-only" or "storage-full". Probes without taking the writer
    lock (a health check must not queue behind writes): the log head is read, and then
    SQLite's files must be writable by this process with space left on their disk, or
    PostgreSQL's session must not be read-only (a standby, or default read-only)."""
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT size FROM log_head WHERE id = 1"))
            return db.recorder_of(engine).readiness(conn)
    except SchemaMissing:
        return "not-initialised"
    except StorageFull:
        return "storage-full"
    except ReadOnly:
        return "read-only"
    except (SQLAlchemyError, DatabaseFailed):
        return "unreachable"


def worker_behind(engine: Engine, now: datetime, *, sweep_every: float,
                  deliver_every: float, receiver_pause: float = 0.0) -> list[str]:
    """What the worker has left undone for more than three of its intervals: "sweeps" (a
    deadline passed and its breach is not recorded) and "deliveries" (a message due and
    not taken). A message whose target failed an attempt within `receiver_pause` seconds
    waits on its receiver (the worker holds a failing host back), not on the worker: it
    is not counted. Empty when it keeps up (or nothing was due)."""
    late_sweep = rfc3339(now - timedelta(seconds=3 * sweep_every))
    late_delivery = now.timestamp() - 3 * deliver_every
    with db.single_read(engine) as conn:
        swept = conn.execute(text(
            "SELECT 1 FROM escalations WHERE next_due < :t LIMIT 1"), {"t": late_sweep}).first()
        delivered = conn.execute(text(
            "SELECT 1 FROM outbox o WHERE o.status = 'pending' AND o.next_at < :t AND "
            "(o.claimed_until IS NULL OR o.claimed_until < :now) AND NOT EXISTS ("
            "SELECT 1 FROM deliveries d WHERE d.target = o.target AND d.outcome = 'failed' "
            "AND d.at > :failing) LIMIT 1"),
            {"t": late_delivery, "now": now.timestamp(),
             "failing": now.timestamp() - receiver_pause}).first()
    return [name for name, late in (("sweeps", swept), ("deliveries", delivered)) if late]


# A worker beats every 2 s; three missed beats and it is taken for dead.
ALIVE_WITHIN = 6.0


def workers(engine: Engine, now: datetime, *, max_lag: float) -> tuple[dict[str, Any],
                                                                           list[str]]:
    """({workers_alive, deadline_lag_seconds}, what is wrong): no worker alive while one
    ran before or a deadline waits, or the oldest deadline not yet recorded more than
    `max_lag` seconds past."""
    alive = heartbeats.alive(engine, now.timestamp(), ALIVE_WITHIN)
    due = timers.earliest_due(engine)
    lag = max(0.0, (now - due).total_seconds()) if due is not None else 0.0
    body: dict[str, Any] = {"workers_alive": len(alive),
                            "deadline_lag_seconds": round(lag, 1)}
    wrong = []
    if not alive:
        with db.single_read(engine) as conn:
            ever = bool(heartbeats.beats(conn))
        if ever or lag > 0:
            wrong.append("no worker alive")
    if lag > max_lag:
        wrong.append(f"a deadline passed {lag:.0f} s ago and is not recorded")
    return body, wrong
