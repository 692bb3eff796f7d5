"""Who a person or a machine is to Baton, read from the claims of the organisation's
OpenID Connect provider, through the versioned policy:

    [identity.sso]                      # optional; these are the defaults
    groups_claim = "groups"             # the claim that lists the groups
    handle_claim = "preferred_username" # the claim that names the actor (else `sub`)

    [identity.groups."Support Tier 1"]  # one table per group (SCIM's groups too)
    role = "agent"
    team = "frontline"                  # optional

A mapping change is a policy change, so it is a policy version on the ledger. A group the
table does not name grants nothing; every role granted remembers the group that granted it
(`sso:Support Tier 1`), which every ledger record of the actor's acting in that role
carries as its `via`. The groups table and `[identity]`'s other keys are validated by
workflow.access_groups; this module validates `[identity.sso]`."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from workflow.errors import WorkflowError
from workflow.model import Actor
from workflow.policy import Policy

SECTION = "identity"
TABLE = "groups"  # the table SCIM maps through too (workflow.access_groups)
SETTINGS = "sso"
SETTING_KEYS = {"groups_claim": "groups", "handle_claim": "preferred_username"}
VIA = "sso:"
# A handle Baton accepts from a claim: letters, digits and . _ @ + - (an e-mail is one).
_HANDLE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@+-]{0,63}$")


class IdentityRefused(WorkflowError):
    """Claims that give no usable actor: no mapped group, no usable handle, teams that
    disagree, or a handle Baton already holds for someone else. `why` is a fixed word the
    pages and problems key on (no-role, no-handle, teams, taken, revoked)."""

    def __init__(self, why: str, reason: str):
        self.why = why
        super().__init__(reason)


@dataclass(frozen=True)
class ClaimGrant:
    """What one group grants: a role, and a team when the table names one."""

    role: str
    team: str | None


@dataclass(frozen=True)
class ClaimMapping:
    """The policy's identity tables: the claims read and each group's grant."""

    groups_claim: str
    handle_claim: str
    grants: dict[str, ClaimGrant]


def _settings(c: list[tuple[str, str]], section: Mapping[str, Any]) -> None:
    table = section.get(SETTINGS, {})
    key = f"{SECTION}.{SETTINGS}"
    if not isinstance(table, dict):
        c.append((key, "must be a table"))
        return
    for name, value in table.items():
        if name not in SETTING_KEYS:
            c.append((f"{key}.{name}", f"unknown key; known: {', '.join(SETTING_KEYS)}"))
        elif not isinstance(value, str) or not value.strip():
            c.append((f"{key}.{name}", "must be a claim name"))


def checked(doc: Mapping[str, Any], policy: Policy | None, problems: list[tuple[str, str]]
            ) -> tuple[Policy | None, list[tuple[str, str]]]:
    """The policy (unchanged: the tables are read from its canonical text) and the
    problems found so far with those of `[identity.sso]` added; `[identity.groups]`, which
    SCIM maps through as well, is validated by workflow.access_groups."""
    section = doc.get(SECTION)
    if section is None or policy is None:
        return policy, problems
    found: list[tuple[str, str]] = []
    if not isinstance(section, dict):
        found.append((SECTION, "must be a table"))
    else:
        _settings(found, section)
    problems = [*problems, *found]
    return (None if problems else policy), problems


@lru_cache(maxsize=8)
def _parsed(canonical: str) -> ClaimMapping:
    section = json.loads(canonical).get(SECTION) or {}
    settings = {**SETTING_KEYS, **(section.get(SETTINGS) or {})}
    grants = {g: ClaimGrant(v["role"], v.get("team"))
              for g, v in sorted((section.get(TABLE) or {}).items())}
    return ClaimMapping(settings["groups_claim"], settings["handle_claim"], grants)


def mapping(policy: Policy) -> ClaimMapping:
    """The policy's claim mapping (validated when the policy was loaded)."""
    return _parsed(policy.canonical)


def _groups(value: Any) -> list[str]:
    # Providers send a list of names (Okta, Keycloak) or ids (Entra ID); some one string.
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return [g for g in value if isinstance(g, str)]
    return []


def handle_of(claims: Mapping[str, Any], policy: Policy) -> str:
    """The actor's handle: the policy's handle claim, else `sub`."""
    chosen = mapping(policy).handle_claim
    value = claims.get(chosen)
    if not isinstance(value, str) or not value:
        value = claims.get("sub")
    if not isinstance(value, str) or not _HANDLE.match(value):
        raise IdentityRefused("no-handle", f"neither the {chosen!r} claim nor 'sub' is a "
                                           "usable handle (letters, digits and . _ @ + -, "
                                           "at most 64)")
    return value


def actor_of(claims: Mapping[str, Any], policy: Policy) -> Actor:
    """The actor the claims describe: its handle, the roles and team its groups are
    granted by the policy and, per role, the group that granted it (`via`). Raises
    IdentityRefused when no group is mapped, or the groups give different teams."""
    table = mapping(policy)
    handle = handle_of(claims, policy)
    groups = sorted(set(_groups(claims.get(table.groups_claim))))
    matched = [(g, table.grants[g]) for g in groups if g in table.grants]
    if not matched:
        raise IdentityRefused("no-role", f"{handle}'s groups are not mapped to any role by "
                                         f"the policy in force (version "
                                         f"{policy.version[:12]})")
    teams = sorted({grant.team for _, grant in matched if grant.team is not None})
    if len(teams) > 1:
        raise IdentityRefused("teams", f"{handle}'s groups give different teams "
                                       f"({', '.join(teams)}); an actor has one team")
    via: dict[str, str] = {}
    for group, grant in matched:
        via.setdefault(grant.role, VIA + group)
    return Actor(handle, tuple(sorted(via)), teams[0] if teams else None,
                 via=tuple(sorted(via.items())))


def via_for(actor: Actor, role: str | None) -> str | None:
    """The claim that granted `role` to the actor (None: not granted through a claim)."""
    return dict(actor.via).get(role or "")


def with_via(actor: Actor | None, via: Any) -> Actor | None:
    """The actor with the grant paths kept beside its session (a {role: via} object);
    roles it no longer holds are dropped."""
    if actor is None or not isinstance(via, dict):
        return actor
    kept = tuple(sorted((r, v) for r, v in via.items()
                        if r in actor.roles and isinstance(v, str)))
    return Actor(actor.handle, actor.roles, actor.team, via=kept)


def identity_key(issuer: str, subject: str) -> str:
    """How the actors table binds an actor to one provider's subject: stored where a
    token's SHA-256 goes, in a form no SHA-256 hex digest has (it starts `sso:`), so no
    pasted token ever matches it."""
    digest = hashlib.sha256(f"{issuer}\n{subject}".encode()).hexdigest()
    return "sso:" + digest[:60]
