"""Escalation metrics over a period, computed from the ledger's timelines: each
escalation's facts (the fold of its records) are kept as its read digest, so a report
reads one row per escalation instead of its history; what depends on the moment of
asking (overdue debrief actions) is worked out at read time."""

from __future__ import annotations

import statistics
from collections.abc import Iterable
from datetime import datetime
from typing import Any, NamedTuple

from sqlalchemy import Connection

from audit.reads import read_digests
from audit.reads.debrief_pack import customer_side, is_overdue
from audit.reads.records import history
from audit.reads.timeline import build
from workflow.catalogue import CATALOGUE
from workflow.errors import PayloadInvalid
from workflow.model import parse_rfc3339, rfc3339

GROUPS = ("team", "role", "category", "severity", "tier")
CLOCKS = ("acknowledge", "update", "resolve")
# The kind of read digest Facts are kept as; a new shape of Facts takes a new number (the
# digests of the old shape are then never read again).
DIGEST = "metrics-1"


def percentile(values: list[float], p: float) -> float | None:
    """Linear interpolation between closest ranks (statistics 'inclusive'); None if empty."""
    if not values:
        return None
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[int(p) - 1]


def _spread(values: list[float]) -> dict[str, float | None]:
    return {"p50": percentile(values, 50), "p90": percentile(values, 90), "n": len(values)}


class Facts(NamedTuple):
    """What the metrics need from one escalation's records; kept as its read digest (a
    JSON array: no field of it is erasable text)."""

    team: str  # where it is now
    role: str  # of its first responder
    category: str
    severity: str
    tier: int  # the highest it reached
    ownership_changes: int
    started: list[bool]  # per clock of CLOCKS: whether it ran
    resolved: bool
    repeat: bool
    first_response: float | None  # seconds, as the timeline's durations
    containment: float | None
    resolution: float | None
    time_per_tier: dict[str, float]
    breaches: list[str]  # the clock of each breach
    handoffs: list[list[Any]]  # [outcome, seconds to the decision]
    reopened: bool
    csat: list[int | None]  # per confirmation by the customer
    kept: list[bool]  # per promise
    actions: list[list[str | None]]  # per debrief action item: [due, completed at]
    last_at: str  # its last event: what "now" is for its overdue actions by default


def facts(records: list[dict[str, Any]]) -> Facts:
    """What the metrics need from one escalation's records (its timeline and customer
    side)."""
    t = build(records)
    side = customer_side(records, parse_rfc3339(records[-1]["at"]))
    opened = records[0]
    team = opened["payload"]["team"]
    top_tier = 0
    first_role = None
    changes = 0
    started = {"acknowledge": True, "resolve": True, "update": False}
    resolved = False
    for rec in records:
        spec = CATALOGUE.get(rec["action"])
        metric = spec.metric if spec is not None else None
        if metric == "tier-reached":
            team = rec["payload"]["team"]
            top_tier = max(top_tier, rec["payload"]["to_tier"])
        if metric == "first-response" and first_role is None:
            first_role = rec["role"]
        resolved = resolved or metric == "resolved"
        if rec["from_owner"] and rec["to_owner"] != rec["from_owner"]:
            changes += 1
        if "update" in (rec["payload"].get("deadlines") or {}):
            started["update"] = True
    d = t["durations"]
    return Facts(
        team=team, role=first_role or "unacknowledged",
        category=opened["payload"]["category"], severity=opened["payload"]["severity"],
        tier=top_tier, ownership_changes=changes,
        started=[started[clock] for clock in CLOCKS],
        resolved=resolved,
        repeat=bool(opened["payload"].get("repeat_of")),
        first_response=d["time_to_first_response"], containment=d["time_to_containment"],
        resolution=d["time_to_resolution"], time_per_tier=d["time_per_tier"],
        breaches=[b["clock"] for b in t["breaches"]],
        handoffs=[[h["outcome"], h["seconds_to_decision"]] for h in t["handoffs"]],
        reopened=bool(t["milestones"]["reopened"]),
        csat=[c["csat"] for c in side["confirmations"]],
        kept=[p["kept"] for p in side["promises"]],
        actions=[[a.get("due"), a["completed_at"]] for a in side["action_items"]],
        last_at=records[-1]["at"])


def _overdue(item: Facts, now: datetime | None) -> int:
    """How many of its debrief actions are overdue at `now` (by default, at its last
    event), by debrief_pack.is_overdue."""
    if not item.actions:
        return 0
    moment = now or parse_rfc3339(item.last_at)
    return sum(1 for due, done in item.actions if is_overdue(due, done, moment))


def _customer_figures(items: list[Facts], now: datetime | None) -> dict[str, Any]:
    """CSAT, promises kept, follow-up compliance, repeats and debrief actions of a group."""
    n = len(items)
    resolved = [i for i in items if i.resolved]
    scores = [c for i in items for c in i.csat if c is not None]
    answered = [i for i in resolved if i.csat]
    promises = [k for i in items for k in i.kept]
    actions = [done for i in items for _, done in i.actions]
    return {
        "csat": {"mean": statistics.fmean(scores) if scores else None,
                 "distribution": {str(s): scores.count(s) for s in range(1, 6)},
                 "responses": len(scores),
                 "response_rate": len(answered) / len(resolved) if resolved else None},
        "promises": len(promises),
        "promise_kept_rate": sum(1 for k in promises if k) / len(promises) if promises else None,
        "follow_up_compliance": len(answered) / len(resolved) if resolved else None,
        "repeat_rate": sum(1 for i in items if i.repeat) / n if n else None,
        "debrief_actions": {"open": sum(1 for done in actions if done is None),
                            "overdue": sum(_overdue(i, now) for i in items),
                            "done": sum(1 for done in actions if done)},
    }


def summarise(items: Iterable[Facts], max_tier: int, now: datetime | None = None
              ) -> dict[str, Any]:
    """The figures of one group (`now`: what is overdue; by default each escalation's
    last event)."""
    items = list(items)
    n = len(items)
    per_tier: dict[str, list[float]] = {}
    for i in items:
        for tier, secs in i.time_per_tier.items():
            per_tier.setdefault(tier, []).append(secs)
    breaches = [clock for i in items for clock in i.breaches]
    compliance = {}
    for k, clock in enumerate(CLOCKS):
        applied = [i for i in items if i.started[k]]
        late = [i for i in applied if clock in i.breaches]
        compliance[clock] = (1 - len(late) / len(applied)) if applied else None
    handoffs = [h for i in items for h in i.handoffs]
    accepted = [secs for outcome, secs in handoffs if outcome == "accepted"]
    return {
        "opened": n,
        "time_to_first_response": _spread(
            [i.first_response for i in items if i.first_response is not None]),
        "time_to_containment": _spread(
            [i.containment for i in items if i.containment is not None]),
        "time_to_resolution": _spread(
            [i.resolution for i in items if i.resolution is not None]),
        "time_per_tier": {t: statistics.fmean(v) for t, v in sorted(per_tier.items())},
        "sla_compliance": compliance,
        "breaches": len(breaches),
        "breaches_by_clock": {c: breaches.count(c) for c in CLOCKS},
        "ownership_changes_per_escalation":
            statistics.fmean(i.ownership_changes for i in items) if n else None,
        "handoffs": len(handoffs),
        "time_to_handoff_acceptance": _spread(accepted),
        "reopen_rate": sum(1 for i in items if i.reopened) / n if n else None,
        "escalation_rate_per_tier": {
            str(t): sum(1 for i in items if i.tier >= t) / n if n else None
            for t in range(1, max_tier + 1)},
        **_customer_figures(items, now),
    }


def _grouped(items: list[Facts], since: datetime | None, until: datetime | None,
             group_by: str | None, max_tier: int, now: datetime | None) -> dict[str, Any]:
    groups: dict[str, list[Facts]] = {}
    for item in items:
        key = str(getattr(item, group_by)) if group_by else "all"
        groups.setdefault(key, []).append(item)
    return {
        "since": rfc3339(since) if since else None,
        "until": rfc3339(until) if until else None,
        "group_by": group_by,
        "units": {name: "seconds" for name in TIMED},
        "groups": [{"key": k, **summarise(v, max_tier, now)}
                   for k, v in sorted(groups.items())],
    }


def report(conn: Connection, since: datetime | None, until: datetime | None,
           group_by: str | None, max_tier: int, now: datetime | None = None, *,
           limit: int | None = None) -> dict[str, Any]:
    """Metrics of the escalations opened in [since, until), overall or per group, from
    their digests (folded now for those missing or stale, and kept). More than `limit`
    escalations in the period: PayloadInvalid, before any is read."""
    return reports(conn, since, until, (group_by,), max_tier, now, limit=limit)[0]


def reports(conn: Connection, since: datetime | None, until: datetime | None,
            group_bys: tuple[str | None, ...], max_tier: int, now: datetime | None = None,
            *, limit: int | None = None) -> list[dict[str, Any]]:
    """report() for each grouping in `group_bys`, from one read of the digests."""
    count = read_digests.count_opened(conn, since, until, limit)
    if limit is not None and count > limit:
        raise PayloadInvalid({"since": f"more than {limit} escalations were opened in "
                                       "the period: ask for a shorter one"})
    with read_digests.collector_paused():
        found = read_digests.opened_in(conn, DIGEST, since, until, facts, count)
        items = [Facts._make(digest) for _, digest in found]
        return [_grouped(items, since, until, group_by, max_tier, now)
                for group_by in group_bys]


def report_from_ledger(conn: Connection, since: datetime | None, until: datetime | None,
                       group_by: str | None, max_tier: int, now: datetime | None = None
                       ) -> dict[str, Any]:
    """The same report folded from every escalation's full history, with no digest: the
    reference report() must equal (tests, benchmarks); its cost grows with the ledger."""
    rows = conn.execute(read_digests.opened(since, until).order_by("ord")).all()
    items = [facts(history(conn, row.escalation_id)) for row in rows]
    return _grouped(items, since, until, group_by, max_tier, now)


# The figures that are durations (in seconds; their counts `n` are counts).
TIMED = ("time_to_first_response", "time_to_containment", "time_to_resolution",
         "time_to_handoff_acceptance", "time_per_tier")


def _walk(prefix: str, value: Any, row: dict[str, Any]) -> None:
    if isinstance(value, dict):
        for k, v in value.items():
            _walk(f"{prefix}.{k}" if prefix else k, v, row)
    else:
        timed = prefix.split(".", 1)[0] in TIMED and not prefix.endswith(".n")
        row[f"{prefix}_seconds" if timed else prefix] = value


def flat(report_: dict[str, Any]) -> list[dict[str, Any]]:
    """One flat row per group (for CSV and tables)."""
    rows = []
    for g in report_["groups"]:
        row: dict[str, Any] = {}
        _walk("", g, row)
        rows.append(row)
    return rows
