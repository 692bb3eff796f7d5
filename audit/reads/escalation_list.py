"""The escalation list: filters, the breached flag and a cursor that survives writes."""

from __future__ import annotations

import base64
import re
import struct
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, NamedTuple

from sqlalchemy import (
    ColumnElement,
    Connection,
    String,
    and_,
    literal,
    not_,
    or_,
    select,
)

from audit.store import search_index
from audit.store.projection import STATE_COLUMNS, from_row
from audit.store.schema import escalations
from workflow.errors import PayloadInvalid
from workflow.model import Escalation, parse_rfc3339, rfc3339
from workflow.policy import Policy
from workflow.states import HANDED_OFF
from workflow.states import states as states_of


class Page(NamedTuple):
    """Escalations in list order, and the cursor of the next page (None on the last)."""

    escalations: list[Escalation]
    next_cursor: str | None


SORTS = ("opened", "next_due")
# Escalations with no running clock sort after every deadline.
_NO_DEADLINE = "~"
# A cursor is 16 bytes, base64url without padding: the last row's earliest deadline (in
# microseconds since the epoch; the largest value stands for "no deadline") and its pk.
# Every string of this shape decodes to a position, so no well-formed cursor is refused.
CURSOR_PATTERN = r"^[A-Za-z0-9_-]{21}[AQgw]$"
_CURSOR = re.compile(CURSOR_PATTERN)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_NEVER = 2**63 - 1
_PK_MAX = 2**63 - 1


def _encode(pk: int, due: str | None = None) -> str:
    micros = 0
    if due == _NO_DEADLINE:
        micros = _NEVER
    elif due is not None:
        moment = parse_rfc3339(due)
        micros = (moment - _EPOCH) // timedelta(microseconds=1)
    packed = struct.pack(">qQ", micros, pk)
    return base64.urlsafe_b64encode(packed).decode().rstrip("=")


def _decode(cursor: str) -> tuple[str, int]:
    """The earliest deadline (as stored) and pk a cursor stands for."""
    if not _CURSOR.fullmatch(cursor):
        raise PayloadInvalid({"cursor": "not a cursor from this API"})
    micros, pk = struct.unpack(">qQ", base64.urlsafe_b64decode(cursor + "=="))
    if micros == _NEVER:
        return _NO_DEADLINE, pk
    try:
        return rfc3339(_EPOCH + timedelta(microseconds=micros)), pk
    except OverflowError:  # beyond year 1..9999: before or after every deadline
        return ("" if micros < 0 else _NO_DEADLINE), pk


def page(conn: Connection, *, now: datetime, limit: int, cursor: str | None = None,
         state: str | None = None, tier: int | None = None, owner: str | None = None,
         team: str | None = None, category: str | None = None,
         severity: str | None = None, customer: str | None = None,
         breached: bool | None = None, sort: str = "opened",
         states: Sequence[str] | None = None, q: str | None = None,
         proposed_owner: str | None = None, handoff: str | None = None) -> Page:
    """Up to `limit` escalations matching every filter given, after `cursor`: oldest
    first, or (sort="next_due") soonest running deadline first. The cursor is the last
    row's sort key, so escalations opened between two pages never shift or repeat the
    next one. `states` keeps only escalations in one of those states (the dashboard's
    open escalations); `q`, those whose customer id, title, description or customer name
    hold every word of it (audit.store.search_index); `handoff="pending"`, those waiting
    on a hand-off, and `proposed_owner`, those offered to that handle."""
    where: list[Any] = []
    equal: dict[str, Any] = {"state": state, "tier": tier, "owner": owner, "team": team,
                             "category": category, "severity": severity,
                             "customer_id": customer}
    for column, value in equal.items():
        if value is not None:
            where.append(escalations.c[column] == value)
    if states is not None:
        where.append(escalations.c.state.in_(list(states)))
    where.extend(_offered(conn, proposed_owner, handoff))
    if q is not None:
        where.append(search_index.matching(conn, q, walked=sort))
    if breached is not None:
        # Breached while its earliest running deadline is past: a clock is overdue now,
        # or a recorded breach's blocker has not cleared (the clock still runs).
        late = escalations.c.earliest_due < rfc3339(now)
        where.append(late if breached else or_(escalations.c.earliest_due.is_(None),
                                               not_(late)))
    after: tuple[str, int] | None = None
    if cursor is not None:
        after = _decode(cursor)
        if after[1] >= _PK_MAX:  # past every row (and past what the column holds)
            return Page([], None)
    rows = (_by_deadline(conn, where, after, limit + 1) if sort == "next_due"
            else _by_pk(conn, where, after, limit + 1))
    shown = rows[:limit]
    following = None
    if len(rows) > limit:
        last = shown[-1]
        following = _encode(last.pk, last.due if sort == "next_due" else None)
    return Page([from_row(r._mapping) for r in shown], following)


_STATE = [escalations.c[name] for name in STATE_COLUMNS]


def _by_pk(conn: Connection, where: list[Any], after: tuple[str, int] | None,
           n: int) -> list[Any]:
    """The first `n` rows in the order they were opened (after the cursor's pk)."""
    if after is not None:
        where = [*where, escalations.c.pk > after[1]]
    query = select(escalations.c.pk, *_STATE,
                   literal(None, String).label("due")).where(*where)
    return list(conn.execute(query.order_by(escalations.c.pk).limit(n)).all())


def _by_deadline(conn: Connection, where: list[Any], after: tuple[str, int] | None,
                 n: int) -> list[Any]:
    """The first `n` rows by earliest running deadline, then pk; those with no running
    clock last, by pk. Two walks, each along an index (ix_escalations_earliest_due,
    whose entries end with the pk, and the primary key) that stops after `n` rows, where
    one ordering by the deadline-or-"~" expression sorted every row that matched."""
    due, pk = after if after is not None else ("", -1)
    earliest = escalations.c.earliest_due
    rows: list[Any] = []
    if due != _NO_DEADLINE:
        dated = select(escalations.c.pk, *_STATE, earliest.label("due")).where(
            *where, earliest.is_not(None),
            or_(earliest > due, and_(earliest == due, escalations.c.pk > pk)))
        rows = list(conn.execute(dated.order_by(earliest, escalations.c.pk).limit(n)).all())
        pk = -1
    if len(rows) < n:
        undated = select(escalations.c.pk, *_STATE,
                         literal(_NO_DEADLINE, String).label("due")).where(
            *where, earliest.is_(None), escalations.c.pk > pk)
        rows += conn.execute(undated.order_by(escalations.c.pk).limit(n - len(rows))).all()
    return rows


def proposed_to(handle: str) -> ColumnElement[bool]:
    """Escalations waiting on a hand-off offered to `handle` (the state's index narrows
    them; the proposed owner is a column of the few rows left)."""
    return and_(escalations.c.state == HANDED_OFF, escalations.c.proposed_owner == handle)


def _offered(conn: Connection, proposed_owner: str | None,
             handoff: str | None) -> list[ColumnElement[bool]]:
    """Conditions for pending hand-offs (to anyone, or to `proposed_owner`), or none."""
    found: list[ColumnElement[bool]] = []
    if handoff == "pending":
        found.append(escalations.c.state == HANDED_OFF)
    if handoff == "none":
        found.append(escalations.c.state != HANDED_OFF)
    if proposed_owner is not None:
        found.append(proposed_to(proposed_owner))
    return found


def check_filters(policy: Policy, *, state: str | None = None, tier: int | None = None,
                  team: str | None = None, category: str | None = None,
                  severity: str | None = None, **_others: Any) -> None:
    """Refuse filter values no escalation can have under the policy, naming those it can
    (a filter that can match nothing is a mistake, not an empty page)."""
    allowed: dict[str, tuple[Any, Sequence[Any]]] = {
        "state": (state, states_of(policy.max_tier)),
        "tier": (tier, [t.level for t in policy.tiers]),
        "team": (team, list(policy.teams)),
        "category": (category, list(policy.categories)),
        "severity": (severity, list(policy.severities)),
    }
    errors = {key: f"unknown {key}; one of: {', '.join(str(v) for v in known)}"
              for key, (value, known) in allowed.items()
              if value is not None and value not in known}
    if errors:
        raise PayloadInvalid(errors)
