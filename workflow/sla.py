"""SLA clocks: deadlines from the policy in force when each clock starts (24x7)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from workflow import sla_warnings
from workflow.catalogue import CATALOGUE
from workflow.model import Escalation, parse_rfc3339, rfc3339
from workflow.policy import Policy


def deadline(policy: Policy, severity: str, team: str, clock: str,
             start: datetime) -> datetime:
    """When `clock`, started at `start`, must be met: in the team's working time when
    the policy gives it a calendar, else round the clock."""
    seconds = policy.severities[severity].sla[clock]
    calendar = policy.teams[team].calendar if team in policy.teams else None
    if calendar is None:
        return start + timedelta(seconds=seconds)
    return calendar.add(start, seconds)


def started(policy: Policy, severity: str, team: str, action: str,
            now: datetime) -> dict[str, str]:
    """The deadlines an action sets, as RFC 3339 strings for the event."""
    targets = policy.severities[severity].sla
    # A clock the severity does not set (an optional one) does not run for it.
    return {clock: rfc3339(deadline(policy, severity, team, clock, now))
            for clock in CATALOGUE[action].starts if clock in targets}


def due(esc: Escalation, now: datetime) -> list[tuple[str, str]]:
    """(clock, deadline) of each running clock past its deadline and not yet recorded."""
    return [(clock, when) for clock, when in sorted(esc.deadlines.items())
            if parse_rfc3339(when) < now and esc.breached.get(clock) != when]


def outstanding(esc: Escalation) -> list[str]:
    """Clocks whose recorded breach still stands (the clock was not stopped or moved)."""
    return [clock for clock, when in esc.breached.items() if esc.deadlines.get(clock) == when]


def next_due(esc: Escalation) -> str | None:
    """The earliest deadline not yet recorded as breached, or warning not yet given: what
    the sweeper looks at."""
    pending = [when for clock, when in esc.deadlines.items() if esc.breached.get(clock) != when]
    warning = sla_warnings.next_moment(esc)
    if warning is not None:
        pending.append(warning)
    return min(pending) if pending else None


def earliest_due(esc: Escalation) -> str | None:
    """The earliest running deadline, recorded as breached or not: the escalation is
    breached while it is past (a clock is overdue, or a breach's blocker stands)."""
    return min(esc.deadlines.values()) if esc.deadlines else None


def status(esc: Escalation, now: datetime) -> dict[str, Any]:
    """Each running deadline and whether it has passed at `now`."""
    out: dict[str, Any] = {"acknowledge_by": None, "next_update_by": None, "resolve_by": None,
                           "handoff_answer_by": None, "breached": []}
    names = {"acknowledge": "acknowledge_by", "update": "next_update_by",
             "resolve": "resolve_by", "handoff": "handoff_answer_by"}
    for clock, key in names.items():
        due = esc.deadlines.get(clock)
        if due is None:
            continue
        out[key] = due
        if parse_rfc3339(due) < now:
            out["breached"].append(clock)
    out["follow_up_by"] = esc.deadlines.get("follow_up")
    out["at_risk"] = sla_warnings.at_risk(esc, now)
    out["promises"] = [{"id": pid, "kind": p["kind"], "due": p["due"],
                        "kept_at": p.get("kept_at"),
                        "breached": "kept_at" not in p and parse_rfc3339(p["due"]) < now}
                       for pid, p in esc.promises.items()]
    return out
