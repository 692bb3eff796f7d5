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

[identity.claims."Support Tier 1"]
role = "agent"
team = "frontline"

[identity.claims."Auditors"]
role = "auditor"

[identity.claims."Finance"]
role = "finance"
team = "finance"

[identity.claims."Finance Leads"]
role = "finance"
team = "finance"
"""
POLICY = policy_loader.loads(policy_loader.default_text() + MAPPING)


def test_the_default_policy_maps_nothing_and_keeps_its_version() -> None:
    default = policy_loader.default()
    assert identity_claims.mapping(default).grants == {}
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
    ('[identity.claims."G"]\nrole = "system"\n', "identity.claims.G.role"),
    ('[identity.claims."G"]\nrole = "nobody"\n', "identity.claims.G.role"),
    ('[identity.claims."G"]\nteam = "frontline"\n', "identity.claims.G.role"),
    ('[identity.claims."G"]\nrole = "agent"\nteam = "nowhere"\n', "identity.claims.G.team"),
    ('[identity.claims."G"]\nrole = "agent"\nrank = 1\n', "identity.claims.G.rank"),
    ('[identity.sso]\ngroup_claim = "g"\n', "identity.sso.group_claim"),
    ('[identity.sso]\nhandle_claim = ""\n', "identity.sso.handle_claim")])
def test_a_wrong_mapping_is_refused_naming_its_key(table: str, key: str) -> None:
    with pytest.raises(PolicyError) as refused:
        policy_loader.loads(policy_loader.default_text() + "\n" + table)
    assert key in str(refused.value)


def test_other_identity_tables_are_left_to_their_module() -> None:
    policy_loader.loads(policy_loader.default_text() + '\n[identity.groups."G"]\nrole = "agent"\n')


def test_the_identity_key_is_no_token_hash() -> None:
    key = identity_key("https://idp.example", "s1")
    assert key.startswith("sso:") and len(key) == 64
    assert key != identity_key("https://other.example", "s1")
