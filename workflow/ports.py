"""The abstract unit of work the use cases run against (audit/ implements it)."""

from __future__ import annotations

from types import TracebackType
from typing import Protocol

from workflow.model import Actor, Escalation, Event


class EscalationRepository(Protocol):
    """Current escalation states, read for writing inside the unit of work."""

    def get(self, escalation_id: str) -> Escalation | None:
        """The escalation, or None."""


class ActorDirectory(Protocol):
    """Active actors by handle."""

    def get(self, handle: str) -> Actor | None:
        """The active actor, or None."""


class UnitOfWork(Protocol):
    """One transaction: rolls back unless commit() is called."""

    @property
    def escalations(self) -> EscalationRepository:
        """Escalation states."""

    @property
    def actors(self) -> ActorDirectory:
        """Active actors."""

    def record(self, escalation: Escalation, event: Event) -> int:
        """Write the new state and its event together; returns the ledger seq."""

    def commit(self) -> None:
        """Make everything recorded durable."""

    def rollback(self) -> None:
        """Discard everything recorded."""

    def __enter__(self) -> UnitOfWork: ...

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None: ...
