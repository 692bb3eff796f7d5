"""Loading, validating and versioning the policy."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from workflow import policy_loader as P
from workflow.errors import PolicyError

TEXT = P.default_text()


def broken(old: str, new: str) -> str:
    assert old in TEXT, old
    return TEXT.replace(old, new, 1)


def problems(text: str) -> str:
    with pytest.raises(PolicyError) as info:
        P.loads(text, "org-policy.toml")
    return str(info.value)


def test_default_policy_mirrors_common_practice(policy: P.Policy) -> None:
    assert policy.max_tier == 3
    assert list(policy.roles) == ["agent", "specialist", "finance", "supervisor", "legal",
                                  "manager", "executive", "liaison", "facilitator",
                                  "auditor", "admin", "customer", "system"]
    limits = {r: policy.roles[r].limit for r in
              ("agent", "specialist", "finance", "supervisor", "manager", "executive")}
    assert limits == {"agent": Decimal(500), "specialist": Decimal(1000),
                      "finance": Decimal(5000), "supervisor": Decimal(5000),
                      "manager": Decimal(25000), "executive": P.UNLIMITED}
    assert policy.roles["supervisor"].governance and policy.roles["supervisor"].tier == 2
    assert policy.roles["auditor"].read_only
    assert (policy.categories["billing"].team, policy.categories["billing"].tier) == ("finance", 1)
    assert policy.categories["regulatory"].skip_tiers
    assert policy.categories["regulatory"].team == "legal"
    assert policy.categories["outage"].skip_tiers
    assert {t for t, v in policy.triggers.items() if v.skip_tiers} == {
        "regulatory", "time-sensitivity"}
    assert policy.severities["urgent"].sla == {"acknowledge": 600, "update": 1800,
                                               "resolve": 7200, "handoff": 900,
                                               "follow_up": 86400}
    assert policy.severities["low"].sla == {"acknowledge": 86400, "update": 259200,
                                            "resolve": 604800, "handoff": 86400,
                                            "follow_up": 604800}
    assert set(policy.customer_values) == {"standard", "high", "strategic"}
    assert policy.templates["debrief"] == ("what_worked", "what_did_not", "root_cause",
                                           "lessons", "actions")


def test_version_is_sha256_of_canonical_content_not_of_formatting() -> None:
    a = P.loads(TEXT)
    b = P.loads("# a comment\n" + TEXT.replace("[policy]", "[policy]   "))
    assert a.version == b.version and len(a.version) == 64
    c = P.loads(broken('limit = "500"', 'limit = "600"'))
    assert c.version != a.version


@pytest.mark.parametrize("old,new,expected", [
    ('resolve_roles = ["legal", "manager", "executive"]',
     'resolve_roles = ["legal", "lawyer"]',
     "categories.regulatory.resolve_roles: unknown role 'lawyer'"),
    ('team = "finance"\ntier = 1', 'team = "finanse"\ntier = 1',
     "categories.billing.team: unknown team 'finanse' in escalation path"),
    ('team = "legal"\ntier = 2', 'team = "legal"\ntier = 9',
     "categories.regulatory.tier: tier 9 out of range 0..3"),
    ('limit = "500"', 'limit = "-5"', "roles.agent.limit: negative limit -5"),
    ('limit = "500"', 'limit = 500.0', "roles.agent.limit: floats are not allowed"),
    ('fallback = ["andy", "alice"]', 'fallback = ["andy", "andy"]',
     "teams.frontline.fallback: duplicate name 'andy'"),
    ('fallback = ["andy", "alice"]', 'fallback = ["andy", "sam"]',
     "teams.frontline.fallback: sam governs team frontline and cannot also cover"),
    ('resolve = "2h", handoff = "15m"', 'resolve = "2h", handoff = "soon"',
     "severities.urgent.sla.handoff: "),
    ('definition = "Customer cannot operate and there is no workaround"\n', '',
     "severities.urgent.definition: missing definition"),
    ('acknowledge = "10m", update', 'acknowledge = "soon", update',
     "severities.urgent.sla.acknowledge: 'soon' is not a duration"),
    ('actions = ["debrief", "add-watcher", "complete-action"]', 'actions = ["debrief", "fly"]',
     "roles.facilitator.actions: unknown action 'fly'"),
    ('read_only = true\nactions = []', 'read_only = true\nactions = ["resolve"]',
     "roles.auditor.actions: a read-only role cannot be granted actions"),
    ('acknowledge = ["note"]', 'acknowledge = ["mood"]',
     "templates.acknowledge: unknown field 'mood'"),
    ('currency = "USD"', 'currency = "dollars"', "policy.currency: must be a three-letter"),
    ('[[tiers]]\nlevel = 1', '[[tiers]]\nlevel = 2', "tiers[1].level: tiers must be numbered"),
])
def test_bad_policy_names_file_key_and_fault(old: str, new: str, expected: str) -> None:
    message = problems(broken(old, new))
    assert message.startswith("org-policy.toml: ")
    assert expected in message


def test_duplicate_table_is_a_toml_error_not_a_traceback() -> None:
    message = problems(TEXT + "\n[roles.agent]\ntier = 0\n")
    assert message.startswith("org-policy.toml: not valid TOML")


def test_unreadable_file_is_a_policy_error(tmp_path: Path) -> None:
    with pytest.raises(PolicyError, match="missing.toml: cannot read"):
        P.load(tmp_path / "missing.toml")
    bad = tmp_path / "bin.toml"
    bad.write_bytes(b"\xff\xfe\x00")
    with pytest.raises(PolicyError, match="bin.toml: cannot read"):
        P.load(bad)


def test_several_problems_are_reported_together() -> None:
    text = broken('limit = "500"', 'limit = "-1"').replace('tier = 0\nlimit', 'tier = 8\nlimit')
    message = problems(text)
    assert "roles.agent.tier: tier 8 out of range" in message
    assert "roles.agent.limit: negative limit" in message


def test_durations() -> None:
    assert P.parse_duration("1h30m") == 5400
    assert P.parse_duration("3d") == 259200
    for bad in ("", "0m", "h", "-1h", 1.5, True):
        with pytest.raises(ValueError):
            P.parse_duration(bad)
