"""Whether a ledger is a simulation (its first policy said so at `baton init
--simulation`), and where its time stands: a simulation's sweeps run at a time they are
given, which never goes back before the latest event."""

from __future__ import annotations

import json

from sqlalchemy import Connection, func, select

from audit.store.schema import ledger


def is_simulation(conn: Connection) -> bool:
    """True when the ledger's first policy declared it a simulation."""
    body = conn.execute(select(ledger.c.body).where(ledger.c.action == "policy-applied")
                        .order_by(ledger.c.seq).limit(1)).scalar()
    return body is not None and bool(json.loads(body)["payload"].get("simulation"))


def latest_event_at(conn: Connection) -> str | None:
    """The time of the latest event (RFC 3339), or None for an empty ledger."""
    seq = conn.execute(select(func.max(ledger.c.seq))).scalar()
    if seq is None:
        return None
    return conn.execute(select(ledger.c.at).where(ledger.c.seq == seq)).scalar()
