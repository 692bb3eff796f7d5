"""Dashboard sessions: who may sign in, when a session has ended (an absolute lifetime
that never slides, an idle timeout, sign-out, the token revoked, an administrator), and
the use cases that open, keep and end one. Signing in and out are ledger records."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

from workflow.authority import permit
from workflow.decision import Decision, deny, enforce
from workflow.model import Actor
from workflow.policy import Policy
from workflow.ports import UnitOfWork
from workflow.read_grants import may_read_any

# Why a session ended (its end_reason).
SIGNED_OUT = "signed-out"
IDLE = "idle"
EXPIRED = "expired"  # the absolute lifetime ran out
TOKEN_REVOKED = "token-revoked"  # the token was revoked or rotated
ENDED_BY_ADMIN = "ended-by-admin"
REASONS = (SIGNED_OUT, IDLE, EXPIRED, TOKEN_REVOKED, ENDED_BY_ADMIN)
SIGNED_IN_ACTION = "dashboard-signed-in"
SIGNED_OUT_ACTION = "dashboard-signed-out"


@dataclass(frozen=True)
class Limits:
    """How long a session may last in all (never renewed) and unused."""

    lifetime: timedelta
    idle: timedelta

    @property
    def touch_every(self) -> timedelta:
        """How stale `last seen` may grow before a request writes it again."""
        return min(self.idle / 4, timedelta(seconds=60))


@dataclass(frozen=True)
class Stored:
    """A session as stored: `actor` is None when its token is no longer active."""

    handle: str
    actor: Actor | None
    created_at: datetime
    last_seen_at: datetime
    ended_at: datetime | None
    end_reason: str | None
    data: dict[str, Any]


class SessionStore(Protocol):
    """Where sessions are kept, with the ledger records of signing in and out."""

    def start(self, *, id_hash: str, actor: str, token_id: str, role: str, rule: str,
              policy_version: str, now: datetime, via: str | None = None) -> int:
        """Store a new session and its dashboard-signed-in record (with `via`, the claim
        that granted the role, when signed on through the provider); its ledger seq."""

    def end(self, *, id_hash: str, why: str, actor: str, role: str, rule: str,
            policy_version: str, now: datetime) -> int | None:
        """End a running session with its dashboard-signed-out record (None: it was not
        running)."""

    def keep(self, *, id_hash: str, data: dict[str, Any] | None, seen: datetime) -> None:
        """Write its data (when given) and when it was last seen."""

    def close(self, *, id_hash: str, why: str, now: datetime) -> None:
        """Mark a session that ran out (idle, expired, token revoked) as ended."""


def ended_why(stored: Stored | None, now: datetime, limits: Limits) -> str | None:
    """Why the session can no longer be used, or None while it can (no session: ended)."""
    if stored is None:
        return SIGNED_OUT
    if stored.ended_at is not None:
        return stored.end_reason or SIGNED_OUT
    if stored.actor is None:
        return TOKEN_REVOKED
    if now >= stored.created_at + limits.lifetime:
        return EXPIRED
    if now >= stored.last_seen_at + limits.idle:
        return IDLE
    return None


def may_sign_in(actor: Actor, policy: Policy, reads: Sequence[str]) -> Decision:
    """Whether the actor reads anything the dashboard shows (`reads`: its pages')."""
    decision = may_read_any(actor, reads, policy)
    if decision.allowed:
        return decision
    return deny("dashboard.sign-in", f"{actor.handle}'s roles read nothing the dashboard "
                                      f"shows ({decision.reason})")


def sign_in(*, uow: UnitOfWork, store: SessionStore, actor: Actor, token_id: str,
            id_hash: str, reads: Sequence[str], policy: Policy, now: datetime) -> Decision:
    """Open a session for the token's actor, recorded on the ledger; raises
    AuthorityDenied when its roles read nothing the dashboard shows."""
    decision = enforce(may_sign_in(actor, policy, reads))
    with uow:
        store.start(id_hash=id_hash, actor=actor.handle, token_id=token_id,
                    role=decision.role or "", rule=decision.rule,
                    policy_version=policy.version, now=now)
        uow.commit()
    return decision


def sign_out(*, uow: UnitOfWork, store: SessionStore, actor: Actor, id_hash: str,
             policy: Policy, now: datetime) -> None:
    """End the actor's own session, recorded on the ledger."""
    held = [r for r in actor.roles if r in policy.roles]
    with uow:
        store.end(id_hash=id_hash, why=SIGNED_OUT, actor=actor.handle,
                  role=held[0] if held else "", rule="dashboard.sign-out",
                  policy_version=policy.version, now=now)
        uow.commit()


def end_by_admin(*, uow: UnitOfWork, store: SessionStore, actor: Actor, id_hash: str,
                 policy: Policy, now: datetime) -> bool:
    """End someone's session (the manage-actors permission), recorded on the ledger;
    False when it was not running."""
    decision = enforce(permit(actor, "manage-actors", policy))
    with uow:
        seq = store.end(id_hash=id_hash, why=ENDED_BY_ADMIN, actor=actor.handle,
                        role=decision.role or "", rule=decision.rule,
                        policy_version=policy.version, now=now)
        uow.commit()
    return seq is not None


def keep(*, uow: UnitOfWork, store: SessionStore, id_hash: str,
         data: dict[str, Any] | None, now: datetime) -> None:
    """Note that the session was used now (the idle clock restarts; the absolute one
    never does), with its data when it changed."""
    with uow:
        store.keep(id_hash=id_hash, data=data, seen=now)
        uow.commit()


def close(*, uow: UnitOfWork, store: SessionStore, id_hash: str, why: str,
          now: datetime) -> None:
    """Record that a session ran out (idle, expired, token revoked): no ledger record,
    nobody acted."""
    with uow:
        store.close(id_hash=id_hash, why=why, now=now)
        uow.commit()
