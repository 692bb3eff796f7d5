"""The Escalation aggregate, its events, and replay (the fold of events into state)."""

from __future__ import annotations

from collections.abc import Iterable

from workflow import sla_warnings
from workflow.action_effects import add_once
from workflow.catalogue import ALL_CLOCKS, CATALOGUE
from workflow.escalation_state import SYSTEM as SYSTEM
from workflow.escalation_state import Actor as Actor
from workflow.escalation_state import EscalationState
from workflow.escalation_state import Event as Event
from workflow.states import OPENED
from workflow.timestamps import parse_rfc3339 as parse_rfc3339
from workflow.timestamps import rfc3339 as rfc3339


class Escalation(EscalationState):
    """The current state of one escalation: what replaying its events yields."""

    def apply(self, event: Event) -> None:
        """Fold one event into the state. The only place state changes."""
        if event.version != self.version:
            raise ValueError(
                f"event {event.version} applied to escalation at version {self.version}"
            )
        spec = CATALOGUE.get(event.action)
        if spec is not None:
            spec.fold(self, event)
            if spec.stops == ALL_CLOCKS:
                self.deadlines.clear()
            for clock in spec.stops:
                self.deadlines.pop(clock, None)
        self.deadlines.update(event.payload.get("deadlines") or {})
        sla_warnings.follow(self, event)
        # Ownership maintenance: an owner who hands over stays in the loop.
        if event.from_owner and event.to_owner != event.from_owner:
            add_once(self.watchers, event.from_owner)
        if event.to_owner and event.to_owner in self.watchers:
            self.watchers.remove(event.to_owner)
        self.owner = event.to_owner
        self.state = event.to_state
        self.version += 1
        self.updated_at = event.at


def replay(events: Iterable[Event]) -> Escalation:
    """Rebuild an escalation by folding its events from the first."""
    escalation: Escalation | None = None
    for event in events:
        if escalation is None:
            if event.action != "open" or event.version != 0:
                raise ValueError("an escalation's history starts with its open event")
            escalation = Escalation(id=event.escalation_id, state=OPENED)
        escalation.apply(event)
    if escalation is None:
        raise ValueError("no events to replay")
    return escalation
