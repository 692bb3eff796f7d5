"""The escalation's states: names, tiers, and the groups the lifecycle talks about."""

from __future__ import annotations

from dataclasses import dataclass

OPENED = "opened"
ACKNOWLEDGED = "acknowledged"
HANDED_OFF = "handed-off"
RESOLVED = "resolved"
DEBRIEFED = "debriefed"
TIER_PREFIX = "escalated-tier-"


def tier_state(tier: int) -> str:
    """The state name of escalated tier N (N >= 1)."""
    return f"{TIER_PREFIX}{tier}"


def state_tier(state: str) -> int | None:
    """The tier a state stands for (0 for opened/acknowledged), None for the others."""
    if state in (OPENED, ACKNOWLEDGED):
        return 0
    if state.startswith(TIER_PREFIX):
        return int(state[len(TIER_PREFIX):])
    return None


def states(max_tier: int) -> list[str]:
    """All states for a policy whose highest tier is max_tier."""
    return [
        OPENED,
        ACKNOWLEDGED,
        *(tier_state(n) for n in range(1, max_tier + 1)),
        HANDED_OFF,
        RESOLVED,
        DEBRIEFED,
    ]


@dataclass(frozen=True)
class Shape:
    """The states of a lifecycle with `max_tier` tiers, grouped as actions name them."""

    max_tier: int

    @property
    def working(self) -> list[str]:
        """Owned and being worked: acknowledged or at an escalated tier."""
        return [ACKNOWLEDGED, *(tier_state(n) for n in range(1, self.max_tier + 1))]

    @property
    def live(self) -> list[str]:
        """Not yet resolved."""
        return [OPENED, *self.working, HANDED_OFF]

    @property
    def all(self) -> list[str]:
        """Every state."""
        return states(self.max_tier)
