"""The policy's parts as frozen dataclasses (loaded and validated by workflow.policy)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from workflow.amounts import format_decimal
from workflow.calendar import Calendar

UNLIMITED = Decimal("Infinity")
CLOCKS = ("acknowledge", "update", "resolve")
# Clocks a severity may leave out (then they do not run for it).
OPTIONAL_CLOCKS = ("handoff", "follow_up")
# Permissions a role may hold besides actions on escalations (workflow.authority decides).
# Read permissions may be held by read-only roles.
PERMISSIONS = {
    "read-audit": "read the audit log (events, hashes, joined texts)",
    "erase": "erase a customer's personal content",
    "apply-policy": "apply a new policy version",
    "manage-actors": "add, revoke and list actors and their tokens",
    "manage-webhooks": "subscribe, list and remove webhooks and read their deliveries",
}
READ_PERMISSIONS = frozenset({"read-audit"})
# A policy written before permissions existed (no role declares any) keeps the grants
# Baton used to fix in code, so that its auditors and admins keep their access.
LEGACY_PERMISSIONS = {
    "auditor": frozenset({"read-audit"}),
    "admin": frozenset({"read-audit", "erase", "apply-policy", "manage-actors"}),
}
TEMPLATES = {
    "acknowledge": ("note",),
    "update": ("note", "next_steps"),
    "resolve": ("summary", "workaround"),
    "debrief": ("what_worked", "what_did_not", "root_cause", "lessons", "actions"),
}


@dataclass(frozen=True)
class Role:
    """What a role may do, and up to which amount."""

    name: str
    description: str
    tier: int | None
    actions: frozenset[str]
    limit: Decimal
    governance: bool
    read_only: bool
    exceptions: bool
    permissions: frozenset[str] = frozenset()

    def limit_text(self, currency: str) -> str:
        """'500 USD', 'unlimited' or 'nothing'."""
        if self.limit == UNLIMITED:
            return "any amount"
        return f"{format_decimal(self.limit)} {currency}"


@dataclass(frozen=True)
class Team:
    """A team: the tier it works at, its governor, its SLA fallback owners, and the
    business-hours calendar its clocks run on (None: 24x7)."""

    name: str
    tier: int
    governor: str
    fallback: tuple[str, ...]
    calendar: Calendar | None = None


@dataclass(frozen=True)
class Tier:
    """A tier level, its name and the team it routes to by default."""

    level: int
    name: str
    team: str


@dataclass(frozen=True)
class Category:
    """A category and its escalation path."""

    name: str
    description: str
    team: str
    tier: int
    skip_tiers: bool
    resolve_roles: tuple[str, ...]
    retention_seconds: int | None


@dataclass(frozen=True)
class Trigger:
    """A criterion that justifies an escalation."""

    name: str
    definition: str
    skip_tiers: bool


@dataclass(frozen=True)
class Severity:
    """A severity term, what it means, and its SLA targets in seconds."""

    name: str
    definition: str
    sla: dict[str, int]
    # The acknowledgment template's rule: acknowledging such an escalation must promise
    # the customer something (a callback, an update) with a time.
    promise_at_acknowledge: bool = False


@dataclass(frozen=True)
class Policy:
    """A loaded, validated policy; `version` is the SHA-256 of its canonical content."""

    name: str
    currency: str
    tiers: tuple[Tier, ...]
    teams: dict[str, Team]
    roles: dict[str, Role]
    categories: dict[str, Category]
    triggers: dict[str, Trigger]
    severities: dict[str, Severity]
    customer_values: dict[str, str]
    templates: dict[str, tuple[str, ...]]
    version: str
    canonical: str = field(repr=False)
    # An escalation opened for a customer within this long after another of theirs was
    # resolved is a repeat of it (None: repeats are not tracked).
    repeat_window_seconds: int | None = None
    # What each role may read (workflow.read_grants): role -> reads.
    reads: dict[str, frozenset[str]] = field(default_factory=dict)
    # When running clocks warn before they run out (workflow.warn_policy).
    warnings: dict[str, tuple[str, ...]] = field(default_factory=dict)

    @property
    def max_tier(self) -> int:
        """The highest tier level."""
        return max(t.level for t in self.tiers)

    def tier(self, level: int) -> Tier:
        """The tier at a level."""
        return next(t for t in self.tiers if t.level == level)

    def team_for(self, category: str, level: int) -> str:
        """The team an escalation of `category` goes to at tier `level`."""
        cat = self.categories[category]
        if level == cat.tier:
            return cat.team
        return self.tier(level).team

    def governor_for(self, team: str, owner: str | None) -> str | None:
        """The team's governor, or, when that is the owner, the nearest one above it:
        governance is never held by the person it watches."""
        level = self.teams[team].tier
        candidates = [self.teams[team].governor]
        candidates += [self.teams[t.team].governor for t in self.tiers if t.level > level]
        candidates += [t.governor for t in self.teams.values()]
        return next((c for c in candidates if c != owner), None)

    def roles_with(self, action: str) -> list[str]:
        """Names of roles that may take `action`, in policy order."""
        return [r.name for r in self.roles.values() if action in r.actions]

    def to_json(self) -> dict[str, Any]:
        """The canonical content (what the version hashes)."""
        data: dict[str, Any] = json.loads(self.canonical)
        return data
