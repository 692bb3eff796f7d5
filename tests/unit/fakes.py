"""An in-memory unit of work: the fake backend of the contract tests."""

from __future__ import annotations

import copy
from types import TracebackType

from workflow.model import Actor, Escalation, Event

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
    def __init__(self, store: dict[str, Escalation]):
        self._store = store

    def get(self, escalation_id: str) -> Escalation | None:
        found = self._store.get(escalation_id)
        return copy.deepcopy(found) if found else None


class _Actors:
    def __init__(self, actors: dict[str, Actor]):
        self._actors = actors

    def get(self, handle: str) -> Actor | None:
        return self._actors.get(handle)


class FakeUnitOfWork:
    """Keeps committed state and events in dicts; pending writes vanish on rollback."""

    def __init__(self, actors: dict[str, Actor] | None = None):
        self.committed: dict[str, Escalation] = {}
        self.events: list[Event] = []
        self._pending: list[tuple[Escalation, Event]] = []
        self.escalations = _Escalations(self.committed)
        self.actors = _Actors(actors if actors is not None else DEMO_ACTORS)
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
