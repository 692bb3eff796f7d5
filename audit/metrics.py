"""Escalation metrics over a period, computed from the ledger's timelines: each
escalation's facts (its fold) kept as a read digest, so a report reads one row per
escalation instead of its history; only the figures that depend on the moment of asking
(overdue action items) are worked out at read time."""

from __future__ import annotations

import statistics
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Select, select

from audit import read_digests
from audit.debrief_pack import customer_side
from audit.records import history
from audit.schema import ledger
from audit.timeline import build
from workflow.model import parse_rfc3339, rfc3339

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


def facts(records: list[dict[str, Any]], now: datetime | None = None) -> dict[str, Any]:
    """What the metrics need from one escalation's records (`now`: what is overdue)."""
    t = build(records)
    side = customer_side(records, now or parse_rfc3339(records[-1]["at"]))
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
        "side": side, "resolved": any(r["action"] == "resolve" for r in records),
        "repeat": bool(opened["payload"].get("repeat_of")),
    }


def _customer_figures(items: list[dict[str, Any]]) -> dict[str, Any]:
    """CSAT, promises kept, follow-up compliance, repeats and debrief actions of a group."""
    n = len(items)
    resolved = [i for i in items if i["resolved"]]
    scores = [c["csat"] for i in items for c in i["side"]["confirmations"]
              if c["csat"] is not None]
    answered = [i for i in resolved if i["side"]["confirmations"]]
    promises = [p for i in items for p in i["side"]["promises"]]
    actions = [a for i in items for a in i["side"]["action_items"]]
    return {
        "csat": {"mean": statistics.fmean(scores) if scores else None,
                 "distribution": {str(s): scores.count(s) for s in range(1, 6)},
                 "responses": len(scores),
                 "response_rate": len(answered) / len(resolved) if resolved else None},
        "promises": len(promises),
        "promise_kept_rate":
            sum(1 for p in promises if p["kept"]) / len(promises) if promises else None,
        "follow_up_compliance": len(answered) / len(resolved) if resolved else None,
        "repeat_rate": sum(1 for i in items if i["repeat"]) / n if n else None,
        "debrief_actions": {"open": sum(1 for a in actions if a["completed_at"] is None),
                            "overdue": sum(1 for a in actions if a["overdue"]),
                            "done": sum(1 for a in actions if a["completed_at"])},
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
        **_customer_figures(items),
    }


# What summarise() reads of an item, kept as its digest (no personal text: no field of it
# is erasable); "overdue" is added at read time, from the due dates and `now`.
def _digest(records: list[dict[str, Any]]) -> dict[str, Any]:
    item = facts(records)
    t, side = item["timeline"], item["side"]
    return {
        **{k: item[k] for k in ("team", "role", "category", "severity", "tier",
                                "ownership_changes", "started", "resolved", "repeat")},
        "timeline": {"durations": t["durations"],
                     "breaches": [{"clock": b["clock"]} for b in t["breaches"]],
                     "handoffs": [{"outcome": h["outcome"],
                                   "seconds_to_decision": h["seconds_to_decision"]}
                                  for h in t["handoffs"]],
                     "milestones": {"reopened": t["milestones"]["reopened"]}},
        "side": {"confirmations": [{"csat": c["csat"]} for c in side["confirmations"]],
                 "promises": [{"kept": p["kept"]} for p in side["promises"]],
                 "action_items": [{"due": a.get("due"), "completed_at": a["completed_at"]}
                                  for a in side["action_items"]]},
        "last_at": records[-1]["at"],
    }


def _item(digest: dict[str, Any], now: datetime | None) -> dict[str, Any]:
    """A digest as summarise() reads an item: overdue action items as of `now` (else as
    of the escalation's last event, as facts() does)."""
    items = digest["side"]["action_items"]
    if items:
        moment = now or parse_rfc3339(digest["last_at"])
        for a in items:
            # debrief_pack.customer_side's rule: due, not completed, and past.
            a["overdue"] = bool(a["due"] and a["completed_at"] is None
                                and parse_rfc3339(a["due"]) < moment)
    return digest


def _opened(since: datetime | None, until: datetime | None) -> Select[Any]:
    """The escalations opened in [since, until), in the order they were opened."""
    query = select(ledger.c.escalation_id, ledger.c.seq.label("ord")).where(
        ledger.c.action == "open")
    if since is not None:
        query = query.where(ledger.c.at >= rfc3339(since))
    if until is not None:
        query = query.where(ledger.c.at < rfc3339(until))
    return query


def _grouped(items: list[dict[str, Any]], since: datetime | None, until: datetime | None,
             group_by: str | None, max_tier: int) -> dict[str, Any]:
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


def report(conn: Connection, since: datetime | None, until: datetime | None,
           group_by: str | None, max_tier: int, now: datetime | None = None
           ) -> dict[str, Any]:
    """Metrics of the escalations opened in [since, until), overall or per group, from
    their digests (folded now for those missing or stale, and kept)."""
    found = read_digests.digests(conn, "metrics", _opened(since, until), _digest)
    items = [_item(digest, now) for _, digest in found]
    return _grouped(items, since, until, group_by, max_tier)


def report_from_ledger(conn: Connection, since: datetime | None, until: datetime | None,
                       group_by: str | None, max_tier: int, now: datetime | None = None
                       ) -> dict[str, Any]:
    """The same report folded from every escalation's full history, with no digest: the
    reference report() must equal (tests, benchmarks); its cost grows with the ledger."""
    query = _opened(since, until).order_by("ord")
    items = [facts(history(conn, row.escalation_id), now) for row in conn.execute(query)]
    return _grouped(items, since, until, group_by, max_tier)


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
