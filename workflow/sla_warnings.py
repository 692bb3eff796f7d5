"""Warnings before a clock runs out: their moments, set when the clock starts, and their
fold. An event that starts (or restarts) clocks carries, beside their `deadlines`, the
moments each warns at (`warnings`: {clock: {threshold: moment}}), computed under the
policy in force, in the team's working time where it has a calendar. The escalation keeps
the moments not yet warned of; an `sla-warning` event takes its one away. A clock
stopped, met, moved or breached drops its pending warnings, and a restarted clock warns
afresh, all by the fold, so state still equals replay."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from workflow.durations import parse_duration
from workflow.timestamps import parse_rfc3339, rfc3339
from workflow.warn_policy import fraction, thresholds

if TYPE_CHECKING:
    from workflow.escalation_state import EscalationState, Event
    from workflow.policy import Policy

WARNINGS = "warnings"  # the payload key and the escalation's field


def _moment(policy: Policy, severity: str, team: str, clock: str, threshold: str,
            start: datetime, deadline: datetime) -> datetime:
    """When `threshold` of a clock started at `start` falls (working time for a clock of
    the policy's whose team has a calendar; wall time otherwise)."""
    target = policy.severities[severity].sla.get(clock) if severity in policy.severities \
        else None
    calendar = policy.teams[team].calendar if team in policy.teams else None
    share = fraction(threshold)
    if target is not None and calendar is not None:
        worked = share * target if share is not None else target - parse_duration(threshold)
        return calendar.add(start, max(0, int(worked)))
    if share is not None:
        return start + (deadline - start) * share
    return deadline - timedelta(seconds=parse_duration(threshold))


def moments(policy: Policy, severity: str, team: str, deadlines: dict[str, str],
            now: datetime) -> dict[str, dict[str, str]]:
    """For each clock started now, the moments it warns at (strictly between now and its
    deadline: a threshold a short clock has already passed never fires)."""
    out: dict[str, dict[str, str]] = {}
    for clock, text in deadlines.items():
        deadline = parse_rfc3339(text)
        found = {}
        for threshold in thresholds(policy, severity, clock):
            at = _moment(policy, severity, team, clock, threshold, now, deadline)
            if now < at < deadline:
                found[threshold] = rfc3339(at)
        if found:
            out[clock] = found
    return out


def attach(policy: Policy, severity: str, team: str, data: dict[str, Any],
           now: datetime) -> None:
    """Put the warning moments of the clocks a payload starts into it (when any)."""
    found = moments(policy, severity, team, data.get("deadlines") or {}, now)
    if found:
        data[WARNINGS] = found


def follow(esc: EscalationState, event: Event) -> None:
    """The fold's part for warnings, after the event's deadlines are applied: clocks it
    (re)starts take their new moments; a clock no longer running at the deadline its
    moments were set for, or breached at it, keeps none."""
    started = event.payload.get("deadlines") or {}
    given = event.payload.get(WARNINGS) or {}
    for clock in started:
        esc.warnings.pop(clock, None)
        if clock in given:
            esc.warnings[clock] = {"deadline": started[clock], "at": dict(given[clock]),
                                   "given": []}
    for clock, pending in list(esc.warnings.items()):
        deadline = pending["deadline"]
        if esc.deadlines.get(clock) != deadline or esc.breached.get(clock) == deadline:
            del esc.warnings[clock]


def warned(esc: EscalationState, event: Event) -> None:
    """An `sla-warning` event: its threshold is warned of, once."""
    pending = esc.warnings.get(event.payload["clock"])
    if pending is not None and event.payload["threshold"] not in pending["given"]:
        pending["given"].append(event.payload["threshold"])


def _waiting(pending: dict[str, Any]) -> dict[str, str]:
    return {t: at for t, at in pending["at"].items() if t not in pending["given"]}


def next_moment(esc: EscalationState) -> str | None:
    """The earliest moment a running clock warns at, or None."""
    found = [at for pending in esc.warnings.values() for at in _waiting(pending).values()]
    return min(found) if found else None


def due(esc: EscalationState, now: datetime) -> list[tuple[str, str, str, str]]:
    """(clock, deadline, threshold, moment) of each warning due at `now`, earliest first;
    none for a clock whose deadline has passed too (its breach says more)."""
    out = []
    for clock, pending in sorted(esc.warnings.items()):
        if parse_rfc3339(pending["deadline"]) < now:
            continue
        for threshold, at in _waiting(pending).items():
            if parse_rfc3339(at) <= now:
                out.append((clock, pending["deadline"], threshold, at))
    return sorted(out, key=lambda found: (found[3], found[0], found[1]))


def at_risk(esc: EscalationState, now: datetime) -> list[str]:
    """The running clocks past a warning moment and not yet past their deadline."""
    return sorted(clock for clock, pending in esc.warnings.items()
                  if parse_rfc3339(pending["deadline"]) >= now
                  and any(parse_rfc3339(at) <= now for at in pending["at"].values()))
