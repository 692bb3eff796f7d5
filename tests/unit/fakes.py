"""An in-memory unit of work: the fake backend of the contract tests."""

from __future__ import annotations

import copy
from datetime import datetime
from types import TracebackType

from workflow import sla
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
        self.commits = 0

    def record(self, escalation: Escalation, event: Event) -> int:
        self._pending.append((copy.deepcopy(escalation), event))
        return len(self.events) + len(self._pending) - 1

    def commit(self) -> None:
        for esc, event in self._pending:
            self.committed[esc.id] = esc
            self.events.append(event)
        self._pending.clear()
        self.commits += 1

    def rollback(self) -> None:
        self._pending.clear()

    def __enter__(self) -> FakeUnitOfWork:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.rollback()

    def history(self, escalation_id: str) -> list[Event]:
        return [e for e in self.events if e.escalation_id == escalation_id]
