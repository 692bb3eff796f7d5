"""The SLA sweep: record each breach once, with the temporary owner it brings and who
was told; release the temporary owner when the blocker clears."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from workflow import notify, sla, sla_warnings
from workflow.action_effects import item_of
from workflow.authority import cover
from workflow.model import SYSTEM, Escalation, Event, parse_rfc3339
from workflow.policy import Policy
from workflow.ports import UnitOfWork


def _system_event(esc: Escalation, action: str, payload: dict[str, Any], policy: Policy,
                  now: datetime, rule: str) -> Event:
    return Event(
        escalation_id=esc.id, version=esc.version, action=action, actor=SYSTEM.handle,
        role="system", at=now, from_state=esc.state, to_state=esc.state,
        from_owner=esc.owner, to_owner=esc.owner, tier=esc.tier, payload=payload,
        policy_version=policy.version, rule=rule,
    )


def release_acting_owner(*, uow: UnitOfWork, escalation: Escalation, policy: Policy,
                         now: datetime, cleared_by: str) -> int:
    """The blocker cleared: the temporary owner steps back, on the record."""
    event = _system_event(escalation, "acting-owner-released",
                          {"acting_owner": escalation.acting_owner, "cleared_by": cleared_by},
                          policy, now, "sla.cleared")
    escalation.apply(event)
    return uow.record(escalation, event)


def sweep_escalation(*, uow: UnitOfWork, escalation_id: str, policy: Policy,
                     now: datetime) -> list[int]:
    """Record each breach now due on one escalation, once: the breach, the temporary
    owner it brings, and who was notified. Returns the ledger seqs written."""
    esc = uow.escalations.get(escalation_id)
    if esc is None:
        return []
    written = []
    for clock, deadline in sla.due(esc, now):
        if clock == "follow_up":
            # Nobody confirmed the resolution in its window: it reopens, a repeat.
            written.append(reopen_as_repeat(uow=uow, escalation=esc, policy=policy, now=now,
                                            cause="not-confirmed-in-time"))
            continue
        late = int((now - parse_rfc3339(deadline)).total_seconds())
        payload: dict[str, Any] = {
            "clock": clock, "deadline": deadline, "late_by_seconds": late,
            # Promises and action items set their own deadlines: no policy target.
            "target_seconds": policy.severities[esc.severity].sla.get(clock),
            "severity": esc.severity,
        }
        item = item_of(clock)
        if item is not None:  # an overdue action item: announced, nobody covers
            payload["item"] = item
        elif not esc.acting_owner:
            chosen = cover(esc, policy, lambda handle: uow.actors.get(handle) is not None)
            if chosen.allowed:
                payload["acting_owner"] = chosen.who
            else:  # still recorded, with no cover, saying why
                payload["cover_refused"] = {"rule": chosen.rule, "reason": chosen.reason}
        event = _system_event(esc, "sla-breached", payload, policy, now,
                              f"sla.{esc.severity}.{clock}")
        esc.apply(event)
        written.append(uow.record(esc, event))
        # The domain's recipients, and whom the breach's messages just went to by channel.
        written.append(notify.record_notice(
            uow=uow, escalation=esc, about=event, rule="sla.notify",
            payload={"about": event.action, "clock": clock,
                     "recipients": list(notify.recipients(esc, event).handles),
                     "channels": uow.outbox.queued_for(event)}))
    for clock, deadline, threshold, moment in sla_warnings.due(esc, now):
        written.append(warn(uow=uow, escalation=esc, policy=policy, now=now, clock=clock,
                            deadline=deadline, threshold=threshold, moment=moment))
    return written


def warn(*, uow: UnitOfWork, escalation: Escalation, policy: Policy, now: datetime,
         clock: str, deadline: str, threshold: str, moment: str) -> int:
    """Record one warning before a clock runs out, naming who is told (the owner or
    acting owner; the team while nobody owns it; an action item's owner)."""
    esc = escalation
    payload: dict[str, Any] = {"clock": clock, "deadline": deadline, "threshold": threshold,
                               "warn_at": moment, "severity": esc.severity}
    item = item_of(clock)
    if item is not None:
        payload["item"] = item
    event = _system_event(esc, "sla-warning", payload, policy, now,
                          f"sla.{esc.severity}.{clock}.warn")
    told = notify.recipients(esc, event)
    # Set before the event is recorded: its payload is the same dict.
    payload["told"] = {"handles": list(told.handles),
                       **({"team": told.team} if told.team else {})}
    esc.apply(event)
    return uow.record(esc, event)


@dataclass
class Swept:
    """What one sweep did."""

    escalations: int = 0
    events: int = 0
    batches: int = 0


def sweep(*, uow_factory: Callable[[], UnitOfWork], now: datetime, batch: int = 200) -> Swept:
    """Sweep until nothing is due: one transaction per batch (each commits its own)."""
    out = Swept()
    while True:
        with uow_factory() as uow:
            ids = uow.escalations.due(now, batch)
            if not ids:
                return out
            policy = uow.policies.active_or_raise()
            wrote = 0
            for escalation_id in ids:
                written = sweep_escalation(uow=uow, escalation_id=escalation_id,
                                           policy=policy, now=now)
                wrote += len(written)
                out.escalations += bool(written)
            uow.commit()
            out.events += wrote
            out.batches += 1
            if not wrote:  # nothing recordable left in what is due: never spin
                return out


def reopen_as_repeat(*, uow: UnitOfWork, escalation: Escalation, policy: Policy,
                     now: datetime, cause: str, confirmation_seq: int | None = None) -> int:
    """The customer did not confirm the resolution (or the follow-up window closed
    without a confirmation): Baton reopens it, a repeat escalation, on the record."""
    esc = escalation
    to_state = esc.return_to or "acknowledged"
    payload: dict[str, Any] = {"cause": cause}
    if confirmation_seq is not None:
        payload["confirmation_seq"] = confirmation_seq
    deadlines = sla.started(policy, esc.severity, esc.team, "reopen", now)
    if deadlines:
        payload["deadlines"] = deadlines
        sla_warnings.attach(policy, esc.severity, esc.team, payload, now)
    event = Event(
        escalation_id=esc.id, version=esc.version, action="reopen", actor=SYSTEM.handle,
        role="system", at=now, from_state=esc.state, to_state=to_state,
        from_owner=esc.owner, to_owner=esc.owner, tier=esc.tier, payload=payload,
        policy_version=policy.version, rule=f"follow-up.{cause}",
    )
    esc.apply(event)
    return uow.record(esc, event)
