"""Every action from every state, against the lifecycle table of DOMAIN.md."""

from __future__ import annotations

import pytest

from workflow.lifecycle import ACTIONS, NOTE_ACTIONS, STATE_ACTIONS, lifecycle, states

L = lifecycle(3)
WORKING = ["acknowledged", "escalated-tier-1", "escalated-tier-2", "escalated-tier-3"]
ALL = states(3)


def expected(state: str, action: str, ctx: dict) -> str | None:
    """The DOMAIN.md table, written out independently of workflow/lifecycle.py."""
    tier = {"opened": 0, "acknowledged": 0}.get(state)
    if state.startswith("escalated-tier-"):
        tier = int(state.rsplit("-", 1)[1])
    if action == "acknowledge":
        if state == "opened":
            return "acknowledged"
        if state.startswith("escalated-tier-") and ctx["awaiting_ack"]:
            return state
        return None
    if action == "escalate":
        if state in WORKING and ctx["to_tier"] is not None and ctx["to_tier"] > tier:
            return f"escalated-tier-{ctx['to_tier']}"
        return None
    if action == "hand-off":
        return "handed-off" if state in WORKING else None
    if action in ("accept-handoff", "decline-handoff", "withdraw-handoff"):
        return ctx["return_to"] if state == "handed-off" else None
    if action == "resolve":
        return "resolved" if state in WORKING else None
    if action == "reopen":
        return ctx["return_to"] if state == "resolved" else None
    if action == "debrief":
        return "debriefed" if state == "resolved" else None
    if action == "update":
        return state if state in ("opened", *WORKING, "handed-off") else None
    if action in ("add-watcher", "add-collaborator", "assign-liaison", "note"):
        return state if state != "debriefed" else None
    if action == "reassign":
        if state == "handed-off":  # governance takes it out of a stuck hand-off
            return ctx["return_to"]
        return state if state in ("opened", *WORKING) else None
    if action in ("legal-hold", "release-hold"):
        return state
    # The customer's side: promises while it is open, contacts after resolution too, the
    # follow-up on a resolved case, debrief action items beside the closed lifecycle.
    if action == "promise":
        return state if state in ("opened", *WORKING, "handed-off") else None
    if action == "contact-customer":
        return state if state not in ("debriefed",) else None
    if action in ("issue-feedback-link", "confirm-resolution"):
        return state if state == "resolved" else None
    if action == "complete-action":
        return state if state == "debriefed" else None
    raise AssertionError(action)


CONTEXTS = [
    {"awaiting_ack": a, "to_tier": t, "return_to": r}
    for a in (True, False)
    for t in (None, 1, 2, 3)
    for r in ("acknowledged", "escalated-tier-2")
]


@pytest.mark.parametrize("state", ALL)
@pytest.mark.parametrize("action", [a for a in ACTIONS if a != "open"])
def test_every_action_from_every_state(state: str, action: str) -> None:
    for ctx in CONTEXTS:
        want = expected(state, action, ctx)
        assert L.fire(state, action, **ctx) == want, (state, action, ctx)
        assert L.fire_attached(state, action, **ctx) == want, (state, action, ctx)


def test_debriefed_is_final_for_the_lifecycle() -> None:
    # Only debrief action items (tracked beside the lifecycle) and holds.
    assert L.triggers("debriefed") == ["complete-action", "legal-hold", "release-hold"]
    for action in (*STATE_ACTIONS, *NOTE_ACTIONS[:5]):
        assert L.fire("debriefed", action, awaiting_ack=True, to_tier=3,
                      return_to="acknowledged") is None


def test_one_machine_per_tier_count_and_no_model_left_attached() -> None:
    assert lifecycle(3) is L
    for _ in range(50):
        L.fire_attached("opened", "acknowledge")
        L.fire_attached("opened", "resolve")
    assert L._machine.models == []


def test_states_follow_the_policy_tier_count() -> None:
    assert states(1) == ["opened", "acknowledged", "escalated-tier-1", "handed-off",
                         "resolved", "debriefed"]
    assert lifecycle(5).fire("acknowledged", "escalate", to_tier=5) == "escalated-tier-5"


def test_mermaid_diagram_comes_from_the_table() -> None:
    text = L.mermaid()
    assert text.startswith("stateDiagram-v2")
    assert "acknowledged --> escalated_tier_3: escalate" in text
    assert "handed_off --> escalated_tier_2: accept-handoff" in text
    assert "resolved --> debriefed: debrief" in text
    assert 'state "escalated-tier-1" as escalated_tier_1' in text
    assert "debriefed --> " in text and "debriefed --> [*]" in text
