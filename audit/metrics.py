"""Escalation metrics over a period, computed from the ledger's timelines."""

from __future__ import annotations

import statistics
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, select

from audit.records import history
from audit.schema import ledger
from audit.timeline import build
from workflow.model import rfc3339

GROUPS = ("team", "role", "category", "severity", "tier")
CLOCKS = ("acknowledge", "update", "resolve")


def percentile(values: list[float], p: float) -> float | None:
    """Linear interpolation between closest ranks (statistics 'inclusive'); None if empty."""
    if not values:
        return None
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[int(p) - 1]


def _spread(values: list[float]) -> dict[str, float | None]:
    return {"p50": percentile(values, 50), "p90": percentile(values, 90), "n": len(values)}


def facts(records: list[dict[str, Any]]) -> dict[str, Any]:
    """What the metrics need from one escalation's records."""
    t = build(records)
    opened = records[0]
    team = opened["payload"]["team"]
    top_tier = 0
    first_role = None
    changes = 0
    started = {"acknowledge": True, "resolve": True, "update": False}
    for rec in records:
        if rec["action"] == "escalate":
            team = rec["payload"]["team"]
            top_tier = max(top_tier, rec["payload"]["to_tier"])
        if rec["action"] == "acknowledge" and first_role is None:
            first_role = rec["role"]
        if rec["from_owner"] and rec["to_owner"] != rec["from_owner"]:
            changes += 1
        if "update" in (rec["payload"].get("deadlines") or {}):
            started["update"] = True
    return {
        "team": team, "role": first_role or "unacknowledged",
        "category": opened["payload"]["category"], "severity": opened["payload"]["severity"],
        "tier": top_tier, "timeline": t, "ownership_changes": changes, "started": started,
    }


def summarise(items: Iterable[dict[str, Any]], max_tier: int) -> dict[str, Any]:
    """The figures of one group."""
    items = list(items)
    n = len(items)
    durations = [i["timeline"]["durations"] for i in items]
    per_tier: dict[str, list[float]] = {}
    for d in durations:
        for tier, secs in d["time_per_tier"].items():
            per_tier.setdefault(tier, []).append(secs)
    breaches = [b for i in items for b in i["timeline"]["breaches"]]
    compliance = {}
    for clock in CLOCKS:
        applied = [i for i in items if i["started"][clock]]
        late = [i for i in applied if any(b["clock"] == clock for b in i["timeline"]["breaches"])]
        compliance[clock] = (1 - len(late) / len(applied)) if applied else None
    handoffs = [h for i in items for h in i["timeline"]["handoffs"]]
    accepted = [h["seconds_to_decision"] for h in handoffs if h["outcome"] == "accepted"]
    reopened = [i for i in items if i["timeline"]["milestones"]["reopened"]]
    return {
        "opened": n,
        "time_to_first_response": _spread(
            [d["time_to_first_response"] for d in durations
             if d["time_to_first_response"] is not None]),
        "time_to_containment": _spread(
            [d["time_to_containment"] for d in durations
             if d["time_to_containment"] is not None]),
        "time_to_resolution": _spread(
            [d["time_to_resolution"] for d in durations if d["time_to_resolution"] is not None]),
        "time_per_tier": {t: statistics.fmean(v) for t, v in sorted(per_tier.items())},
        "sla_compliance": compliance,
        "breaches": len(breaches),
        "breaches_by_clock": {c: sum(1 for b in breaches if b["clock"] == c) for c in CLOCKS},
        "ownership_changes_per_escalation":
            statistics.fmean(i["ownership_changes"] for i in items) if n else None,
        "handoffs": len(handoffs),
        "time_to_handoff_acceptance": _spread(accepted),
        "reopen_rate": len(reopened) / n if n else None,
        "escalation_rate_per_tier": {
            str(t): sum(1 for i in items if i["tier"] >= t) / n if n else None
            for t in range(1, max_tier + 1)},
    }


def report(conn: Connection, since: datetime | None, until: datetime | None,
           group_by: str | None, max_tier: int) -> dict[str, Any]:
    """Metrics of the escalations opened in [since, until), overall or per group."""
    query = select(ledger.c.escalation_id).where(ledger.c.action == "open")
    if since is not None:
        query = query.where(ledger.c.at >= rfc3339(since))
    if until is not None:
        query = query.where(ledger.c.at < rfc3339(until))
    ids = conn.execute(query.order_by(ledger.c.seq)).scalars().all()
    items = [facts(history(conn, i)) for i in ids]
    groups: dict[str, list[dict[str, Any]]] = {}
    for item in items:
        key = str(item[group_by]) if group_by else "all"
        groups.setdefault(key, []).append(item)
    return {
        "since": rfc3339(since) if since else None,
        "until": rfc3339(until) if until else None,
        "group_by": group_by,
        "units": {name: "seconds" for name in TIMED},
        "groups": [{"key": k, **summarise(v, max_tier)} for k, v in sorted(groups.items())],
    }


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
