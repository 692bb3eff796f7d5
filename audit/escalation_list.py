"""The escalation list: filters, the breached flag and a cursor that survives writes."""

from __future__ import annotations

import base64
import binascii
import json
from datetime import datetime
from typing import Any, NamedTuple

from sqlalchemy import Connection, and_, or_, select

from audit.projection import from_snapshot
from audit.schema import escalations
from workflow.errors import PayloadInvalid
from workflow.model import Escalation, rfc3339


class Page(NamedTuple):
    """Escalations in list order, and the cursor of the next page (None on the last)."""

    escalations: list[Escalation]
    next_cursor: str | None


def _encode(pk: int) -> str:
    return base64.urlsafe_b64encode(str(pk).encode()).decode()


def _decode(cursor: str) -> int:
    try:
        return int(base64.urlsafe_b64decode(cursor.encode()).decode())
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise PayloadInvalid({"cursor": "not a cursor from this API"}) from None


def page(conn: Connection, *, now: datetime, limit: int, cursor: str | None = None,
         state: str | None = None, tier: int | None = None, owner: str | None = None,
         team: str | None = None, category: str | None = None,
         severity: str | None = None, customer: str | None = None,
         breached: bool | None = None) -> Page:
    """Up to `limit` escalations matching every filter given, oldest first, after
    `cursor`. The cursor is the last row's primary key, so escalations opened between
    two pages never shift or repeat the next one."""
    query = select(escalations.c.pk, escalations.c.snapshot).order_by(escalations.c.pk)
    equal: dict[str, Any] = {"state": state, "tier": tier, "owner": owner, "team": team,
                             "category": category, "severity": severity,
                             "customer_id": customer}
    for column, value in equal.items():
        if value is not None:
            query = query.where(escalations.c[column] == value)
    if breached is not None:
        # next_due is the earliest deadline not yet recorded as breached
        due = rfc3339(now)
        late = and_(escalations.c.next_due.is_not(None), escalations.c.next_due < due)
        query = query.where(late if breached else or_(escalations.c.next_due.is_(None),
                                                      escalations.c.next_due >= due))
    if cursor is not None:
        query = query.where(escalations.c.pk > _decode(cursor))
    rows = conn.execute(query.limit(limit + 1)).all()
    shown = rows[:limit]
    return Page([from_snapshot(json.loads(r.snapshot)) for r in shown],
                _encode(shown[-1].pk) if len(rows) > limit else None)
