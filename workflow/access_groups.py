"""The policy's `[identity]` table: how people from the organisation's identity provider
get their roles and team. SCIM groups (and, for single sign-on, the claim's groups) map
through `[identity.groups."Group Name"]` tables of `role` and `team`, so a mapping change
is a policy version on the ledger; `handover` says who takes a deprovisioned person's
open escalations ("fallback": the team's first active fallback, then its governor;
"governor": the governor first).

    [identity]
    handover = "fallback"

    [identity.groups."Finance Team"]
    role = "finance"
    team = "finance"
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from workflow.model import SYSTEM
from workflow.policy import Policy

TABLE = "identity"
HANDOVERS = ("fallback", "governor")
_KEYS = frozenset({"role", "team"})


@dataclass(frozen=True)
class GroupGrant:
    """What membership of one group grants: a role, and a team (or none)."""

    group: str
    role: str
    team: str | None


def _group_problems(name: str, entry: Any, roles: set[str], teams: set[str]
                    ) -> list[tuple[str, str]]:
    key = f'{TABLE}.groups."{name}"'
    if not isinstance(entry, dict):
        return [(key, "must be a table with role (and team)")]
    found = [(f"{key}.{k}", "unknown key (role, team)") for k in entry if k not in _KEYS]
    role, team = entry.get("role"), entry.get("team")
    if not isinstance(role, str) or role not in roles or role in SYSTEM.roles:
        found.append((f"{key}.role", f"must be a role of the policy (not {role!r})"))
    if team is not None and (not isinstance(team, str) or team not in teams):
        found.append((f"{key}.team", f"must be a team of the policy (not {team!r})"))
    if not name.strip() or len(name) > 200:
        found.append((key, "a group name of 1 to 200 characters"))
    return found


def problems_of(doc: Mapping[str, Any]) -> list[tuple[str, str]]:
    """What is wrong with the document's `[identity]` table (none: nothing)."""
    table = doc.get(TABLE)
    if table is None:
        return []
    if not isinstance(table, dict):
        return [(TABLE, "must be a table")]
    roles_doc, teams_doc = doc.get("roles"), doc.get("teams")
    roles = set(roles_doc) if isinstance(roles_doc, dict) else set()
    teams = set(teams_doc) if isinstance(teams_doc, dict) else set()
    found = [(f"{TABLE}.{k}", "unknown key (groups, handover, sso)") for k in table
             if k not in ("groups", "handover", "sso")]
    if table.get("handover", "fallback") not in HANDOVERS:
        found.append((f"{TABLE}.handover", f"one of {', '.join(HANDOVERS)}"))
    groups = table.get("groups", {})
    if not isinstance(groups, dict):
        return [*found, (f"{TABLE}.groups", "must be a table of group names")]
    for name, entry in groups.items():
        found += _group_problems(name, entry, roles, teams)
    return found


def checked(doc: Mapping[str, Any], policy: Policy | None,
            problems: list[tuple[str, str]]) -> tuple[Policy | None, list[tuple[str, str]]]:
    """The policy (None when anything is wrong) and the problems so far with the
    `[identity]` table's added; called by workflow.policy_loader.loads."""
    problems = [*problems, *problems_of(doc)]
    return (None if problems else policy), problems


def _table(policy: Policy) -> dict[str, Any]:
    found = policy.to_json().get(TABLE)
    return found if isinstance(found, dict) else {}


def groups(policy: Policy) -> dict[str, GroupGrant]:
    """Every mapped group of the policy, by name."""
    return {name: GroupGrant(name, entry["role"], entry.get("team"))
            for name, entry in _table(policy).get("groups", {}).items()}


def handover(policy: Policy) -> str:
    """Who takes a deprovisioned person's escalations first: "fallback" or "governor"."""
    return str(_table(policy).get("handover", "fallback"))


def grants_of(names: Iterable[str], policy: Policy) -> tuple[list[str], str | None,
                                                             list[str]]:
    """The roles and team that membership of `names` grants (the first mapped group with a
    team decides the team), and the mapped groups that granted them, in policy order."""
    mapped = groups(policy)
    held = set(names)
    chosen = [g for name, g in mapped.items() if name in held]
    roles = sorted({g.role for g in chosen})
    team = next((g.team for g in chosen if g.team is not None), None)
    return roles, team, [g.group for g in chosen]
