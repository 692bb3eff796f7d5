"""The service layer's administrative commands: webhook subscriptions and their deliveries,
actors and their tokens. Each is one call that opens its unit of work from the factory it
was given, reads the policy in force, acts, and commits (or rolls back)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from workflow import webhook_admin
from workflow.authority import assignable, enforce, needs_team
from workflow.errors import WorkflowError
from workflow.handler_ports import ActorAccounts, Redeliveries, U, UnitOfWorkFactory
from workflow.model import Actor
from workflow.ports import WebhookStore
from workflow.webhook_admin import SubscriptionNotFound

# The stores of a unit of work (the container passes audit's adapters).
Webhooks = Callable[[Any], WebhookStore]
Accounts = Callable[[Any], ActorAccounts]
Requeue = Callable[[Any], Redeliveries]


def subscribe_webhook(*, uow: UnitOfWorkFactory[U], webhooks: Webhooks, actor: Actor,
                      url: str, events: Sequence[str], description: str | None,
                      secret: str, vet: Callable[[str], str | None],
                      now: datetime) -> dict[str, Any]:
    """Subscribe a URL to event types, if the actor may manage webhooks; `vet` says what is
    wrong with the target (asked only once the actor is known to be allowed)."""
    with uow() as tx:
        policy = tx.policies.active_or_raise()
        webhook_admin.require(actor=actor, policy=policy)
        created = webhook_admin.subscribe(
            store=webhooks(tx), actor=actor, url=url, events=events,
            description=description, secret=secret, problem=vet(url), policy=policy,
            now=now)
        tx.commit()
    return created


def remove_webhook(*, uow: UnitOfWorkFactory[U], webhooks: Webhooks, actor: Actor,
                   webhook_id: str, now: datetime) -> None:
    """Remove a subscription: nothing more is sent to it."""
    with uow() as tx:
        webhook_admin.remove(store=webhooks(tx), actor=actor, webhook_id=webhook_id,
                             policy=tx.policies.active_or_raise(), now=now)
        tx.commit()


def rotate_webhook_secret(*, uow: UnitOfWorkFactory[U], webhooks: Webhooks, actor: Actor,
                          webhook_id: str, secret: str, grace_seconds: float | None,
                          now: datetime) -> dict[str, Any]:
    """A new secret; the old one keeps signing beside it for the grace period."""
    with uow() as tx:
        rotated = webhook_admin.rotate_secret(
            store=webhooks(tx), actor=actor, webhook_id=webhook_id, secret=secret,
            grace_seconds=grace_seconds, policy=tx.policies.active_or_raise(), now=now)
        tx.commit()
    return rotated


def retry_delivery(*, uow: UnitOfWorkFactory[U], webhooks: Webhooks, redeliveries: Requeue,
                   actor: Actor, webhook_id: str, delivery_id: int, at: float) -> None:
    """Send a subscription's message again, from the start of the retry schedule."""
    with uow() as tx:
        webhook_admin.require(actor=actor, policy=tx.policies.active_or_raise())
        if webhooks(tx).get(webhook_id) is None or not redeliveries(tx).requeue(
                webhook_id, delivery_id, at):
            raise SubscriptionNotFound(f"{webhook_id}/deliveries/{delivery_id}")
        tx.commit()


class UnknownTeam(WorkflowError):
    """An actor named a team the policy does not have."""


@dataclass(frozen=True)
class ActorAdded:
    """A new actor's token; the roles that, without a team, can acknowledge nothing, and
    the policy's teams."""

    token: str
    routed_without_team: list[str]
    teams: list[str]


def add_actor(*, uow: UnitOfWorkFactory[U], accounts: Accounts, handle: str,
              roles: Sequence[str], team: str | None, email: str | None, now: datetime,
              rotate: bool = False) -> ActorAdded:
    """Create an actor in roles of the policy (or give one a new token); its token."""
    with uow() as tx:
        policy = tx.policies.active_or_raise()
        for role in roles:
            enforce(assignable(role, policy))
        if team is not None and team not in policy.teams:
            raise UnknownTeam(f"unknown team {team!r}; known: {', '.join(policy.teams)}")
        routed = needs_team(list(roles), policy) if team is None else []
        store = accounts(tx)
        token = store.add(handle, list(roles), team, now, rotate=rotate)
        if email is not None:
            store.set_email(handle, email)
        tx.commit()
    return ActorAdded(token, routed, list(policy.teams))


def add_actors(*, uow: UnitOfWorkFactory[U], accounts: Accounts,
               actors: Sequence[tuple[str, list[str], str | None]], now: datetime
               ) -> list[str]:
    """Create (or give new tokens to) several actors at once, as the demo does; their
    tokens, in order."""
    with uow() as tx:
        store = accounts(tx)
        tokens = [store.add(h, r, t, now, rotate=True) for h, r, t in actors]
        tx.commit()
    return tokens


def set_actor_email(*, uow: UnitOfWorkFactory[U], accounts: Accounts, handle: str,
                    email: str | None) -> None:
    """Set (None: remove) where an actor's notifications are mailed."""
    with uow() as tx:
        accounts(tx).set_email(handle, email)
        tx.commit()


def revoke_actor(*, uow: UnitOfWorkFactory[U], accounts: Accounts, handle: str,
                 now: datetime) -> None:
    """Revoke an actor's token."""
    with uow() as tx:
        accounts(tx).revoke(handle, now)
        tx.commit()
