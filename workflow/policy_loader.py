"""The escalation policy: load a TOML file, validate it, version it by content hash."""

from __future__ import annotations

import hashlib
import json
import re
import tomllib
from dataclasses import replace
from decimal import Decimal
from importlib import resources
from pathlib import Path
from typing import Any

from workflow.amounts import parse_decimal
from workflow.calendar import parse as parse_calendar
from workflow.policy import (
    CLOCKS,
    LEGACY_PERMISSIONS,
    OPTIONAL_CLOCKS,
    PERMISSIONS,
    READ_PERMISSIONS,
    TEMPLATES,
    UNLIMITED,
    Category,
    Policy,
    Role,
    Severity,
    Team,
    Tier,
    Trigger,
)

__all__ = ["CLOCKS", "TEMPLATES", "UNLIMITED", "Category", "Policy", "Role", "Severity",
           "Team", "Tier", "Trigger", "default", "default_text", "load", "loads",
           "parse_duration"]
from workflow import read_grants
from workflow.errors import PolicyError
from workflow.lifecycle import ACTIONS

_DURATION = re.compile(r"^(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$")
_NAME = re.compile(r"^[a-z][a-z0-9-]{0,39}$")


def parse_duration(text: object) -> int:
    """Seconds from '10m', '2h', '1d', '1h30m' (or a plain integer of seconds)."""
    if isinstance(text, int) and not isinstance(text, bool) and text > 0:
        return text
    if isinstance(text, str):
        match = _DURATION.match(text)
        if match and any(match.groups()):
            d, h, m, s = (int(g or 0) for g in match.groups())
            total = ((d * 24 + h) * 60 + m) * 60 + s
            if total > 0:
                return total
    raise ValueError(f"{text!r} is not a duration such as \"10m\", \"2h\" or \"3d\"")


class _Checker:
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


def _canonical(data: dict[str, Any]) -> str:
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def _check_tiers(c: _Checker, doc: dict[str, Any]) -> tuple[Tier, ...]:
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


def _check_limit(c: _Checker, key: str, raw: object) -> Decimal:
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


def _validate(doc: dict[str, Any]) -> tuple[Policy | None, list[tuple[str, str]]]:
    c = _Checker()
    head = c.table(doc, "policy")
    name = c.text(head, "policy.name")
    currency = c.text(head, "policy.currency")
    if currency and not re.match(r"^[A-Z]{3}$", currency):
        c.fail("policy.currency", "must be a three-letter code such as USD")
    repeat_window = None
    if head.get("repeat_window") is not None:
        try:
            repeat_window = parse_duration(head["repeat_window"])
        except ValueError as exc:
            c.fail("policy.repeat_window", str(exc))
    tiers = _check_tiers(c, doc)
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

    roles: dict[str, Role] = {}
    for rname, r in c.table(doc, "roles").items():
        key = f"roles.{rname}"
        c.known_name(key, rname)
        if not isinstance(r, dict):
            c.fail(key, "must be a table")
            continue
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
        roles[rname] = Role(
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
    if roles and not any(r.permissions for r in roles.values()):
        roles = {name: replace(r, permissions=LEGACY_PERMISSIONS.get(name, frozenset()))
                 for name, r in roles.items()}

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

    values: dict[str, str] = {}
    for vname, definition in c.table(doc, "customer_values").items():
        key = f"customer_values.{vname}"
        c.known_name(key, vname)
        if not isinstance(definition, str) or not definition.strip():
            c.fail(key, "missing definition")
        values[vname] = str(definition)

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

    for section, table in (("roles", roles), ("categories", categories),
                           ("severities", severities), ("triggers", triggers),
                           ("teams", teams)):
        if not table and section in doc:
            c.fail(section, "must define at least one entry")
    if not any(r.governance for r in roles.values()):
        c.fail("roles", "at least one role must have governance = true")

    if c.problems:
        return None, c.problems
    canonical = _canonical(_plain(doc))
    policy = Policy(
        name=name, currency=currency, repeat_window_seconds=repeat_window, tiers=tiers,
        teams=teams, roles=roles,
        categories=categories, triggers=triggers, severities=severities,
        customer_values=values, templates=templates,
        version=hashlib.sha256(canonical.encode()).hexdigest(), canonical=canonical,
    )
    return policy, []


def _plain(value: Any) -> Any:
    """TOML values as JSON: dates and times become strings, floats are refused earlier."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, (str, int, bool)) or value is None:
        return value
    return str(value)


def _refuse_floats(value: Any, key: str, c: list[tuple[str, str]]) -> None:
    if isinstance(value, float):
        c.append((key, "floats are not allowed: write amounts as decimal strings (\"500.00\")"))
    elif isinstance(value, dict):
        for k, v in value.items():
            _refuse_floats(v, f"{key}.{k}" if key else k, c)
    elif isinstance(value, list):
        for i, v in enumerate(value):
            _refuse_floats(v, f"{key}[{i}]", c)


def loads(text: str, source: str = "<policy>") -> Policy:
    """Parse and validate policy text; raises PolicyError naming source, key and fault."""
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise PolicyError(source, [("", f"not valid TOML: {exc}")]) from None
    problems: list[tuple[str, str]] = []
    _refuse_floats(doc, "", problems)
    if problems:
        raise PolicyError(source, problems)
    policy, problems = _validate(doc)
    policy, problems = read_grants.checked(doc, policy, problems)
    if policy is None:
        raise PolicyError(source, problems)
    return policy


def load(path: str | Path) -> Policy:
    """Load and validate a policy file."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise PolicyError(str(p), [("", f"cannot read: {exc.__class__.__name__}: {exc}")]) \
            from None
    return loads(text, str(p))


def default_text() -> str:
    """The text of the policy that ships with Baton."""
    return resources.files("workflow").joinpath("default_policy.toml").read_text("utf-8")


def default() -> Policy:
    """The policy that ships with Baton."""
    return loads(default_text(), "default_policy.toml")
