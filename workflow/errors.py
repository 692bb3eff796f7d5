"""The workflow's errors: one base class, one subclass per way an action can fail."""

from __future__ import annotations

from collections.abc import Mapping, Sequence


class WorkflowError(Exception):
    """Base of every error the domain raises."""


class PolicyError(WorkflowError):
    """A policy file that cannot be loaded; names the file, the key and the fault."""

    def __init__(self, source: str, problems: Sequence[tuple[str, str]]):
        self.source = source
        self.problems = list(problems)
        text = "; ".join(f"{key}: {what}" if key else what for key, what in self.problems)
        super().__init__(f"{source}: {text}")


class EscalationNotFound(WorkflowError):
    """No escalation has that id."""

    def __init__(self, escalation_id: str):
        self.escalation_id = escalation_id
        super().__init__(f"no escalation {escalation_id!r}")


class ActorNotFound(WorkflowError):
    """No active actor has that handle."""

    def __init__(self, handle: str):
        self.handle = handle
        super().__init__(f"no active actor {handle!r}")


class InvalidTransition(WorkflowError):
    """The action is not possible from the escalation's current state."""

    def __init__(self, action: str, state: str, allowed: Sequence[str], why: str = ""):
        self.action = action
        self.state = state
        self.allowed_actions = list(allowed)
        possible = ", ".join(self.allowed_actions) or "nothing (the escalation is final)"
        detail = f"{action!r} is not possible from state {state!r}"
        if why:
            detail += f" ({why})"
        super().__init__(f"{detail}; possible from here: {possible}")


class AuthorityDenied(WorkflowError):
    """The actor's role lacks the authority; carries the rule that refused it."""

    def __init__(self, rule: str, reason: str):
        self.rule = rule
        self.reason = reason
        super().__init__(reason)


class PayloadInvalid(WorkflowError):
    """The action's payload is missing or has wrong fields; errors are per field."""

    def __init__(self, errors: Mapping[str, str]):
        self.errors = dict(errors)
        super().__init__("; ".join(f"{k}: {v}" for k, v in self.errors.items()))


class VersionConflict(WorkflowError):
    """The escalation changed since the caller read it (optimistic concurrency)."""

    def __init__(self, escalation_id: str, expected: int, actual: int):
        self.escalation_id = escalation_id
        self.expected = expected
        self.actual = actual
        super().__init__(
            f"escalation {escalation_id} is at version {actual}, not {expected}"
        )


class NothingToChange(WorkflowError):
    """The action would change nothing (a watcher who already watches, a second hold):
    refused with its rule, so that the ledger holds no empty events."""

    def __init__(self, rule: str, reason: str, state: str):
        self.rule = rule
        self.reason = reason
        self.state = state
        super().__init__(reason)


class UnknownAction(WorkflowError):
    """No such action: the ones there are, listed."""

    def __init__(self, action: str, known: Sequence[str], own_route: str | None = None):
        self.action = action
        self.known = list(known)
        where = (f"{action!r} has a route of its own, POST /api/v1/escalations/{{id}}/"
                 f"{own_route}" if own_route else f"there is no action {action!r}")
        super().__init__(f"{where}; the actions are {', '.join(self.known)}")


class SimulationRefused(WorkflowError):
    """A time given by hand (`--now`) where the ledger is not a simulation, or one that
    would go back before the latest event of a simulation."""
