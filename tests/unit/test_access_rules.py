"""The policy's [identity] table (groups mapped to role and team, who takes a
deprovisioned person's work) and the hand-over rule, with no I/O."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from workflow import access_grants, access_groups, policy_loader
from workflow.errors import PolicyError
from workflow.model import Escalation

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def test_groups_map_to_roles_and_a_team_and_bad_entries_are_refused() -> None:
    policy = policy_loader.default()
    assert access_groups.grants_of(["Baton Finance", "Baton Auditors", "Unknown"],
                                   policy) == (["auditor", "finance"], "finance",
                                               ["Baton Auditors", "Baton Finance"])
    bad = policy_loader.default_text() + (
        '\n[identity.groups."Ghosts"]\nrole = "ghost"\nteam = "nowhere"\n')
    with pytest.raises(PolicyError) as refused:
        policy_loader.loads(bad.replace('handover = "fallback"', 'handover = "nobody"'))
    text = str(refused.value)
    assert 'identity.groups."Ghosts".role' in text and "identity.handover" in text
    assert 'identity.groups."Ghosts".team' in text


def _esc(owner: str, acting: str | None = None) -> Escalation:
    return Escalation(id="E1", state="acknowledged", team="frontline", owner=owner,
                      acting_owner=acting, governor="sam", version=3)


def test_hand_over_goes_to_the_fallback_then_the_governor_and_never_to_nobody() -> None:
    policy = policy_loader.default()  # frontline: fallback andy, alice; governor sam
    event = access_grants.handover(_esc("alice"), "alice", 41, policy, lambda h: True, NOW)
    assert event is not None
    assert (event.action, event.to_owner, event.payload["deprovisioning"]) == \
        ("reassign", "andy", 41)
    nobody_but_sam = access_grants.successor(_esc("alice"), "alice", policy,
                                             lambda h: h == "sam")
    assert (nobody_but_sam.who, nobody_but_sam.rule) == ("sam", "deprovision.handover.governor")
    unstaffed = access_grants.successor(_esc("alice"), "alice", policy, lambda h: False)
    assert unstaffed.who == "sam" and unstaffed.rule == "deprovision.handover.unstaffed"
    governor_first = policy_loader.loads(policy_loader.default_text().replace(
        'handover = "fallback"', 'handover = "governor"'))
    assert access_grants.successor(_esc("alice"), "alice", governor_first,
                                   lambda h: True).who == "sam"
    released = access_grants.handover(_esc("bob", "alice"), "alice", 41, policy,
                                      lambda h: True, NOW)
    assert released is not None and released.action == "acting-owner-released"
    assert released.to_owner == "bob"  # the owner stays accountable
    closed = Escalation(id="E2", state="resolved", team="frontline", owner="alice")
    assert access_grants.handover(closed, "alice", 41, policy, lambda h: True, NOW) is None
