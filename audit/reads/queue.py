"""The queue's headline: how many open escalations each team and each state holds, and
how many are breached (the rows themselves come from audit.reads.escalation_list.page)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, case, func, select

from audit.reads.escalation_list import proposed_to
from audit.store.schema import escalations
from workflow.model import rfc3339


@dataclass(frozen=True)
class Counts:
    """Open escalations per team and per state (largest first), the breached ones, all."""

    teams: list[tuple[str, int]]
    states: list[tuple[str, int]]
    breached: int
    total: int


def counts(conn: Connection, *, states: Sequence[str], now: datetime) -> Counts:
    """Counts over the escalations in `states`, in two grouped queries; breached as the
    escalation list's filter says (the earliest running deadline is past)."""
    live = escalations.c.state.in_(list(states))
    late = func.sum(case((escalations.c.earliest_due < rfc3339(now), 1), else_=0))
    by_team = conn.execute(
        select(escalations.c.team, escalations.c.state, func.count(), late)
        .where(live).group_by(escalations.c.team, escalations.c.state)).all()
    teams: dict[str, int] = {}
    per_state: dict[str, int] = {}
    breached = 0
    for team, state, count, overdue in by_team:
        teams[team] = teams.get(team, 0) + count
        per_state[state] = per_state.get(state, 0) + count
        breached += int(overdue or 0)
    order = {s: i for i, s in enumerate(states)}
    return Counts(
        teams=sorted(teams.items(), key=lambda kv: (-kv[1], kv[0])),
        states=sorted(per_state.items(), key=lambda kv: order.get(kv[0], len(order))),
        breached=breached, total=sum(teams.values()))


def offered_to(conn: Connection, handle: str) -> int:
    """How many hand-offs wait on `handle`'s answer (the queue's "Offered to me")."""
    return int(conn.execute(select(func.count()).select_from(escalations)
                            .where(proposed_to(handle))).scalar() or 0)
