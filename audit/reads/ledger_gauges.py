"""The figures a metrics scrape shows: counts over the whole ledger, read in a few
aggregate queries (never one history per escalation, as the period metrics do)."""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass

from sqlalchemy import Connection, func, select, text

from audit.log.ledger import read_head
from audit.store.projection import parse_time
from audit.store.schema import escalations, ledger

# Upper bounds (seconds) of the time-to-acknowledge histogram's buckets.
ACKNOWLEDGE_BOUNDS = (60, 300, 600, 1800, 3600, 4 * 3600, 86400)

# Each escalation's opening time and its first acknowledgment's (unacknowledged ones
# drop out of the join).
_ACKNOWLEDGED_SQL = text(
    "SELECT o.at AS opened, MIN(a.at) AS acked FROM ledger o JOIN ledger a "
    "ON a.escalation_id = o.escalation_id AND a.action = 'acknowledge' "
    "WHERE o.action = 'open' GROUP BY o.escalation_id, o.at")


@dataclass(frozen=True)
class Histogram:
    """Cumulative counts per upper bound (the last one unbounded), and the sum."""

    buckets: list[tuple[float, int]]
    count: int
    total: float


@dataclass(frozen=True)
class Gauges:
    """Plain numbers, ready for any exposition format."""

    escalations: list[tuple[str, int, int]]  # state, tier, how many
    events: list[tuple[str, int]]  # action, how many
    breaches: list[tuple[str, int]]  # clock, how many, by clock name
    ledger_size: int
    checkpoint_size: int
    time_to_acknowledge: Histogram
    # The customer's side: confirmations by CSAT score, promises made and kept, and the
    # debriefs' action items open and done.
    csat: list[tuple[int, int]]
    promises: tuple[int, int]
    debrief_actions: tuple[int, int]


def histogram(values: list[float], bounds: tuple[float, ...]) -> Histogram:
    """Cumulative bucket counts of `values` at each bound, and their count and sum."""
    return Histogram([(float(b), sum(1 for v in values if v <= b)) for b in bounds],
                     len(values), sum(values))


def _acknowledge_waits(conn: Connection) -> list[float]:
    waits = []
    for row in conn.execute(_ACKNOWLEDGED_SQL):
        opened, acked = parse_time(row.opened), parse_time(row.acked)
        if opened and acked:
            waits.append((acked - opened).total_seconds())
    return waits


def read(conn: Connection) -> Gauges:
    """Escalations by state and tier, events by action, breaches by clock, the ledger
    and checkpoint sizes, and the time from opening to first acknowledgment."""
    by_state = conn.execute(select(escalations.c.state, escalations.c.tier, func.count())
                            .group_by(escalations.c.state, escalations.c.tier)).all()
    by_action = conn.execute(select(ledger.c.action, func.count())
                             .group_by(ledger.c.action)).all()
    head = read_head(conn, lock=False)
    clocks = Counter(clock_family(json.loads(body)["payload"]["clock"]) for body in
                     conn.execute(select(ledger.c.body).where(
                         ledger.c.action == "sla-breached")).scalars())
    side = {action: [json.loads(body)["payload"] for body in conn.execute(
        select(ledger.c.body).where(ledger.c.action == action)).scalars()]
        for action in ("confirm-resolution", "promise", "contact-customer", "debrief",
                       "complete-action")}
    scores = Counter(p["csat"] for p in side["confirm-resolution"] if p.get("csat"))
    kept = sum(len(p.get("kept") or []) for p in side["contact-customer"])
    items = sum(len(p.get("action_items") or []) for p in side["debrief"])
    waits = _acknowledge_waits(conn)
    return Gauges(
        escalations=[(state, tier, count) for state, tier, count in by_state],
        events=[(action, count) for action, count in by_action],
        breaches=sorted(clocks.items()),
        ledger_size=head.size,
        checkpoint_size=head.checkpoint_size,
        time_to_acknowledge=histogram(waits, ACKNOWLEDGE_BOUNDS),
        csat=sorted(scores.items()),
        promises=(len(side["promise"]), kept),
        debrief_actions=(items - len(side["complete-action"]), len(side["complete-action"])),
    )


def clock_family(clock: str) -> str:
    """A clock as a label: promises and action items share one each (their own clock
    names carry ids, which would make a label per promise)."""
    for family in ("promise", "item"):
        if clock.startswith(f"{family}-"):
            return family
    return clock
