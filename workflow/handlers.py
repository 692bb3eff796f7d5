"""The service layer: each write on escalations and the ledger is one call here. The handler
opens its unit of work from the factory it was given, reads the policy in force, acts
(through the use cases of workflow.services, workflow.erasure, workflow.policy_change),
and commits, or rolls back on any exception; it returns values. Entry points (views,
forms, the command line) build the arguments and make that one call; none of them opens
a unit of work for a write."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic, TypeVar

from workflow import erasure, policy_change, services
from workflow.action_effects import LINK_USED, LINK_VOID
from workflow.authority import customer_actor
from workflow.errors import SimulationRefused, WorkflowError
from workflow.handler_ports import Once, U, UnitOfWorkFactory
from workflow.model import Actor
from workflow.policy import Policy
from workflow.services import Outcome

S = TypeVar("S")
# What the entry point shows of a write, read inside its transaction (on PostgreSQL the
# reads were sent ahead with the action's own, so they cost no round trip of their own).
Shown = Callable[[U, Outcome], S]


@dataclass(frozen=True)
class Written(Generic[S]):
    """What a write did (its outcome, under which policy) and what its caller's `shown`
    read of it before the commit."""

    outcome: Outcome
    policy: Policy
    shown: S


def nothing_shown(_uow: Any, _outcome: Outcome) -> None:
    """A `shown` for callers that need only the outcome (forms, the command line)."""
    return None


def _write(uow: UnitOfWorkFactory[U], *, now: datetime, prepare: str | None,
           once: Once | None, work: Callable[[U, Policy], Outcome],
           shown: Shown[U, S]) -> Written[S]:
    """One transaction: a retry's first response, the reads sent ahead, the policy in
    force, the action, what is shown of it, the kept response, the commit."""
    tx = uow()
    with tx:
        if once is not None:
            once.check(tx.idempotency)
        if prepare is not None:
            tx.prepare_to_act(prepare)
        policy = tx.policies.active_or_raise()
        out = work(tx, policy)
        written = Written(out, policy, shown(tx, out))
        if once is not None:
            once.keep(tx.idempotency, written, now)
        tx.commit()
    return written


def open_escalation(*, uow: UnitOfWorkFactory[U], actor: Actor, escalation_id: str,
                    payload: dict[str, Any], now: datetime, shown: Shown[U, S],
                    once: Once | None = None) -> Written[S]:
    """Open an escalation at tier 0 and commit it."""
    return _write(uow, now=now, prepare=None, once=once, shown=shown,
                  work=lambda tx, policy: services.open_escalation(
                      uow=tx, actor=actor, escalation_id=escalation_id, payload=payload,
                      policy=policy, now=now))


Payload = dict[str, Any] | None | Callable[[Policy], dict[str, Any]]


def act(*, uow: UnitOfWorkFactory[U], actor: Actor, escalation_id: str, action: str,
        payload: Payload, now: datetime, shown: Shown[U, S],
        expected_version: int | None = None, once: Once | None = None,
        reads_ahead: bool = True) -> Written[S]:
    """Take an action on an escalation (VersionConflict when `expected_version` is not
    its version) and commit it. `payload` may be a function of the policy in force (a
    form's fields are read against it); `reads_ahead`: send ahead the reads an action
    and the escalation as shown make (False when `shown` does not read it)."""
    return _write(uow, now=now, prepare=escalation_id if reads_ahead else None, once=once,
                  shown=shown,
                  work=lambda tx, policy: services.act(
                      uow=tx, actor=actor, escalation_id=escalation_id, action=action,
                      payload=payload(policy) if callable(payload) else payload,
                      policy=policy, now=now, expected_version=expected_version))


class LinkNotIssued(WorkflowError):
    """A feedback link names no escalation of Baton's."""


class LinkUsed(WorkflowError):
    """A feedback link was used already (each is good for one answer)."""


class LinkVoid(WorkflowError):
    """A feedback link issued before a reopen (void since: a new one follows)."""


def answer_feedback(*, uow: UnitOfWorkFactory[U], escalation_id: str, link_id: str,
                    payload: dict[str, Any], now: datetime) -> Outcome:
    """Record a customer's answer through a one-time link, as the customer (who may do
    nothing else); LinkNotIssued, LinkUsed, LinkVoid, or the use case's refusal."""
    with uow() as tx:
        esc = tx.escalations.get(escalation_id)
        if esc is None:
            raise LinkNotIssued(escalation_id)
        state = esc.feedback_links.get(link_id)
        if state == LINK_USED:
            raise LinkUsed(link_id)
        if state == LINK_VOID:
            raise LinkVoid(link_id)
        out = services.act(uow=tx, actor=customer_actor(esc.customer_id),
                           escalation_id=escalation_id, action="confirm-resolution",
                           payload=payload, policy=tx.policies.active_or_raise(), now=now)
        tx.commit()
    return out


def erase_customer(*, uow: UnitOfWorkFactory[U], actor: Actor, customer_id: str,
                   now: datetime) -> erasure.Erased:
    """Erase a customer's personal content (legal holds are kept), if the actor may."""
    with uow() as tx:
        done = erasure.erase_customer(uow=tx, actor=actor, customer_id=customer_id, now=now,
                                      policy=tx.policies.active_or_raise())
        tx.commit()
    return done


def retention_sweep(*, uow: UnitOfWorkFactory[U], now: datetime) -> erasure.Erased:
    """Erase the content whose category's retention period has passed."""
    with uow() as tx:
        done = erasure.retention_sweep(uow=tx, now=now, policy=tx.policies.active_or_raise())
        tx.commit()
    return done


def apply_policy(*, uow: UnitOfWorkFactory[U], actor: Actor, text: str, now: datetime,
                 source: str) -> tuple[Policy, int | None]:
    """Apply policy text (an audited event; unchanged content writes nothing, seq None)."""
    with uow() as tx:
        applied = policy_change.apply_policy(uow=tx, actor=actor, text=text, now=now,
                                             source=source)
        tx.commit()
    return applied


@dataclass(frozen=True)
class Initialised:
    """What initialising did: the policy applied (None: the one in force was kept)."""

    policy: Policy | None
    seq: int | None


def initialise(*, uow: UnitOfWorkFactory[U], bootstrap: Actor, operator: Actor, text: str,
               source: str, given: bool, now: datetime,
               simulation: bool = False) -> Initialised:
    """Apply the first policy (by Baton itself, `bootstrap`) or, when one is `given`, a
    later one (the `operator`'s change, under the policy in force); sign the first
    checkpoint. Safe to run twice."""
    tx = uow()
    with tx:
        current = tx.policies.active()
        if current is not None and simulation:
            raise SimulationRefused("a ledger that already holds events cannot become a "
                                    "simulation: start a new database with `--simulation`")
        applied: tuple[Policy | None, int | None] = (None, None)
        if current is None or given:
            applied = policy_change.apply_policy(
                uow=tx, actor=bootstrap if current is None else operator, text=text,
                now=now, source=source, simulation=simulation)
        if tx.head().checkpoint_size == 0:
            tx.checkpoint(now, force=True)
        tx.commit()
    return Initialised(*applied)


def sign_checkpoint(*, uow: UnitOfWorkFactory[U], now: datetime) -> str | None:
    """Sign a checkpoint of the whole log now; the note (None without a signing key)."""
    tx = uow()
    with tx:
        note = tx.checkpoint(now, force=True)
        tx.commit()
    return note
