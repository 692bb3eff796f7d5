"""The service layer's administrative commands: webhook subscriptions and their deliveries,
actors and their tokens. Each is one call that opens its unit of work from the factory it
was given, reads the policy in force, acts, and commits (or rolls back)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from workflow import access_grants, webhook_admin
from workflow.access_grants import CLI, GENESIS, OPERATOR, AccessAccounts, By
from workflow.authority import assignable, enforce, needs_team
from workflow.errors import WorkflowError
from workflow.handler_ports import ActorAccounts, Redeliveries, U, UnitOfWorkFactory
from workflow.model import Actor
from workflow.policy import Policy
from workflow.ports import WebhookStore
from workflow.webhook_admin import SubscriptionNotFound

# The stores of a unit of work (the container passes audit's adapters).
Webhooks = Callable[[Any], WebhookStore]
Accounts = Callable[[Any], ActorAccounts]
Access = Callable[[Any], AccessAccounts]
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


@dataclass(frozen=True)
class Deprovisioned:
    """A deprovisioning: its access-revoked seq, and each open escalation handed over
    (escalation id, to whom, the seq of the hand-over event)."""

    seq: int
    handed: list[tuple[str, str, int]]


def _by(tx: Any, actor: Actor, path: str) -> tuple[Policy, By]:
    policy = tx.policies.active_or_raise()
    return policy, access_grants.authorise(actor, policy, path)


def _covered(store: AccessAccounts, handle: str, policy: Policy, now: datetime) -> None:
    """Write the genesis grant of an actor added before access was recorded."""
    found = store.account(handle)
    if found is not None and not found.recorded:
        store.genesis(found, by=By.system("access.genesis", policy, GENESIS), now=now)


def _checked(roles: Sequence[str], team: str | None, policy: Policy) -> list[str]:
    for role in roles:
        enforce(assignable(role, policy))
    if team is not None and team not in policy.teams:
        raise UnknownTeam(f"unknown team {team!r}; known: {', '.join(policy.teams)}")
    return needs_team(list(roles), policy) if team is None else []


def _put(store: AccessAccounts, by: By, policy: Policy, handle: str, roles: Sequence[str],
         team: str | None, now: datetime, rotate: bool) -> str:
    """Grant (or, with rotate, change) an actor's access and issue it a token."""
    _covered(store, handle, policy, now)
    found = store.account(handle)
    if found is not None and found.active and rotate:
        store.change(handle, list(roles), team, by=by, now=now)
    else:
        store.grant(handle, list(roles), team, by=by, now=now)
    return store.issue_token(handle, by=by, now=now)


def add_actor(*, uow: UnitOfWorkFactory[U], accounts: Access, handle: str,
              roles: Sequence[str], team: str | None, email: str | None, now: datetime,
              rotate: bool = False, actor: Actor = OPERATOR) -> ActorAdded:
    """Grant an actor roles of the policy and issue it a token (with rotate, change an
    existing one's and give it a new token), each on the ledger; its token."""
    with uow() as tx:
        policy, by = _by(tx, actor, CLI)
        routed = _checked(roles, team, policy)
        store = accounts(tx)
        token = _put(store, by, policy, handle, roles, team, now, rotate)
        if email is not None:
            store.set_email(handle, email, by=by, now=now)
        tx.commit()
    return ActorAdded(token, routed, list(policy.teams))


def add_actors(*, uow: UnitOfWorkFactory[U], accounts: Access,
               actors: Sequence[tuple[str, list[str], str | None]], now: datetime
               ) -> list[str]:
    """Grant (or change) several actors at once and issue them tokens, as the demo does;
    their tokens, in order."""
    with uow() as tx:
        policy, by = _by(tx, OPERATOR, CLI)
        store = accounts(tx)
        tokens = [_put(store, by, policy, h, r, t, now, True) for h, r, t in actors]
        tx.commit()
    return tokens


def change_actor(*, uow: UnitOfWorkFactory[U], accounts: Access, actor: Actor, handle: str,
                 roles: Sequence[str], team: str | None, now: datetime,
                 path: str = CLI) -> int | None:
    """Change an actor's roles and team (the ledger's access-changed; None: unchanged)."""
    with uow() as tx:
        policy, by = _by(tx, actor, path)
        _checked(roles, team, policy)
        store = accounts(tx)
        _covered(store, handle, policy, now)
        seq = store.change(handle, list(roles), team, by=by, now=now)
        tx.commit()
    return seq


def set_actor_email(*, uow: UnitOfWorkFactory[U], accounts: Access, handle: str,
                    email: str | None, now: datetime, actor: Actor = OPERATOR) -> None:
    """Set (None: remove) where an actor's notifications are mailed, on the ledger."""
    with uow() as tx:
        policy, by = _by(tx, actor, CLI)
        store = accounts(tx)
        _covered(store, handle, policy, now)
        store.set_email(handle, email, by=by, now=now)
        tx.commit()


def deprovision(tx: Any, store: AccessAccounts, *, by: By, policy: Policy, handle: str,
                now: datetime) -> Deprovisioned:
    """Inside an open unit of work: end the person's access, tokens and sessions, and hand
    each open escalation they own or cover over, naming the deprovisioning."""
    _covered(store, handle, policy, now)
    seq = store.deactivate(handle, by=by, now=now)
    handed = []
    for escalation_id in store.open_work(handle):
        esc = tx.escalations.get(escalation_id)
        event = None if esc is None else access_grants.handover(
            esc, handle, seq, policy, lambda h: tx.actors.get(h) is not None, now)
        if esc is not None and event is not None:
            esc.apply(event)
            handed.append((escalation_id, str(esc.owner), tx.record(esc, event)))
    return Deprovisioned(seq, handed)


def revoke_actor(*, uow: UnitOfWorkFactory[U], accounts: Access, handle: str,
                 now: datetime, actor: Actor = OPERATOR, path: str = CLI) -> Deprovisioned:
    """Deprovision an actor: its token and sessions end at once, the actor stays on the
    record, and its open escalations are handed over, each on the ledger."""
    with uow() as tx:
        policy, by = _by(tx, actor, path)
        done = deprovision(tx, accounts(tx), by=by, policy=policy, handle=handle, now=now)
        tx.commit()
    return done


def record_genesis(*, uow: UnitOfWorkFactory[U], accounts: Access, now: datetime) -> int:
    """Write a genesis grant for each actor no access event covers yet (once: the next
    run finds none); how many were written."""
    with uow() as tx:
        policy = tx.policies.active()
        if policy is None:
            return 0
        store = accounts(tx)
        found = store.without_grant()
        for account in found:
            store.genesis(account, by=By.system("access.genesis", policy, GENESIS), now=now)
        tx.commit()
    return len(found)
