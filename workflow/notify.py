"""Telling people: who is told of which event, what a notification may say, and when a
failed delivery is tried again. Decisions only; the outbox (audit/store/outbox.py) stores
them in the event's transaction and the worker (api/worker.py) delivers them."""

from __future__ import annotations

import random
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from workflow.catalogue import CATALOGUE, ITEM_OWNER, TEAM, UNOWNED_TEAM, WATCHERS
from workflow.model import SYSTEM, Escalation, Event, rfc3339
from workflow.ports import UnitOfWork

# The Standard Webhooks retry schedule: the delay before each attempt (the first at once).
DEFAULT_SCHEDULE = (0.0, 5.0, 300.0, 1800.0, 7200.0, 18000.0, 36000.0, 50400.0, 72000.0,
                    86400.0)
JITTER = 0.1  # up to 10 % later, so that retries of many messages do not arrive together
# Responses whose Retry-After says when to come back (the others follow the schedule).
RETRY_AFTER_STATUSES = frozenset({429, 502, 503, 504})
GONE = 410  # the receiver says the endpoint is gone for good: the subscription is disabled
MAX_RETRY_AFTER = 86400.0
EVERYTHING = "*"  # every escalation notification (not the ledger's other events)
# Every ledger event, as a CloudEvent (audit/log/cloud_events.py), in seq order: the SIEM's
# subscription (docs/auditing.md); delivered through the outbox like the others.
LEDGER = "ledger.*"
# The outbox's ordering key of those messages (messages to one target with one key are
# delivered one at a time, in order; no escalation id has this form).
LEDGER_LANE = "~ledger"
PREFIX = "escalation."
NOTIFIED = "notified"  # the action of the events saying who was told


def event_type(action: str) -> str:
    """The notification type of a ledger action: `escalation.` + action, - written _."""
    return PREFIX + action.replace("-", "_")


def matches(subscribed: Sequence[str], kind: str) -> bool:
    """Whether a subscription to `subscribed` types receives `kind`."""
    return EVERYTHING in subscribed or kind in subscribed


@dataclass(frozen=True)
class Recipients:
    """Who is to be told of one event: actors by handle, and a whole team's members."""

    handles: tuple[str, ...] = ()
    team: str | None = None
    actor: str | None = None  # who acted is never told of their own action

    def __bool__(self) -> bool:
        return bool(self.handles or self.team)


def _audience(esc: Escalation, event: Event, who: str) -> list[str | None]:
    """The handles one audience of the catalogue names on the escalation after the event."""
    if who == WATCHERS:
        return list(esc.watchers)
    if who == ITEM_OWNER:  # an overdue debrief action item: its owner
        item = esc.action_items.get(str(event.payload.get("item")))
        return [item["owner"]] if item is not None else []
    if who in (TEAM, UNOWNED_TEAM):
        return []
    return [getattr(esc, who)]


def recipients(esc: Escalation, event: Event) -> Recipients:
    """The domain's rule: whom the action's catalogue entry tells (a breach: owner, acting
    owner, governor and watchers; a hand-off: the proposed owner; a declined hand-off: the
    governor; an arrival: the team's members), and the watchers whenever the state
    changes. `esc` is the escalation after the event."""
    spec = CATALOGUE.get(event.action)
    tells = spec.tells if spec is not None else ()
    wanted = [h for who in tells for h in _audience(esc, event, who)]
    if event.from_state != event.to_state:
        wanted += esc.watchers
    handles = tuple(h for h in dict.fromkeys(wanted) if h and h != event.actor)
    # UNOWNED_TEAM: the team while nobody owns it (a warning before the acknowledgment).
    team = TEAM in tells or (UNOWNED_TEAM in tells and not esc.owner and not esc.acting_owner)
    return Recipients(handles, esc.team if team else None, event.actor)


def facts(esc: Escalation, event: Event, seq: int) -> dict[str, Any]:
    """What a notification of the event says: ids and facts, never erasable text (no
    title, names, notes, reasons or any other payload text)."""
    data: dict[str, Any] = {
        "escalation_id": esc.id, "seq": seq, "action": event.action, "actor": event.actor,
        "role": event.role, "rule": event.rule, "state": event.to_state,
        "from_state": event.from_state, "tier": event.tier, "team": esc.team,
        "owner": esc.owner, "acting_owner": esc.acting_owner, "governor": esc.governor,
        "severity": esc.severity, "category": esc.category,
        "deadlines": dict(esc.deadlines), "at": rfc3339(event.at),
    }
    spec = CATALOGUE.get(event.action)
    for fact, key in (spec.facts.items() if spec is not None else ()):
        data[fact] = event.payload.get(key)
    return data


# --- retries -------------------------------------------------------------------------

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?\s*$")
_UNIT = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}


def parse_schedule(text: str) -> tuple[float, ...]:
    """A retry schedule from comma-separated durations (`0s,5s,5m,2h`); seconds."""
    out = []
    for part in text.split(","):
        found = _DURATION.match(part)
        if found is None:
            raise ValueError(f"{part.strip()!r} is not a duration (e.g. 0s, 500ms, 5m, 2h)")
        out.append(float(found[1]) * _UNIT[found[2] or "s"])
    if not out:
        raise ValueError("a retry schedule needs at least one duration")
    return tuple(out)


@dataclass(frozen=True)
class Outcome:
    """How one attempt went: the HTTP status (None when no response came) and a
    Retry-After the receiver asked for, in seconds."""

    status: int | None
    error: str | None = None
    retry_after: float | None = None

    @property
    def delivered(self) -> bool:
        """Only 2xx is success."""
        return self.status is not None and 200 <= self.status < 300


@dataclass(frozen=True)
class Next:
    """What follows an attempt: done (delivered or given up), or another attempt after
    `delay` seconds; `disable` when the receiver said the endpoint is gone."""

    done: bool
    delay: float = 0.0
    disable: bool = False
    failed: bool = False


def after_attempt(outcome: Outcome, attempts: int, schedule: Sequence[float],
                  rng: random.Random | None = None) -> Next:
    """The decision after `attempts` attempts (this one included) ended in `outcome`."""
    if outcome.delivered:
        return Next(done=True)
    if outcome.status == GONE:
        return Next(done=True, disable=True, failed=True)
    if attempts >= len(schedule):
        return Next(done=True, failed=True)
    delay = schedule[attempts]
    if outcome.status in RETRY_AFTER_STATUSES and outcome.retry_after is not None:
        delay = min(max(outcome.retry_after, 0.0), MAX_RETRY_AFTER)
    else:
        delay += delay * JITTER * (rng or random).random()
    return Next(done=False, delay=delay)


def record_notice(*, uow: UnitOfWork, escalation: Escalation, about: Event,
                  payload: dict[str, Any], rule: str) -> int:
    """Record a `notified` event saying who was told of `about` (the one builder of
    them: the use cases and the SLA sweep both call it); returns its seq."""
    esc = escalation
    notice = Event(
        escalation_id=esc.id, version=esc.version, action=NOTIFIED, actor=SYSTEM.handle,
        role="system", at=about.at, from_state=esc.state, to_state=esc.state,
        from_owner=esc.owner, to_owner=esc.owner, tier=esc.tier, payload=payload,
        policy_version=about.policy_version, rule=rule,
    )
    esc.apply(notice)
    return int(uow.record(esc, notice))


def announce(*, uow: UnitOfWork, escalation: Escalation, event: Event,
             seq: int) -> int | None:
    """Record a `notified` event naming who was mailed of an event that asks someone to
    act (handles by channel, never addresses), when anyone was; returns its seq, or None
    when nothing is recorded. Mail only, because only mail needs it: which subscriptions
    received an event follows from the ledger (subscribing, removing and disabling are
    records of it), but an actor's address is not on it. Call it right after recording
    `event`: the outbox says whom that event's messages went to, without reading again."""
    spec = CATALOGUE.get(event.action)
    if spec is None or not spec.asks_to_act:
        return None
    channels = uow.outbox.queued_for(event)
    if not channels.get("email"):
        return None
    found = recipients(escalation, event)
    payload: dict[str, Any] = {"about": event.action, "about_seq": seq,
                               "recipients": list(found.handles), "channels": channels}
    if found.team:
        payload["team"] = found.team
    return record_notice(uow=uow, escalation=escalation, about=event, payload=payload,
                         rule=f"notify.{event.action}")
