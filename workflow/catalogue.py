"""The action catalogue: what each action of the ledger is, in one entry per action.

An entry says which fields the action takes and which are required, which lifecycle
transitions it fires, what it does to the owner and to the escalation's state, which
class of authority decides it, which SLA clocks it starts and stops, and how it reads on
an ownership trail and a timeline. Payload validation (workflow.payload_validation), the
API's action schemas (api.schemas), the lifecycle's Machine (workflow.lifecycle), the
fold in Escalation.apply, the owner-only set of workflow.authority and the trail labels
are all derived from here. Adding an action means one entry here, its rule in
workflow.authority, and a test that proves it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from workflow.states import ACKNOWLEDGED, DEBRIEFED, HANDED_OFF, OPENED, RESOLVED, Shape, tier_state

if TYPE_CHECKING:
    from workflow.model import Escalation, Event

# Field kinds, and the limits both the API schemas and the payload validation apply.
TEXT = "text"  # free text: personal, kept out of the hashed bytes, erasable
TEXTS = "texts"  # a list of free texts
HANDLE = "handle"  # an actor's handle
TIER = "tier"  # a tier level of the policy
TRIGGER = "trigger"  # a trigger of the policy
BOOL = "bool"
GRANT = "grant"  # {kind, amount}: what a resolution grants
KINDS = (TEXT, TEXTS, HANDLE, TIER, TRIGGER, BOOL, GRANT)
MAX_TEXT = 20_000
MAX_HANDLE = 64
MAX_ITEMS = 100
MAX_TIER = 99
GRANT_KINDS = ("refund", "credit", "goodwill", "policy-exception")

# What an action does to the owner.
KEEPS = "keeps"  # the owner stays who it was
ACTOR_OWNS = "actor"  # the actor becomes the owner
TARGET_OWNS = "target"  # the actor named in the "to" field becomes the owner

# Classes of authority (workflow.authority decides each, with its own rules).
BY_ROLE = "role"  # the role's grant of the action is enough
BY_OWNER = "owner"  # the owner, the acting owner, or governance over the tier
BY_ELIGIBILITY = "eligibility"  # a role of the tier, in the team, not its governor
BY_PROPOSED_OWNER = "proposed-owner"  # only the owner a hand-off proposes
BY_GOVERNANCE = "governance"  # a governance role over the tier
BY_OWNER_OR_SELF = "owner-or-self"  # the owner for others; anyone for themselves
BY_LIAISON = "liaison"  # governance assigns anyone; a liaison only themselves
BY_INVOLVED = "involved"  # owner, acting owner, liaison, collaborators, governance
BY_OWNER_OR_LIAISON = "owner-or-liaison"  # owner, acting owner, liaison, governance
BY_SYSTEM = "system"  # Baton's own automations and administration, never asked for

# "Every running clock", whatever clocks the policy knows.
ALL_CLOCKS = ("*",)

ASSIGNS_COVER = "assigns"
RELEASES_COVER = "releases"

# The personal fields of the open payload (flattened), besides its free texts.
OPEN_PERSONAL = ("title", "description", "customer_name", "customer_contact")

# Descriptions of fields, for the OpenAPI document.
FIELD_DOCS = {
    "trigger": "A trigger of the policy",
    "to_tier": "The tier to escalate to (default: the category's path, else one up)",
    "workaround": "A workaround was given (containment)",
    "to": "The handle of the actor who is to own the escalation",
    "handle": "The handle of the actor concerned",
}

Fold = Callable[["Escalation", "Event"], None]
Unchanged = Callable[["Escalation", "dict[str, Any]"], "tuple[str, str] | None"]
Transitions = Callable[[Shape], list[dict[str, Any]]]


def _nothing(esc: Escalation, event: Event) -> None:
    """Most actions change nothing beyond owner, state and clocks."""


@dataclass(frozen=True)
class ActionSpec:
    """One action of the ledger."""

    name: str
    summary: str
    fields: Mapping[str, str] = field(default_factory=dict)
    required: tuple[str, ...] = ()
    # The policy template whose fields are also required (None: no template).
    template: str | None = None
    # The lifecycle transitions it fires (trigger added by the lifecycle); None for
    # actions that are not part of the lifecycle's Machine (open, system events).
    transitions: Transitions | None = None
    moves_state: bool = False
    owner: str = KEEPS
    authority: str = BY_ROLE
    # A field naming an actor: "to" names an owner-to-be (unknown: an authority
    # question), "handle" someone looped in (unknown: bad input).
    names_actor: str | None = None
    starts: tuple[str, ...] = ()
    stops: tuple[str, ...] = ()
    fold: Fold = _nothing
    # How an ownership span this action starts reads on a trail.
    began: str | None = None
    # What it does to temporary cover: ASSIGNS_COVER (the payload's acting_owner covers)
    # or RELEASES_COVER; and whether it ends every ownership span (the case is closed).
    cover: str | None = None
    ends_ownership: bool = False
    # The timeline milestone it marks, if any.
    milestone: str | None = None
    # Free texts shown on a timeline as "key: value" rather than joined plainly.
    labelled_text: bool = False
    # May be asked for through the API (system events are written by Baton itself).
    requestable: bool = True
    # It exists to inform (a note, a status update, who was told): it may change
    # nothing else. Every other action must change something, or it is refused.
    informs: bool = False
    # Why the action would change nothing now (a rule id and a sentence), or None.
    unchanged: Unchanged | None = None

    @property
    def text_fields(self) -> tuple[str, ...]:
        """Its free-text fields (personal: committed, never in the hashed bytes)."""
        return tuple(k for k, kind in self.fields.items() if kind in (TEXT, TEXTS))


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

def _acknowledge_moves(s: Shape) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = [{"source": OPENED, "dest": ACKNOWLEDGED}]
    for n in range(1, s.max_tier + 1):
        rows.append({"source": tier_state(n), "dest": tier_state(n),
                     "conditions": [_awaiting_ack]})
    return rows


def _escalate_moves(s: Shape) -> list[dict[str, Any]]:
    rows = []
    for low, source in enumerate(s.working):
        for target in range(low + 1, s.max_tier + 1):
            rows.append({"source": source, "dest": tier_state(target),
                         "conditions": [_kw_equals("to_tier", target)]})
    return rows


def _back_to_origin(source: str) -> Transitions:
    def moves(s: Shape) -> list[dict[str, Any]]:
        return [{"source": source, "dest": origin,
                 "conditions": [_kw_equals("return_to", origin)]} for origin in s.working]
    return moves


def _also(*parts: Transitions) -> Transitions:
    """The transitions of several parts together."""
    def moves(s: Shape) -> list[dict[str, Any]]:
        return [row for part in parts for row in part(s)]
    return moves


def _from(*groups: str) -> Transitions:
    """Stays in place, from the named groups of states (working, live, resolved, all)."""
    def moves(s: Shape) -> list[dict[str, Any]]:
        sources: list[str] = []
        for group in groups:
            sources += {"opened": [OPENED], "working": s.working, "live": s.live,
                        "resolved": [RESOLVED], "all": s.all}[group]
        return [{"source": sources, "dest": None}]
    return moves


def _to(dest: str, *groups: str) -> Transitions:
    def moves(s: Shape) -> list[dict[str, Any]]:
        sources = {"working": s.working, "resolved": [RESOLVED]}
        return [{"source": [x for g in groups for x in sources[g]], "dest": dest}]
    return moves


# --- folds: what each action does to the escalation, beyond owner, state and clocks --

def _open(esc: Escalation, event: Event) -> None:
    p = event.payload
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


def _escalate(esc: Escalation, event: Event) -> None:
    p = event.payload
    esc.tier = p["to_tier"]
    esc.team = p["team"]
    esc.governor = p["governor"]
    esc.awaiting_ack = True


def _taken(esc: Escalation, event: Event) -> None:
    esc.awaiting_ack = False


def _hand_off(esc: Escalation, event: Event) -> None:
    esc.proposed_owner = event.payload["to"]
    esc.return_to = event.from_state


def _reassigned(esc: Escalation, event: Event) -> None:
    # Out of a pending hand-off: the proposal lapses, the state returns to its origin.
    esc.proposed_owner = None
    esc.return_to = None


def _already_watching(esc: Escalation, p: dict[str, Any]) -> tuple[str, str] | None:
    if "handle" in p and p["handle"] in esc.watchers:
        return "watcher.already", f"{p['handle']} already watches this escalation"
    if "handle" in p and p["handle"] == esc.owner:
        return "watcher.owner", f"{p['handle']} owns this escalation and hears of it all"
    return None


def _already_collaborating(esc: Escalation, p: dict[str, Any]) -> tuple[str, str] | None:
    if "handle" in p and p["handle"] in esc.collaborators:
        return ("collaborator.already",
                f"{p['handle']} already collaborates on this escalation")
    return None


def _already_liaison(esc: Escalation, p: dict[str, Any]) -> tuple[str, str] | None:
    if "handle" in p and p["handle"] == esc.liaison:
        return "liaison.already", f"{p['handle']} is already the liaison"
    return None


def _already_held(esc: Escalation, p: dict[str, Any]) -> tuple[str, str] | None:
    if esc.legal_hold:
        return "hold.already", "this escalation is already under legal hold"
    return None


def _not_held(esc: Escalation, p: dict[str, Any]) -> tuple[str, str] | None:
    if not esc.legal_hold:
        return "hold.none", "this escalation is not under legal hold"
    return None


def _handoff_answered(esc: Escalation, event: Event) -> None:
    esc.proposed_owner = None
    esc.return_to = None


def _resolve(esc: Escalation, event: Event) -> None:
    esc.return_to = event.from_state


def _reopen(esc: Escalation, event: Event) -> None:
    esc.return_to = None
    esc.reopen_count += 1


def _add_watcher(esc: Escalation, event: Event) -> None:
    add_once(esc.watchers, event.payload["handle"])


def _add_collaborator(esc: Escalation, event: Event) -> None:
    add_once(esc.collaborators, event.payload["handle"])


def _assign_liaison(esc: Escalation, event: Event) -> None:
    esc.liaison = event.payload["handle"]


def _legal_hold(esc: Escalation, event: Event) -> None:
    esc.legal_hold = True


def _release_hold(esc: Escalation, event: Event) -> None:
    esc.legal_hold = False


def _breached(esc: Escalation, event: Event) -> None:
    p = event.payload
    esc.breached[p["clock"]] = p["deadline"]
    esc.acting_owner = p.get("acting_owner") or esc.acting_owner


def _acting_released(esc: Escalation, event: Event) -> None:
    esc.acting_owner = None


_SPECS = (
    ActionSpec("open", "Open an escalation at tier 0",
               fields={"title": TEXT, "description": TEXT}, fold=_open,
               starts=("acknowledge", "resolve"), milestone="opened"),
    ActionSpec("acknowledge", "Take ownership; the acknowledgment clock stops",
               fields={"note": TEXT}, template="acknowledge",
               transitions=_acknowledge_moves, moves_state=True, owner=ACTOR_OWNS,
               authority=BY_ELIGIBILITY, starts=("update",), stops=("acknowledge",),
               fold=_taken, began="acknowledged", milestone="first_acknowledged"),
    ActionSpec("escalate", "Move up a tier (the escalation path chooses the team)",
               fields={"reason": TEXT, "trigger": TRIGGER, "to_tier": TIER},
               required=("reason", "trigger"), template="escalate",
               transitions=_escalate_moves, moves_state=True, authority=BY_OWNER,
               starts=("acknowledge",), fold=_escalate, milestone="tiers_reached"),
    ActionSpec("hand-off", "Propose a new owner, with context (warm handoff)",
               fields={"to": HANDLE, "context": TEXT}, required=("to", "context"),
               template="hand-off", transitions=_to(HANDED_OFF, "working"),
               moves_state=True, authority=BY_OWNER, names_actor="to", starts=("handoff",),
               fold=_hand_off),
    ActionSpec("accept-handoff", "The proposed owner takes it",
               fields={"note": TEXT}, transitions=_back_to_origin(HANDED_OFF),
               moves_state=True, owner=ACTOR_OWNS, authority=BY_PROPOSED_OWNER,
               starts=("update",), stops=("handoff",), fold=_handoff_answered,
               began="accepted-handoff"),
    ActionSpec("decline-handoff", "The proposed owner declines; it stays with the owner",
               fields={"reason": TEXT}, required=("reason",), template="decline-handoff",
               transitions=_back_to_origin(HANDED_OFF), moves_state=True,
               authority=BY_PROPOSED_OWNER, stops=("handoff",), fold=_handoff_answered),
    ActionSpec("withdraw-handoff", "The owner withdraws a pending hand-off",
               fields={"reason": TEXT}, required=("reason",), template="withdraw-handoff",
               transitions=_back_to_origin(HANDED_OFF), moves_state=True,
               authority=BY_OWNER, stops=("handoff",), fold=_handoff_answered),
    ActionSpec("resolve", "Resolve, with a summary and what the resolution grants",
               fields={"summary": TEXT, "grant": GRANT, "workaround": BOOL},
               template="resolve", transitions=_to(RESOLVED, "working"), moves_state=True,
               authority=BY_OWNER, stops=ALL_CLOCKS, fold=_resolve, milestone="resolved"),
    ActionSpec("reopen", "The customer was not satisfied: a repeat escalation",
               fields={"reason": TEXT}, required=("reason",), template="reopen",
               transitions=_back_to_origin(RESOLVED), moves_state=True,
               starts=("update", "resolve"), fold=_reopen, milestone="reopened"),
    ActionSpec("debrief", "The structured review of a resolved escalation",
               fields={"what_worked": TEXT, "what_did_not": TEXT, "root_cause": TEXT,
                       "lessons": TEXTS, "actions": TEXTS},
               template="debrief", transitions=_to(DEBRIEFED, "resolved"),
               moves_state=True, stops=ALL_CLOCKS, milestone="debriefed",
               labelled_text=True, ends_ownership=True),
    ActionSpec("update", "A status update: progress, next steps, next update due",
               fields={"note": TEXT, "next_steps": TEXT, "workaround": BOOL},
               template="update", transitions=_from("live"),
               authority=BY_OWNER_OR_LIAISON, starts=("update",), informs=True),
    ActionSpec("note", "An internal note: no clock moves, nobody changes",
               fields={"note": TEXT}, required=("note",), template="note",
               transitions=_from("live", "resolved"), authority=BY_INVOLVED, informs=True),
    ActionSpec("reassign", "Governance names a new owner",
               fields={"to": HANDLE, "reason": TEXT}, required=("to", "reason"),
               template="reassign",
               transitions=_also(_from("opened", "working"), _back_to_origin(HANDED_OFF)),
               owner=TARGET_OWNS, authority=BY_GOVERNANCE, names_actor="to",
               # Naming an owner is no acknowledgment: the acknowledge clock runs on.
               starts=("update",), stops=("handoff",), fold=_reassigned,
               began="reassigned"),
    ActionSpec("add-watcher", "Keep someone in the loop",
               fields={"handle": HANDLE}, required=("handle",), template="add-watcher",
               transitions=_from("live", "resolved"), authority=BY_OWNER_OR_SELF,
               names_actor="handle", fold=_add_watcher, unchanged=_already_watching),
    ActionSpec("add-collaborator", "Bring in an expert without a transfer",
               fields={"handle": HANDLE, "note": TEXT}, required=("handle",),
               template="add-collaborator", transitions=_from("live", "resolved"),
               authority=BY_OWNER, names_actor="handle", fold=_add_collaborator,
               unchanged=_already_collaborating),
    ActionSpec("assign-liaison", "Name the liaison who coordinates teams",
               fields={"handle": HANDLE}, required=("handle",), template="assign-liaison",
               transitions=_from("live", "resolved"), authority=BY_LIAISON,
               names_actor="handle", fold=_assign_liaison, unchanged=_already_liaison),
    ActionSpec("legal-hold", "Stop erasure and retention sweeps",
               fields={"reason": TEXT}, required=("reason",), template="legal-hold",
               transitions=_from("all"), fold=_legal_hold, unchanged=_already_held),
    ActionSpec("release-hold", "Lift a legal hold",
               fields={"reason": TEXT}, required=("reason",), template="release-hold",
               transitions=_from("all"), fold=_release_hold, unchanged=_not_held),
    ActionSpec("sla-breached", "A clock passed its deadline; an acting owner covers",
               authority=BY_SYSTEM, fold=_breached, began="temporary-cover",
               cover=ASSIGNS_COVER,
               milestone="breach", requestable=False),
    ActionSpec("acting-owner-released", "The blocker cleared: the acting owner steps back",
               authority=BY_SYSTEM, fold=_acting_released, cover=RELEASES_COVER,
               requestable=False),
    ActionSpec("notified", "Who was told of an event", authority=BY_SYSTEM,
               requestable=False, informs=True),
    ActionSpec("content-erased", "Personal content erased: texts and salts deleted",
               authority=BY_SYSTEM, requestable=False),
)

CATALOGUE: dict[str, ActionSpec] = {spec.name: spec for spec in _SPECS}

# Actions asked for on an existing escalation through the API, in catalogue order.
REQUESTABLE = tuple(s.name for s in _SPECS if s.requestable and s.transitions is not None)
# Every action a role may be granted in a policy ("open" creates the escalation).
GRANTABLE = ("open", *REQUESTABLE)
# Actions that exist to inform: the only ones that may change nothing else.
INFORMATIONAL = frozenset(s.name for s in _SPECS if s.informs)
# Actions only the accountable owner (or governance over the tier) may take.
OWNER_ACTIONS = frozenset(s.name for s in _SPECS if s.authority == BY_OWNER)
# Payload fields that may hold personal data or free text. The ledger keeps only a
# salted commitment to each; the words live in an erasable content store.
PERSONAL_FIELDS = frozenset(
    {*OPEN_PERSONAL, *(f for s in _SPECS for f in s.text_fields)})


def spec(action: str) -> ActionSpec | None:
    """The catalogue entry of an action, or None."""
    return CATALOGUE.get(action)
