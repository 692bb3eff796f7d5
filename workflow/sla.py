"""SLA clocks: deadlines from the policy in force when each clock starts (24x7)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from workflow.model import Escalation, rfc3339
from workflow.policy import Policy

# Which clocks each action (re)starts; resolve stops all, acknowledge stops "acknowledge".
STARTS: dict[str, tuple[str, ...]] = {
    "open": ("acknowledge", "resolve"),
    "escalate": ("acknowledge",),
    "acknowledge": ("update",),
    "accept-handoff": ("update",),
    "reassign": ("update",),
    "update": ("update",),
    "reopen": ("update", "resolve"),
}


def deadline(policy: Policy, severity: str, clock: str, start: datetime) -> datetime:
    """When `clock` started at `start` must be met, under `policy`."""
    return start + timedelta(seconds=policy.severities[severity].sla[clock])


def started(policy: Policy, severity: str, action: str, now: datetime) -> dict[str, str]:
    """The deadlines an action sets, as RFC 3339 strings for the event."""
    return {clock: rfc3339(deadline(policy, severity, clock, now))
            for clock in STARTS.get(action, ())}


def status(esc: Escalation, now: datetime) -> dict[str, Any]:
    """Each running deadline and whether it has passed at `now`."""
    out: dict[str, Any] = {"acknowledge_by": None, "next_update_by": None, "resolve_by": None,
                           "breached": []}
    names = {"acknowledge": "acknowledge_by", "update": "next_update_by",
             "resolve": "resolve_by"}
    for clock, key in names.items():
        due = esc.deadlines.get(clock)
        if due is None:
            continue
        out[key] = due
        if datetime.fromisoformat(due.replace("Z", "+00:00")) < now:
            out["breached"].append(clock)
    return out
