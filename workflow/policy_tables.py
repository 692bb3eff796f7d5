"""The policy's tables, one check each: every problem is collected with its key (the
loader, workflow.policy_loader, reports them all at once)."""

from __future__ import annotations

import re
from dataclasses import replace
from decimal import Decimal
from typing import Any

from workflow.amounts import parse_decimal
from workflow.calendar import parse as parse_calendar
from workflow.durations import parse_duration
from workflow.lifecycle import ACTIONS
from workflow.policy import (
    CLOCKS,
    LEGACY_PERMISSIONS,
    OPTIONAL_CLOCKS,
    PERMISSIONS,
    READ_PERMISSIONS,
    TEMPLATES,
    UNLIMITED,
    Category,
    Role,
    Severity,
    Team,
    Tier,
    Trigger,
)

_NAME = re.compile(r"^[a-z][a-z0-9-]{0,39}$")


class Checker:
    """Collects (key, problem) pairs while walking the TOML document."""

    def __init__(self) -> None:
        self.problems: list[tuple[str, str]] = []

    def fail(self, key: str, what: str) -> None:
        self.problems.append((key, what))

    def table(self, data: dict[str, Any], key: str, required: bool = True) -> dict[str, Any]:
        value = data.get(key.rsplit(".", 1)[-1])
        if value is None:
            if required:
                self.fail(key, "missing table")
            return {}
        if not isinstance(value, dict):
            self.fail(key, "must be a table")
            return {}
        return value

    def text(self, data: dict[str, Any], key: str, required: bool = True) -> str:
        value = data.get(key.rsplit(".", 1)[-1])
        if value is None:
            if required:
                self.fail(key, "missing definition" if key.endswith(
                    ("definition", "description")) else "missing value")
            return ""
        if not isinstance(value, str) or not value.strip():
            self.fail(key, "must be a non-empty string")
            return ""
        return value

    def flag(self, data: dict[str, Any], key: str) -> bool:
        value = data.get(key.rsplit(".", 1)[-1], False)
        if not isinstance(value, bool):
            self.fail(key, "must be true or false")
            return False
        return value

    def names(self, data: dict[str, Any], key: str) -> list[str]:
        value = data.get(key.rsplit(".", 1)[-1], [])
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            self.fail(key, "must be a list of strings")
            return []
        seen: set[str] = set()
        for v in value:
            if v in seen:
                self.fail(key, f"duplicate name {v!r}")
            seen.add(v)
        return value

    def level(self, data: dict[str, Any], key: str, levels: set[int] | None) -> int | None:
        value = data.get(key.rsplit(".", 1)[-1])
        if value is None:
            return None
        if not isinstance(value, int) or isinstance(value, bool):
            self.fail(key, "must be an integer tier")
            return None
        if levels is not None and value not in levels:
            self.fail(key, f"tier {value} out of range {min(levels)}..{max(levels)}")
            return None
        return value

    def known_name(self, key: str, name: str) -> None:
        if not _NAME.match(name):
            self.fail(key, f"{name!r} is not a valid name (lower case, digits, hyphens)")


def tiers(c: Checker, doc: dict[str, Any]) -> tuple[Tier, ...]:
    """The tiers, numbered 0, 1, 2 … in order."""
    raw = doc.get("tiers")
    if not isinstance(raw, list) or not raw:
        c.fail("tiers", "missing: at least tier 0 is needed ([[tiers]] level = 0 …)")
        return ()
    tiers: list[Tier] = []
    for i, t in enumerate(raw):
        key = f"tiers[{i}]"
        if not isinstance(t, dict):
            c.fail(key, "must be a table")
            continue
        level = c.level(t, f"{key}.level", None)
        if level is None:
            c.fail(f"{key}.level", "missing value")
            continue
        if level != len(tiers):
            c.fail(f"{key}.level", f"tiers must be numbered 0, 1, 2 … in order; got {level}")
        tiers.append(Tier(level, c.text(t, f"{key}.name"), c.text(t, f"{key}.team")))
    return tuple(tiers)


def _check_limit(c: Checker, key: str, raw: object) -> Decimal:
    if raw is None:
        return Decimal(0)
    if raw == "unlimited":
        return UNLIMITED
    try:
        value = parse_decimal(raw)
    except ValueError as exc:
        c.fail(key, str(exc))
        return Decimal(0)
    if value < 0:
        c.fail(key, f"negative limit {raw}")
        return Decimal(0)
    return value


def teams(c: Checker, doc: dict[str, Any], tiers: tuple[Tier, ...]) -> dict[str, Team]:
    """The teams: their tier, governor, fallback (never the governor) and calendar."""
    levels = {t.level for t in tiers} or {0}
    teams: dict[str, Team] = {}
    for tname, t in c.table(doc, "teams").items():
        key = f"teams.{tname}"
        c.known_name(key, tname)
        if not isinstance(t, dict):
            c.fail(key, "must be a table")
            continue
        level = c.level(t, f"{key}.tier", levels)
        if "tier" not in t:
            c.fail(f"{key}.tier", "missing value")
        calendar = None
        if "calendar" in t:
            try:
                calendar = parse_calendar(t["calendar"])
            except ValueError as exc:
                c.fail(f"{key}.{exc}".split(": ", 1)[0], str(exc).split(": ", 1)[-1])
        governor = c.text(t, f"{key}.governor")
        fallback = tuple(c.names(t, f"{key}.fallback"))
        if governor and governor in fallback:
            # Ownership is not supervision: cover is never the governor's.
            c.fail(f"{key}.fallback", f"{governor} governs team {tname} and cannot also "
                                      "cover as its acting owner")
        teams[tname] = Team(tname, level or 0, governor, fallback, calendar)
    for i, tier in enumerate(tiers):
        if tier.team and tier.team not in teams:
            c.fail(f"tiers[{i}].team", f"unknown team {tier.team!r}")
    return teams


def _role(c: Checker, key: str, rname: str, r: dict[str, Any], levels: set[int]) -> Role:
    actions = c.names(r, f"{key}.actions")
    for a in actions:
        if a not in ACTIONS:
            c.fail(f"{key}.actions", f"unknown action {a!r}")
    read_only = c.flag(r, f"{key}.read_only")
    if read_only and actions:
        c.fail(f"{key}.actions", "a read-only role cannot be granted actions")
    permissions = c.names(r, f"{key}.permissions")
    for perm in permissions:
        if perm not in PERMISSIONS:
            c.fail(f"{key}.permissions", f"unknown permission {perm!r}; known: "
                                         f"{', '.join(PERMISSIONS)}")
        elif read_only and perm not in READ_PERMISSIONS:
            c.fail(f"{key}.permissions",
                   f"a read-only role cannot be granted {perm!r}")
    return Role(
        name=rname,
        description=c.text(r, f"{key}.description"),
        tier=c.level(r, f"{key}.tier", levels),
        actions=frozenset(actions),
        limit=_check_limit(c, f"{key}.limit", r.get("limit")),
        governance=c.flag(r, f"{key}.governance"),
        read_only=read_only,
        exceptions=c.flag(r, f"{key}.exceptions"),
        permissions=frozenset(permissions),
    )


def roles(c: Checker, doc: dict[str, Any], levels: set[int]) -> dict[str, Role]:
    """The roles: actions and permissions they are granted, tier, limit, governance."""
    roles: dict[str, Role] = {}
    for rname, r in c.table(doc, "roles").items():
        key = f"roles.{rname}"
        c.known_name(key, rname)
        if not isinstance(r, dict):
            c.fail(key, "must be a table")
            continue
        roles[rname] = _role(c, key, rname, r, levels)
    if roles and not any(r.permissions for r in roles.values()):
        roles = {name: replace(r, permissions=LEGACY_PERMISSIONS.get(name, frozenset()))
                 for name, r in roles.items()}
    return roles


def categories(c: Checker, doc: dict[str, Any], levels: set[int], teams: dict[str, Team],
               roles: dict[str, Role]) -> dict[str, Category]:
    """The categories: each one's escalation path, resolving roles and retention."""
    categories: dict[str, Category] = {}
    for cname, cat in c.table(doc, "categories").items():
        key = f"categories.{cname}"
        c.known_name(key, cname)
        if not isinstance(cat, dict):
            c.fail(key, "must be a table")
            continue
        team = c.text(cat, f"{key}.team")
        if team and team not in teams:
            c.fail(f"{key}.team", f"unknown team {team!r} in escalation path")
        level = c.level(cat, f"{key}.tier", levels)
        if level is None:
            if "tier" not in cat:
                c.fail(f"{key}.tier", "missing value")
            level = 0
        resolve_roles = c.names(cat, f"{key}.resolve_roles")
        for rr in resolve_roles:
            if rr not in roles:
                c.fail(f"{key}.resolve_roles", f"unknown role {rr!r}")
        retention = None
        if "retention" in cat:
            try:
                retention = parse_duration(cat["retention"])
            except ValueError as exc:
                c.fail(f"{key}.retention", str(exc))
        categories[cname] = Category(
            cname, c.text(cat, f"{key}.description"), team, level,
            c.flag(cat, f"{key}.skip_tiers"), tuple(resolve_roles), retention,
        )
    return categories


def triggers(c: Checker, doc: dict[str, Any]) -> dict[str, Trigger]:
    """The triggers that justify an escalation."""
    triggers: dict[str, Trigger] = {}
    for tname, t in c.table(doc, "triggers").items():
        key = f"triggers.{tname}"
        c.known_name(key, tname)
        if not isinstance(t, dict):
            c.fail(key, "must be a table")
            continue
        triggers[tname] = Trigger(
            tname, c.text(t, f"{key}.definition"), c.flag(t, f"{key}.skip_tiers")
        )
    return triggers


def severities(c: Checker, doc: dict[str, Any]) -> dict[str, Severity]:
    """The severities, each with its definition and SLA targets."""
    severities: dict[str, Severity] = {}
    for sname, s in c.table(doc, "severities").items():
        key = f"severities.{sname}"
        c.known_name(key, sname)
        if not isinstance(s, dict):
            c.fail(key, "must be a table")
            continue
        sla_raw = c.table(s, f"{key}.sla")
        sla: dict[str, int] = {}
        for clock in CLOCKS:
            if clock not in sla_raw:
                c.fail(f"{key}.sla.{clock}", "missing SLA target")
                continue
            try:
                sla[clock] = parse_duration(sla_raw[clock])
            except ValueError as exc:
                c.fail(f"{key}.sla.{clock}", str(exc))
        for clock in OPTIONAL_CLOCKS:
            if clock in sla_raw:
                try:
                    sla[clock] = parse_duration(sla_raw[clock])
                except ValueError as exc:
                    c.fail(f"{key}.sla.{clock}", str(exc))
        for extra in set(sla_raw) - set(CLOCKS) - set(OPTIONAL_CLOCKS):
            c.fail(f"{key}.sla.{extra}",
                   f"unknown clock; known: {', '.join((*CLOCKS, *OPTIONAL_CLOCKS))}")
        severities[sname] = Severity(sname, c.text(s, f"{key}.definition"), sla,
                                     c.flag(s, f"{key}.promise_at_acknowledge"))
    return severities


def customer_values(c: Checker, doc: dict[str, Any]) -> dict[str, str]:
    """The customer values and their definitions."""
    values: dict[str, str] = {}
    for vname, definition in c.table(doc, "customer_values").items():
        key = f"customer_values.{vname}"
        c.known_name(key, vname)
        if not isinstance(definition, str) or not definition.strip():
            c.fail(key, "missing definition")
        values[vname] = str(definition)
    return values


def templates(c: Checker, doc: dict[str, Any]) -> dict[str, tuple[str, ...]]:
    """The templates' required fields."""
    templates: dict[str, tuple[str, ...]] = {}
    raw_templates = c.table(doc, "templates", required=False)
    for tname in raw_templates:
        key = f"templates.{tname}"
        if tname not in TEMPLATES:
            c.fail(key, f"unknown template; known: {', '.join(TEMPLATES)}")
            continue
        names = c.names(raw_templates, key)
        for f in names:
            if f not in TEMPLATES[tname]:
                c.fail(key, f"unknown field {f!r}; known: {', '.join(TEMPLATES[tname])}")
        templates[tname] = tuple(names)
    return templates
