"""The figures a metrics scrape shows: counts over the whole ledger, read in a few
aggregate queries (never one history per escalation, as the period metrics do)."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Select, and_, func, select

from audit.log.ledger import read_head
from audit.store import policy_refs
from audit.store.projection import parse_time
from audit.store.schema import escalations, ledger
from workflow.catalogue import labelled

# Upper bounds (seconds) of the time-to-acknowledge histogram's buckets.
ACKNOWLEDGE_BOUNDS = (60, 300, 600, 1800, 3600, 4 * 3600, 86400)

# Each escalation's opening time and its first acknowledgment's (unacknowledged ones
# drop out of the join); the actions are those the catalogue labels so.
def _acknowledged_query() -> Select[Any]:
    o, a = ledger.alias("o"), ledger.alias("a")
    return (select(o.c.at.label("opened"), func.min(a.c.at).label("acked"))
            .select_from(o.join(a, and_(a.c.escalation_id == o.c.escalation_id,
                                        _is(a.c.action, labelled("gauge", "acknowledged")))))
            .where(_is(o.c.action, labelled("gauge", "opened")))
            .group_by(o.c.escalation_id, o.c.at))


def _is(column: Any, actions: tuple[str, ...]) -> Any:
    """column = the one action, or IN the several."""
    return column == actions[0] if len(actions) == 1 else column.in_(actions)


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
    for row in conn.execute(_acknowledged_query()):
        opened, acked = parse_time(row.opened), parse_time(row.acked)
        if opened and acked:
            waits.append((acked - opened).total_seconds())
    return waits


def _payloads(conn: Connection, gauge: str) -> list[dict[str, Any]]:
    """The payloads of the events of the actions the catalogue gives this gauge label."""
    bodies = conn.execute(select(ledger.c.body).where(
        _is(ledger.c.action, labelled("gauge", gauge)))).scalars().all()
    return [rec["payload"] for rec in policy_refs.records(conn, list(bodies))]


def read(conn: Connection) -> Gauges:
    """Escalations by state and tier, events by action, breaches by clock, the ledger
    and checkpoint sizes, and the time from opening to first acknowledgment."""
    by_state = conn.execute(select(escalations.c.state, escalations.c.tier, func.count())
                            .group_by(escalations.c.state, escalations.c.tier)).all()
    by_action = conn.execute(select(ledger.c.action, func.count())
                             .group_by(ledger.c.action)).all()
    head = read_head(conn, lock=False)
    clocks = Counter(clock_family(p["clock"]) for p in _payloads(conn, "breaches"))
    side = {gauge: _payloads(conn, gauge) for gauge in
            ("confirmations", "promises", "contacts", "debriefs", "completions")}
    scores = Counter(p["csat"] for p in side["confirmations"] if p.get("csat"))
    kept = sum(len(p.get("kept") or []) for p in side["contacts"])
    items = sum(len(p.get("action_items") or []) for p in side["debriefs"])
    waits = _acknowledge_waits(conn)
    return Gauges(
        escalations=[(state, tier, count) for state, tier, count in by_state],
        events=[(action, count) for action, count in by_action],
        breaches=sorted(clocks.items()),
        ledger_size=head.size,
        checkpoint_size=head.checkpoint_size,
        time_to_acknowledge=histogram(waits, ACKNOWLEDGE_BOUNDS),
        csat=sorted(scores.items()),
        promises=(len(side["promises"]), kept),
        debrief_actions=(items - len(side["completions"]), len(side["completions"])),
    )


def clock_family(clock: str) -> str:
    """A clock as a label: promises and action items share one each (their own clock
    names carry ids, which would make a label per promise)."""
    for family in ("promise", "item"):
        if clock.startswith(f"{family}-"):
            return family
    return clock
