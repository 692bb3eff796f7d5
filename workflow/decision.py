"""What an authority decision is: allow or deny, the rule that decided and why."""

from __future__ import annotations

from dataclasses import dataclass

from workflow.errors import AuthorityDenied


@dataclass(frozen=True)
class Decision:
    """Allow or deny, the rule that decided, and a sentence a person understands."""

    allowed: bool
    rule: str
    reason: str
    role: str | None = None
    # The actor the decision names, where it chooses one (a governor, an acting owner).
    who: str | None = None


def enforce(decision: Decision) -> Decision:
    """The decision when it allows; raises AuthorityDenied with its rule otherwise."""
    if not decision.allowed:
        raise AuthorityDenied(decision.rule, decision.reason)
    return decision


def allow(rule: str, reason: str) -> Decision:
    """An allowing decision by `rule`."""
    return Decision(True, rule, reason)


def deny(rule: str, reason: str) -> Decision:
    """A refusal by `rule`."""
    return Decision(False, rule, reason)


def either(names: list[str]) -> str:
    """'a', 'a or b', 'a, b or c' (or 'no role in this policy' when there is none)."""
    if not names:
        return "no role in this policy"
    if len(names) == 1:
        return names[0]
    return ", ".join(names[:-1]) + " or " + names[-1]
