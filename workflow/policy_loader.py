"""The escalation policy: load a TOML file, validate it, version it by content hash."""

from __future__ import annotations

import hashlib
import json
import re
import tomllib
from importlib import resources
from pathlib import Path
from typing import Any

from workflow import access_groups, identity_claims, read_grants, warn_policy
from workflow import policy_tables as tables
from workflow.durations import parse_duration
from workflow.errors import PolicyError
from workflow.policy import (
    CLOCKS,
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


def _canonical(data: dict[str, Any]) -> str:
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def _head(c: tables.Checker, doc: dict[str, Any]) -> tuple[str, str, int | None]:
    """The [policy] table: its name, currency and repeat window."""
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
    return name, currency, repeat_window


def _validate(doc: dict[str, Any]) -> tuple[Policy | None, list[tuple[str, str]]]:
    c = tables.Checker()
    name, currency, repeat_window = _head(c, doc)
    tiers = tables.tiers(c, doc)
    levels = {t.level for t in tiers} or {0}
    teams = tables.teams(c, doc, tiers)
    roles = tables.roles(c, doc, levels)
    categories = tables.categories(c, doc, levels, teams, roles)
    triggers = tables.triggers(c, doc)
    severities = tables.severities(c, doc)
    values = tables.customer_values(c, doc)
    templates = tables.templates(c, doc)
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
    policy, problems = access_groups.checked(doc, policy, problems)
    policy, problems = identity_claims.checked(doc, policy, problems)
    policy, problems = warn_policy.checked(doc, policy, problems)
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
