"""The policy's claim mapping: validated with the policy, versioned with it, and what a
provider's claims make of a person (roles, team, the group that granted each role)."""

from __future__ import annotations

import pytest

from workflow import identity_claims, policy_loader
from workflow.errors import PolicyError
from workflow.identity_claims import IdentityRefused, actor_of, identity_key, via_for

MAPPING = """
[identity.sso]
groups_claim = "roles_of"
handle_claim = "email"

[identity.groups."Support Tier 1"]
role = "agent"
team = "frontline"

[identity.groups."Auditors"]
role = "auditor"

[identity.groups."Finance"]
role = "finance"
team = "finance"

[identity.groups."Finance Leads"]
role = "finance"
team = "finance"
"""
POLICY = policy_loader.loads(policy_loader.default_text() + MAPPING)


def test_sso_maps_through_the_policys_groups_and_a_change_is_a_version() -> None:
    default = policy_loader.default()
    assert identity_claims.mapping(default).grants["Baton Auditors"].role == "auditor"
    assert identity_claims.mapping(default).groups_claim == "groups"
    assert POLICY.version != default.version  # a mapping change is a new policy version


def test_roles_team_and_via_from_groups() -> None:
    actor = actor_of({"sub": "s1", "email": "ann@example.com",
                      "roles_of": ["Finance Leads", "Finance", "Auditors", "Other"]}, POLICY)
    assert actor.handle == "ann@example.com"
    assert actor.roles == ("auditor", "finance") and actor.team == "finance"
    assert via_for(actor, "finance") == "sso:Finance"  # the first group by name
    assert via_for(actor, "auditor") == "sso:Auditors"
    assert via_for(actor, "agent") is None


def test_the_handle_falls_back_to_sub() -> None:
    assert actor_of({"sub": "s-2", "roles_of": "Auditors"}, POLICY).handle == "s-2"


@pytest.mark.parametrize(("claims", "why"), [
    ({"sub": "s", "roles_of": ["Marketing"]}, "no-role"),
    ({"sub": "s", "roles_of": None}, "no-role"),
    ({"sub": "a b", "roles_of": ["Auditors"]}, "no-handle"),
    ({"roles_of": ["Auditors"]}, "no-handle"),
    ({"sub": "s", "roles_of": ["Support Tier 1", "Finance"]}, "teams")])
def test_claims_that_give_no_actor(claims: dict[str, object], why: str) -> None:
    with pytest.raises(IdentityRefused) as refused:
        actor_of(claims, POLICY)
    assert refused.value.why == why


@pytest.mark.parametrize(("table", "key"), [
    ('[identity.groups."G"]\nrole = "system"\n', 'identity.groups.\"G\".role'),
    ('[identity.groups."G"]\nrole = "nobody"\n', 'identity.groups.\"G\".role'),
    ('[identity.groups."G"]\nteam = "frontline"\n', 'identity.groups.\"G\".role'),
    ('[identity.groups."G"]\nrole = "agent"\nteam = "nowhere"\n', 'identity.groups.\"G\".team'),
    ('[identity.groups."G"]\nrole = "agent"\nrank = 1\n', 'identity.groups.\"G\".rank'),
    ('[identity.sso]\ngroup_claim = "g"\n', "identity.sso.group_claim"),
    ('[identity.sso]\nhandle_claim = ""\n', "identity.sso.handle_claim")])
def test_a_wrong_mapping_is_refused_naming_its_key(table: str, key: str) -> None:
    with pytest.raises(PolicyError) as refused:
        policy_loader.loads(policy_loader.default_text() + "\n" + table)
    assert key in str(refused.value)


def test_the_groups_table_is_the_one_scim_maps_through() -> None:
    extra = policy_loader.loads(policy_loader.default_text()
                                + '\n[identity.groups."G"]\nrole = "agent"\n')
    assert identity_claims.mapping(extra).grants["G"] == identity_claims.ClaimGrant("agent", None)


def test_the_identity_key_is_no_token_hash() -> None:
    key = identity_key("https://idp.example", "s1")
    assert key.startswith("sso:") and len(key) == 64
    assert key != identity_key("https://other.example", "s1")
