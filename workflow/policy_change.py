"""Applying a policy: validated, versioned by content, an audited event of its own."""

from __future__ import annotations

from datetime import datetime

from workflow import policy_loader
from workflow.authority import enforce, permit
from workflow.errors import SimulationRefused
from workflow.model import Actor
from workflow.policy import Policy
from workflow.ports import UnitOfWork


def apply_policy(*, uow: UnitOfWork, actor: Actor, text: str, now: datetime,
                 source: str = "<policy>", simulation: bool = False
                 ) -> tuple[Policy, int | None]:
    """Validate and apply policy text if the policy in force lets the actor (the first
    policy bootstraps Baton, and may declare the ledger a simulation, whose sweeps run
    at a time they are given); an unchanged policy writes nothing (seq None)."""
    new = policy_loader.loads(text, source)
    current = uow.policies.active()
    role = actor.roles[0] if actor.roles else ""
    if current is not None and simulation:
        raise SimulationRefused("a ledger that already holds events cannot become a "
                                "simulation: start a new database with `--simulation`")
    if current is not None:
        decision = enforce(permit(actor, "apply-policy", current))
        role = decision.role or role
        if current.version == new.version:
            return new, None
    seq = uow.policies.record_applied(new, text, actor=actor.handle, role=role,
                                      previous=current, now=now, simulation=simulation)
    return new, seq
