"""What actions do: the lifecycle transitions they fire, how each folds into the
escalation (beyond owner, state and clocks, which Escalation.apply keeps), and when one
would change nothing. The catalogue (workflow/catalogue.py) names these for each action.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any

from workflow.errors import PayloadInvalid
from workflow.states import (
    ACKNOWLEDGED,
    DEBRIEFED,
    OPENED,
    RESOLVED,
    Shape,
    tier_state,
)
from workflow.timestamps import rfc3339

if TYPE_CHECKING:
    from workflow.escalation_state import EscalationState as Escalation
    from workflow.escalation_state import Event
    from workflow.policy import Policy

Transitions = Callable[[Shape], list[dict[str, Any]]]

# The clock an acknowledgment stops.
ACKNOWLEDGE_CLOCK = "acknowledge"
# A feedback link's states: issued, used by the customer's answer, void (issued before a
# reopen, about a resolution that no longer stands).
LINK_ISSUED, LINK_USED, LINK_VOID = "issued", "used", "void"


def _kw_equals(key: str, value: Any) -> Callable[[Any], bool]:
    def condition(event: Any) -> bool:
        return bool(event.kwargs.get(key) == value)

    condition.__name__ = f"{key}_is_{value}"
    return condition


def _awaiting_ack(event: Any) -> bool:
    return bool(event.kwargs.get("awaiting_ack"))


def add_once(items: list[str], handle: str) -> None:
    """Append `handle` unless it is already there (watchers, collaborators)."""
    if handle not in items:
        items.append(handle)


# --- transitions -------------------------------------------------------------------

def acknowledge_moves(s: Shape) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = [{"source": OPENED, "dest": ACKNOWLEDGED}]
    for n in range(1, s.max_tier + 1):
        rows.append({"source": tier_state(n), "dest": tier_state(n),
                     "conditions": [_awaiting_ack]})
    return rows


def escalate_moves(s: Shape) -> list[dict[str, Any]]:
    rows = []
    for low, source in enumerate(s.working):
        for target in range(low + 1, s.max_tier + 1):
            rows.append({"source": source, "dest": tier_state(target),
                         "conditions": [_kw_equals("to_tier", target)]})
    return rows


def back_to_origin(source: str) -> Transitions:
    def moves(s: Shape) -> list[dict[str, Any]]:
        return [{"source": source, "dest": origin,
                 "conditions": [_kw_equals("return_to", origin)]} for origin in s.working]
    return moves


def together(*parts: Transitions) -> Transitions:
    """The transitions of several parts together."""
    def moves(s: Shape) -> list[dict[str, Any]]:
        return [row for part in parts for row in part(s)]
    return moves


def stays_in(*groups: str) -> Transitions:
    """Stays in place, from the named groups of states (working, live, resolved, all)."""
    def moves(s: Shape) -> list[dict[str, Any]]:
        sources: list[str] = []
        for group in groups:
            sources += {"opened": [OPENED], "working": s.working, "live": s.live,
                        "resolved": [RESOLVED], "debriefed": [DEBRIEFED],
                        "all": s.all}[group]
        return [{"source": sources, "dest": None}]
    return moves


def goes_to(dest: str, *groups: str) -> Transitions:
    def moves(s: Shape) -> list[dict[str, Any]]:
        sources = {"working": s.working, "resolved": [RESOLVED]}
        return [{"source": [x for g in groups for x in sources[g]], "dest": dest}]
    return moves


# --- folds: what each action does to the escalation, beyond owner, state and clocks --

def opened(esc: Escalation, event: Event) -> None:
    p = event.payload
    esc.repeat_of = p.get("repeat_of")
    esc.category = p["category"]
    esc.severity = p["severity"]
    esc.customer_id = p["customer_id"]
    esc.customer_value = p.get("customer_value") or "standard"
    esc.amount = p.get("amount")
    esc.team = p["team"]
    esc.governor = p["governor"]
    esc.opened_by = event.actor
    esc.policy_version = event.policy_version
    esc.created_at = event.at


def escalated(esc: Escalation, event: Event) -> None:
    p = event.payload
    esc.tier = p["to_tier"]
    esc.team = p["team"]
    esc.governor = p["governor"]
    esc.awaiting_ack = True


def taken(esc: Escalation, event: Event) -> None:
    esc.awaiting_ack = False


def hand_off(esc: Escalation, event: Event) -> None:
    esc.proposed_owner = event.payload["to"]
    esc.return_to = event.from_state


def already_watching(esc: Escalation, p: dict[str, Any]) -> tuple[str, str] | None:
    if "handle" in p and p["handle"] in esc.watchers:
        return "watcher.already", f"{p['handle']} already watches this escalation"
    if "handle" in p and p["handle"] == esc.owner:
        return "watcher.owner", f"{p['handle']} owns this escalation and hears of it all"
    return None


def already_collaborating(esc: Escalation, p: dict[str, Any]) -> tuple[str, str] | None:
    if "handle" in p and p["handle"] in esc.collaborators:
        return ("collaborator.already",
                f"{p['handle']} already collaborates on this escalation")
    return None


def already_liaison(esc: Escalation, p: dict[str, Any]) -> tuple[str, str] | None:
    if "handle" in p and p["handle"] == esc.liaison:
        return "liaison.already", f"{p['handle']} is already the liaison"
    return None


def already_held(esc: Escalation, p: dict[str, Any]) -> tuple[str, str] | None:
    if esc.legal_hold:
        return "hold.already", "this escalation is already under legal hold"
    return None


def not_held(esc: Escalation, p: dict[str, Any]) -> tuple[str, str] | None:
    if not esc.legal_hold:
        return "hold.none", "this escalation is not under legal hold"
    return None


def handoff_answered(esc: Escalation, event: Event) -> None:
    # Accepted, declined, withdrawn or reassigned over: the proposal lapses.
    esc.proposed_owner = None
    esc.return_to = None


def handoff_accepted(esc: Escalation, event: Event) -> None:
    """The proposed owner took it; when the event `acknowledges` (they are eligible at a
    tier that awaited its acknowledgment), the tier's acknowledgment clock stops too."""
    handoff_answered(esc, event)
    if event.payload.get("acknowledges"):
        taken(esc, event)
        esc.deadlines.pop(ACKNOWLEDGE_CLOCK, None)


def resolved(esc: Escalation, event: Event) -> None:
    esc.return_to = event.from_state


def reopened(esc: Escalation, event: Event) -> None:
    esc.confirmed = None
    esc.return_to = None
    esc.reopen_count += 1
    # A feedback link sent before the reopen asked about a resolution that no longer
    # stands: it is void (a new resolution gets a new link).
    for link, state in esc.feedback_links.items():
        if state == LINK_ISSUED:
            esc.feedback_links[link] = LINK_VOID


def add_watcher(esc: Escalation, event: Event) -> None:
    add_once(esc.watchers, event.payload["handle"])


def add_collaborator(esc: Escalation, event: Event) -> None:
    add_once(esc.collaborators, event.payload["handle"])


def assign_liaison(esc: Escalation, event: Event) -> None:
    esc.liaison = event.payload["handle"]


def legal_hold(esc: Escalation, event: Event) -> None:
    esc.legal_hold = True


def release_hold(esc: Escalation, event: Event) -> None:
    esc.legal_hold = False


def clock_breached(esc: Escalation, event: Event) -> None:
    p = event.payload
    esc.breached[p["clock"]] = p["deadline"]
    esc.acting_owner = p.get("acting_owner") or esc.acting_owner


def acting_released(esc: Escalation, event: Event) -> None:
    esc.acting_owner = None


# --- the customer's side ------------------------------------------------------------

def promise_clock(promise_id: str) -> str:
    """The SLA clock of a promise."""
    return f"promise-{promise_id}"


def item_clock(item_id: str) -> str:
    """The clock of a debrief action item's due date."""
    return f"item-{item_id}"


def item_of(clock: str) -> str | None:
    """The action item a clock is the due date of, or None."""
    return clock.removeprefix("item-") if clock.startswith("item-") else None


def prepare_debrief(esc: Escalation, data: dict[str, Any], policy: Policy,
                    now: datetime) -> None:
    """Action items: their texts stay in `actions` (personal, erasable); their owners
    and due dates, which must outlive any erasure, go to `action_items` with an id."""
    items = data.get("actions")
    if not items:
        return
    data["actions"] = [item["what"] for item in items]
    data["action_items"] = []
    deadlines = {}
    for index, item in enumerate(items):
        item_id = f"a{esc.version}.{index + 1}"
        facts = {"id": item_id, "owner": item.get("owner"), "due": item.get("due")}
        data["action_items"].append(facts)
        if facts["due"] is not None:
            deadlines[item_clock(item_id)] = facts["due"]
    if deadlines:
        data["deadlines"] = deadlines


def debriefed(esc: Escalation, event: Event) -> None:
    for facts in event.payload.get("action_items", []):
        esc.action_items[facts["id"]] = {"owner": facts["owner"], "due": facts["due"],
                                         "completed_at": None}


def prepare_completion(esc: Escalation, data: dict[str, Any], policy: Policy,
                       now: datetime) -> None:
    """The item must exist."""
    if data["item"] not in esc.action_items:
        raise PayloadInvalid({"item": f"no action item {data['item']!r}; items: "
                                      f"{', '.join(esc.action_items) or 'none'}"})


def item_completed(esc: Escalation, event: Event) -> None:
    item_id = event.payload["item"]
    esc.action_items[item_id]["completed_at"] = rfc3339(event.at)
    esc.deadlines.pop(item_clock(item_id), None)


def already_completed(esc: Escalation, p: dict[str, Any]) -> tuple[str, str] | None:
    found = esc.action_items.get(p.get("item", ""))
    if found is not None and found["completed_at"] is not None:
        return "item.done", f"action item {p['item']} was completed already"
    return None
