"""An in-memory unit of work: the fake backend of the contract tests."""

from __future__ import annotations

import copy
from dataclasses import dataclass
from datetime import datetime
from types import TracebackType
from typing import Any

from workflow import notify, sla
from workflow.catalogue import PERSONAL_FIELDS
from workflow.model import Actor, Escalation, Event, parse_rfc3339
from workflow.policy import Policy

DEMO_ACTORS = {
    "alice": Actor("alice", ("agent",), "frontline"),
    "andy": Actor("andy", ("agent",), "frontline"),
    "bob": Actor("bob", ("specialist",), "specialists"),
    "bea": Actor("bea", ("specialist",), "specialists"),
    "fiona": Actor("fiona", ("finance",), "finance"),
    "sam": Actor("sam", ("supervisor",), "supervisors"),
    "sue": Actor("sue", ("supervisor",), "supervisors"),
    "lee": Actor("lee", ("legal",), "legal"),
    "maria": Actor("maria", ("manager",), "management"),
    "erin": Actor("erin", ("executive",), "management"),
    "fay": Actor("fay", ("facilitator",), None),
    "lia": Actor("lia", ("liaison",), None),
    "aud": Actor("aud", ("auditor",), None),
    "root": Actor("root", ("admin",), None),
}


class _Escalations:
    def __init__(self, store: dict[str, Escalation], events: list[Event]):
        self._store = store
        self._events = events

    def get(self, escalation_id: str) -> Escalation | None:
        found = self._store.get(escalation_id)
        return copy.deepcopy(found) if found else None

    def lock(self, escalation_ids: list[str]) -> None:
        """Nothing to lock: one thread uses the fake at a time."""

    def of_customer(self, customer_id: str) -> list[str]:
        return [e.id for e in self._store.values() if e.customer_id == customer_id]

    def closed_before(self, category: str, cutoff: datetime) -> list[str]:
        return [e.id for e in self._store.values() if e.category == category
                and e.state in ("resolved", "debriefed") and e.updated_at is not None
                and e.updated_at <= cutoff]

    def resolved_for_customer(self, customer_id: str, since: datetime) -> str | None:
        found = [e for e in self._events if e.action == "resolve" and e.at >= since
                 and self._store[e.escalation_id].customer_id == customer_id
                 and self._store[e.escalation_id].state in ("resolved", "debriefed")]
        return found[-1].escalation_id if found else None

    def due(self, now: datetime, batch: int) -> list[str]:
        pending = sorted((when, e.id) for e in self._store.values()
                         if (when := sla.next_due(e)) is not None)
        return [i for when, i in pending if parse_rfc3339(when) < now][:batch]


class _Content:
    """Personal fields of the fake's events; erasing one hides it from fields_of."""

    def __init__(self, uow: FakeUnitOfWork):
        self._uow = uow
        self.erased: dict[tuple[int, str], str] = {}

    def fields_of(self, escalation_id: str) -> list[tuple[int, str]]:
        return [(seq, key) for seq, event in enumerate(self._uow.events)
                if event.escalation_id == escalation_id for key in sorted(event.payload)
                if key in PERSONAL_FIELDS and (seq, key) not in self.erased]

    def erase(self, escalation_id: str, fields: list[tuple[int, str]], *, erased_by: str,
              at: datetime, erase_seq: int) -> None:
        for found in fields:
            self.erased[found] = erased_by


class _Policies:
    def __init__(self, policy: Policy | None):
        self.applied: list[tuple[Policy, str]] = []
        self._policy = policy

    def active(self) -> Policy | None:
        return self._policy

    def active_or_raise(self) -> Policy:
        if self._policy is None:
            raise LookupError("no policy")
        return self._policy

    def record_applied(self, policy: Policy, text: str, *, actor: str, role: str,
                       previous: Policy | None, now: datetime,
                       simulation: bool = False) -> int:
        self._policy = policy
        self.applied.append((policy, actor))
        return len(self.applied) - 1


class _Actors:
    def __init__(self, actors: dict[str, Actor]):
        self._actors = actors

    def get(self, handle: str) -> Actor | None:
        return self._actors.get(handle)


@dataclass(frozen=True)
class Queued:
    """One message the fake's outbox holds: (seq, escalation, channel, target, type)."""

    seq: int
    escalation_id: str
    channel: str
    target: str
    event_type: str
    data: dict[str, Any]


class FakeOutbox:
    """The outbox in memory (workflow.ports.Channels, and what record() queues):
    `addresses` are the handles with a mail address, `subscriptions` the webhook
    subscriptions by id with the event types they name. Messages queued in a transaction
    are kept only if it commits."""

    def __init__(self, actors: dict[str, Actor]):
        self._actors = actors
        self.addresses: set[str] = set()
        self.subscriptions: dict[str, list[str]] = {}
        self.messages: list[Queued] = []
        self._pending: list[Queued] = []
        self._last: tuple[Event, dict[str, list[str]]] | None = None

    def _mailable(self, recipients: notify.Recipients) -> list[str]:
        wanted = set(recipients.handles)
        if recipients.team:
            wanted |= {h for h, a in self._actors.items() if a.team == recipients.team}
        return sorted(h for h in wanted if h in self.addresses and h != recipients.actor)

    def _hooks(self, kind: str) -> list[str]:
        return [sid for sid, events in self.subscriptions.items()
                if notify.matches(events, kind)]

    def enqueue(self, escalation: Escalation, event: Event, seq: int) -> int:
        """Queue the messages `event` causes (kept if the transaction commits)."""
        kind = notify.event_type(event.action)
        data = notify.facts(escalation, event, seq)
        targets = [("webhook", t) for t in self._hooks(kind)] + [
            ("email", t) for t in self._mailable(notify.recipients(escalation, event))]
        self._pending += [Queued(seq, escalation.id, channel, target, kind, data)
                          for channel, target in targets]
        self._last = (event, {"email": [t for c, t in targets if c == "email"],
                              "webhook": [t for c, t in targets if c == "webhook"]})
        return len(targets)

    def queued_for(self, event: Event) -> dict[str, list[str]]:
        """Whom the messages just queued for `event` go to, per channel."""
        return dict(self._last[1]) if self._last and self._last[0] is event else {}

    def commit(self) -> None:
        self.messages += self._pending
        self._pending = []

    def rollback(self) -> None:
        self._pending = []
        self._last = None


class FakeUnitOfWork:
    """Keeps committed state and events in dicts; pending writes vanish on rollback."""

    def __init__(self, actors: dict[str, Actor] | None = None, policy: Policy | None = None):
        self.committed: dict[str, Escalation] = {}
        self.events: list[Event] = []
        self._pending: list[tuple[Escalation, Event]] = []
        self.escalations = _Escalations(self.committed, self.events)
        self.actors = _Actors(actors if actors is not None else DEMO_ACTORS)
        self.content = _Content(self)
        self.policies = _Policies(policy)
        self.outbox = FakeOutbox(actors if actors is not None else DEMO_ACTORS)
        self.commits = 0

    def record(self, escalation: Escalation, event: Event) -> int:
        self._pending.append((copy.deepcopy(escalation), event))
        seq = len(self.events) + len(self._pending) - 1
        self.outbox.enqueue(escalation, event, seq)
        return seq

    def commit(self) -> None:
        for esc, event in self._pending:
            self.committed[esc.id] = esc
            self.events.append(event)
        self._pending.clear()
        self.outbox.commit()
        self.commits += 1

    def rollback(self) -> None:
        self._pending.clear()
        self.outbox.rollback()

    def __enter__(self) -> FakeUnitOfWork:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.rollback()

    def history(self, escalation_id: str) -> list[Event]:
        return [e for e in self.events if e.escalation_id == escalation_id]
