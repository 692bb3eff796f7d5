"""Deadlines as people read them on the dashboard: time left (or how late) in the team's
working time, and the colour band it falls in."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from workflow.model import Escalation, parse_rfc3339
from workflow.policy import Policy

BREACHED, UNDER_30_MIN, UNDER_1_H, LATER = "breached", "under-30-min", "under-1-h", "later"
# Beyond this much calendar time the band is "later" whatever the working hours say, so
# the working time is not summed day by day.
_HORIZON = timedelta(days=60)


@dataclass(frozen=True)
class Countdown:
    """A deadline: when, seconds left (negative: late) and its band and wording."""

    deadline: str
    seconds: float
    band: str
    text: str


def duration(seconds: float) -> str:
    """A short duration: 45s, 12m, 3h 05m, 2d 4h."""
    seconds = abs(int(seconds))
    if seconds < 60:
        return f"{seconds}s"
    minutes, _ = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes}m"
    hours, minutes = divmod(minutes, 60)
    if hours < 24:
        return f"{hours}h {minutes:02d}m"
    days, hours = divmod(hours, 24)
    return f"{days}d {hours}h"


def countdown(deadline: str, now: datetime, team: str, policy: Policy) -> Countdown:
    """Time to `deadline` from `now` on the team's calendar (round the clock without one).
    Late is decided as the API decides breached (the deadline is past); how late and how
    long are counted in working time."""
    due = parse_rfc3339(deadline)
    calendar = policy.teams[team].calendar if team in policy.teams else None
    start, end = (now, due) if due >= now else (due, now)
    if calendar is None or end - start > _HORIZON:
        span = (end - start).total_seconds()
    else:
        span = calendar.working_seconds(start, end)
    if due < now:
        return Countdown(deadline, -span, BREACHED, f"late by {duration(span)}")
    band = UNDER_30_MIN if span < 1800 else UNDER_1_H if span < 3600 else LATER
    return Countdown(deadline, span, band, f"in {duration(span)}")


# The SLA clocks by the names people use for them.
_CLOCK_NAMES = {"acknowledge": "acknowledge", "update": "update", "resolve": "resolve",
                "handoff": "hand-off answer", "follow_up": "follow-up"}


def clock_name(esc: Escalation, clock: str) -> str:
    """A running clock as people name it: "acknowledge", "update", "callback promise",
    "follow-up", "debrief action" (never an internal id such as promise-p2)."""
    if clock in _CLOCK_NAMES:
        return _CLOCK_NAMES[clock]
    if clock.startswith("promise-"):
        promise = esc.promises.get(clock.removeprefix("promise-"), {})
        return f"{promise.get('kind', 'customer')} promise"
    if clock.startswith("item-"):
        return "debrief action"
    return clock.replace("_", " ").replace("-", " ")


def next_clock(esc: Escalation) -> tuple[str, str] | None:
    """The running clock due first: (its name, its deadline), or None."""
    if not esc.deadlines:
        return None
    clock, due = min(esc.deadlines.items(), key=lambda kv: (kv[1], kv[0]))
    return clock_name(esc, clock), due


def late_clocks(esc: Escalation, now: datetime) -> list[str]:
    """The names of the running clocks past their deadline at `now` (promises, the
    follow-up and the hand-off answer as much as the SLA's own)."""
    return [clock_name(esc, clock) for clock, due in sorted(esc.deadlines.items(),
                                                            key=lambda kv: kv[1])
            if parse_rfc3339(due) < now]
