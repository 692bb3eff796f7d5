"""Signing on through the organisation's OpenID Connect provider: a person signing in to
the dashboard, a machine presenting a JWT. Both describe an actor by their claims
(workflow.identity_claims); the actor is created, or its roles and team brought up to
date, bound to the provider's subject. A handle Baton holds for someone else (a service
account, another subject) or that was revoked is refused, never taken over."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any, Protocol

from workflow import identity_claims
from workflow.dashboard_sessions import SessionStore, may_sign_in
from workflow.decision import Decision, enforce
from workflow.handler_ports import U, UnitOfWorkFactory
from workflow.model import Actor


class SignOnAccounts(Protocol):
    """Actors bound to a provider's subject (audit/store/sign_on_accounts.py)."""

    def enrol(self, *, actor: Actor, key: str, now: datetime) -> str:
        """Create the actor bound to `key`, or update the roles and team of the one bound
        to it; its handle (the one first bound, should the claim have changed). Raises
        IdentityRefused when the handle is someone else's or was revoked."""


@dataclass(frozen=True)
class SignedOn:
    """Who signed in, and the decision that let them see the dashboard."""

    actor: Actor
    decision: Decision


def _bound(actor: Actor, handle: str) -> Actor:
    return actor if handle == actor.handle else replace(actor, handle=handle)


def sign_in(*, uow: UnitOfWorkFactory[U], accounts: Callable[[Any], SignOnAccounts],
            sessions: Callable[[Any], SessionStore], claims: Mapping[str, Any], issuer: str,
            reads: Sequence[str], id_hash: str, now: datetime) -> SignedOn:
    """Open a dashboard session for the person the ID token's claims describe, under the
    policy in force: their actor enrolled, and `dashboard-signed-in` on the ledger with
    the claim that granted the role it was allowed by (`via`). Raises IdentityRefused
    (nothing is written) or AuthorityDenied (their roles read nothing here)."""
    with uow() as tx:
        policy = tx.policies.active_or_raise()
        actor = identity_claims.actor_of(claims, policy)
        decision = enforce(may_sign_in(actor, policy, reads))
        key = identity_claims.identity_key(issuer, str(claims.get("sub", "")))
        actor = _bound(actor, accounts(tx).enrol(actor=actor, key=key, now=now))
        sessions(tx).start(id_hash=id_hash, actor=actor.handle, token_id=key,
                           role=decision.role or "", rule=decision.rule,
                           policy_version=policy.version, now=now,
                           via=identity_claims.via_for(actor, decision.role))
        tx.commit()
    return SignedOn(actor, decision)


def enrol(*, uow: UnitOfWorkFactory[U], accounts: Callable[[Any], SignOnAccounts],
          actor: Actor, key: str, now: datetime) -> Actor:
    """Create or bring up to date the actor a machine's JWT describes (`actor`, from
    identity_claims.actor_of under the policy in force); the actor as bound."""
    with uow() as tx:
        handle = accounts(tx).enrol(actor=actor, key=key, now=now)
        tx.commit()
    return _bound(actor, handle)
