"""What the sweeper waits for: the earliest deadline not yet recorded (one read of the
escalations' next_due index)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Engine, func, select

from audit.store import db
from audit.store.schema import escalations
from workflow.timestamps import parse_rfc3339


def earliest_due(engine: Engine) -> datetime | None:
    """The earliest running deadline not yet recorded as breached, or None."""
    with db.single_read(engine) as conn:
        found = conn.execute(select(func.min(escalations.c.next_due))).scalar()
    return parse_rfc3339(found) if found else None
