"""The abstract unit of work the use cases run against (audit/ implements it)."""

from __future__ import annotations

from datetime import datetime
from types import TracebackType
from typing import Any, Protocol

from workflow.model import Actor, Escalation, Event
from workflow.policy import Policy


class EscalationRepository(Protocol):
    """Current escalation states, read for writing inside the unit of work."""

    def get(self, escalation_id: str) -> Escalation | None:
        """The escalation, or None."""

    def lock(self, escalation_ids: list[str]) -> None:
        """Lock several escalations for this transaction, in a deadlock-free order."""

    def of_customer(self, customer_id: str) -> list[str]:
        """Ids of every escalation of a customer, oldest first."""

    def closed_before(self, category: str, cutoff: datetime) -> list[str]:
        """Ids of the resolved or debriefed escalations of a category last changed at or
        before `cutoff`."""

    def resolved_for_customer(self, customer_id: str, since: datetime) -> str | None:
        """The customer's escalation resolved most recently at or after `since` (and not
        reopened since), or None."""

    def due(self, now: datetime, batch: int) -> list[str]:
        """Up to `batch` ids of escalations with a deadline due before `now` and not yet
        recorded, earliest first; concurrent sweepers are given different ones."""


class ActorDirectory(Protocol):
    """Active actors by handle."""

    def get(self, handle: str) -> Actor | None:
        """The active actor, or None."""


class ContentStore(Protocol):
    """The erasable personal texts of the ledger's events."""

    def fields_of(self, escalation_id: str) -> list[tuple[int, str]]:
        """(seq, field) of every personal text still held for an escalation."""

    def erase(self, escalation_id: str, fields: list[tuple[int, str]], *, erased_by: str,
              at: datetime, erase_seq: int) -> None:
        """Delete those texts and their salts, noting who erased them, when, and the seq
        of the content-erased event that records it."""


class PolicyStore(Protocol):
    """Applied policy versions."""

    def active(self) -> Policy | None:
        """The policy in force, or None before the first is applied."""

    def active_or_raise(self) -> Policy:
        """The policy in force; raises when none has been applied."""

    def record_applied(self, policy: Policy, text: str, *, actor: str, role: str,
                       previous: Policy | None, now: datetime,
                       simulation: bool = False) -> int:
        """Store a new policy version and its policy-applied event (which, for the first
        policy, may declare the ledger a simulation); returns the seq."""


class Channels(Protocol):
    """Which channels reach whom (audit/store/outbox.py implements it; workflow.notify asks)."""

    def queued_for(self, event: Event) -> dict[str, list[str]]:
        """Per channel ("email": handles, "webhook": subscription ids), whom the messages
        just queued for `event` go to (empty if it was not the last event recorded)."""


class UnitOfWork(Protocol):
    """One transaction: rolls back unless commit() is called."""

    @property
    def escalations(self) -> EscalationRepository:
        """Escalation states."""

    @property
    def actors(self) -> ActorDirectory:
        """Active actors."""

    @property
    def content(self) -> ContentStore:
        """Erasable personal texts."""

    @property
    def policies(self) -> PolicyStore:
        """Applied policy versions."""

    @property
    def outbox(self) -> Channels:
        """The notifications the events of this transaction cause."""

    def record(self, escalation: Escalation, event: Event) -> int:
        """Write the new state and its event together; returns the ledger seq."""

    def commit(self) -> None:
        """Make everything recorded durable."""

    def rollback(self) -> None:
        """Discard everything recorded."""

    def __enter__(self) -> UnitOfWork: ...

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None: ...


class WebhookStore(Protocol):
    """Webhook subscriptions; each change is an audited ledger record (never the secret)."""

    def add(self, *, url: str, events: list[str], description: str | None, secret: str,
            actor: str, role: str, policy_version: str, now: datetime) -> dict[str, Any]:
        """Store a new subscription and its webhook-subscribed record; returns it."""

    def get(self, webhook_id: str) -> dict[str, Any] | None:
        """A subscription that was not removed, or None."""

    def remove(self, webhook_id: str, *, actor: str, role: str, policy_version: str,
               now: datetime) -> None:
        """Remove a subscription, with its webhook-removed record."""

    def rotate(self, webhook_id: str, *, secret: str, grace_seconds: float, actor: str,
               role: str, policy_version: str, now: datetime) -> dict[str, Any]:
        """Give a subscription a new secret (the old one still signs for the grace
        period), with its webhook-secret-rotated record; returns it."""
