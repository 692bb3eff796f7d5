"""Whether a ledger is a simulation (its first policy said so at `baton init
--simulation`), and where its time stands: a simulation's sweeps run at a time they are
given, which never goes back before the latest event, and everything else (reads,
countdowns, `breached=` filters, feedback-link expiry, metrics, writes) runs at the latest
time it was advanced to, or at the wall clock once that has passed it."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from sqlalchemy import Connection, Engine, func, inspect, select

from audit.store import db, fast_path, policy_refs
from audit.store.schema import ledger, simulation_clock
from audit.store.uow import SqlUnitOfWork
from workflow.timestamps import parse_rfc3339, rfc3339

_UPDATE_SQL = "UPDATE simulation_clock SET advanced_to = :at WHERE id = 1"
_INSERT_SQL = "INSERT INTO simulation_clock (id, advanced_to) VALUES (1, :at)"


def declared(conn: Connection) -> bool | None:
    """True for a simulation, False for a real ledger, None before `baton init`."""
    if not inspect(conn).has_table("ledger"):
        return None
    body = conn.execute(select(ledger.c.body).where(ledger.c.action == "policy-applied")
                        .order_by(ledger.c.seq).limit(1)).scalar()
    if body is None:
        return None
    return bool(policy_refs.record(conn, body)["payload"].get("simulation"))


def is_simulation(conn: Connection) -> bool:
    """True when the ledger's first policy declared it a simulation."""
    return bool(declared(conn))


def latest_event_at(conn: Connection) -> str | None:
    """The time of the latest event (RFC 3339), or None for an empty ledger."""
    seq = conn.execute(select(func.max(ledger.c.seq))).scalar()
    if seq is None:
        return None
    return conn.execute(select(ledger.c.at).where(ledger.c.seq == seq)).scalar()


def advance(*, uow: Callable[[], SqlUnitOfWork], to: datetime) -> None:
    """The simulation's time moves to `to` (the caller checked it goes forward)."""
    with uow() as work:
        found = work.conn.execute(select(simulation_clock.c.advanced_to).where(
            simulation_clock.c.id == 1)).scalar()
        if found is None or parse_rfc3339(found) < to:
            fast_path.write(work.conn, _INSERT_SQL if found is None else _UPDATE_SQL,
                            {"at": rfc3339(to)})
        work.commit()


def advanced_to(engine: Engine) -> datetime | None:
    """The latest time the simulation was advanced to, or None (never)."""
    with db.single_read(engine) as conn:
        found = conn.execute(select(simulation_clock.c.advanced_to).where(
            simulation_clock.c.id == 1)).scalar()
    return parse_rfc3339(found) if found else None
