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

import sys

from workflow import action_effects as fx
from workflow import customer_effects as cx

# The vocabulary entries are written in, for those who read it here (one definition:
# workflow.action_spec).
from workflow.action_spec import ACKNOWLEDGMENT as ACKNOWLEDGMENT
from workflow.action_spec import ACTING_OWNER as ACTING_OWNER
from workflow.action_spec import ACTOR_OWNS as ACTOR_OWNS
from workflow.action_spec import ALL_CLOCKS as ALL_CLOCKS
from workflow.action_spec import ASSIGNS_COVER as ASSIGNS_COVER
from workflow.action_spec import BY_CUSTOMER_OR_OWNER as BY_CUSTOMER_OR_OWNER
from workflow.action_spec import BY_ELIGIBILITY as BY_ELIGIBILITY
from workflow.action_spec import BY_GOVERNANCE as BY_GOVERNANCE
from workflow.action_spec import BY_INVOLVED as BY_INVOLVED
from workflow.action_spec import BY_ITEM_OWNER as BY_ITEM_OWNER
from workflow.action_spec import BY_LIAISON as BY_LIAISON
from workflow.action_spec import BY_OWNER as BY_OWNER
from workflow.action_spec import BY_OWNER_OR_LIAISON as BY_OWNER_OR_LIAISON
from workflow.action_spec import BY_OWNER_OR_SELF as BY_OWNER_OR_SELF
from workflow.action_spec import BY_PROPOSED_OWNER as BY_PROPOSED_OWNER
from workflow.action_spec import BY_ROLE as BY_ROLE
from workflow.action_spec import BY_SYSTEM as BY_SYSTEM
from workflow.action_spec import EVERY as EVERY
from workflow.action_spec import FIRST as FIRST
from workflow.action_spec import GOVERNOR as GOVERNOR
from workflow.action_spec import ITEM_OWNER as ITEM_OWNER
from workflow.action_spec import KEEPS as KEEPS
from workflow.action_spec import LATEST as LATEST
from workflow.action_spec import OPEN_PERSONAL as OPEN_PERSONAL
from workflow.action_spec import OWNER as OWNER
from workflow.action_spec import PER_TIER as PER_TIER
from workflow.action_spec import PROPOSED_OWNER as PROPOSED_OWNER
from workflow.action_spec import RELEASES_COVER as RELEASES_COVER
from workflow.action_spec import REOPENS_UNLESS_CONFIRMED as REOPENS_UNLESS_CONFIRMED
from workflow.action_spec import TARGET_OWNS as TARGET_OWNS
from workflow.action_spec import TEAM as TEAM
from workflow.action_spec import UNOWNED_TEAM as UNOWNED_TEAM
from workflow.action_spec import WATCHERS as WATCHERS
from workflow.action_spec import ActionSpec as ActionSpec
from workflow.action_spec import Fold as Fold
from workflow.action_spec import Milestone as Milestone
from workflow.action_spec import Prepare as Prepare
from workflow.action_spec import Transitions as Transitions
from workflow.action_spec import Unchanged as Unchanged
from workflow.field_kinds import (
    BOOL,
    CHOICE,
    DURATION,
    GRANT,
    HANDLE,
    ITEMS,
    MOMENT,
    PROMISE,
    RATING,
    REF,
    TEXT,
    TEXTS,
    TIER,
    TRIGGER,
)

# The kinds' limits, for those who read them here (one definition: workflow.field_kinds).
from workflow.field_kinds import CHOICES as CHOICES
from workflow.field_kinds import MAX_HANDLE as MAX_HANDLE
from workflow.field_kinds import MAX_ITEMS as MAX_ITEMS
from workflow.field_kinds import MAX_REF as MAX_REF
from workflow.field_kinds import MAX_TEXT as MAX_TEXT
from workflow.states import DEBRIEFED, HANDED_OFF, RESOLVED
from workflow.system_events import SYSTEM_EVENTS

_SPECS = (
    ActionSpec("open", "Open an escalation at tier 0",
               fields={"title": TEXT, "description": TEXT}, fold=fx.opened,
               starts=("acknowledge", "resolve"), milestone=Milestone("opened"),
               tells=(TEAM,), asks_to_act=True, gauge="opened"),
    ActionSpec("acknowledge", "Take ownership; the acknowledgment clock stops",
               fields={"note": TEXT, "promise_made": PROMISE}, template="acknowledge",
               prepare=cx.prepare_acknowledge,
               transitions=fx.acknowledge_moves, moves_state=True, owner=ACTOR_OWNS,
               authority=BY_ELIGIBILITY, starts=("update",), stops=("acknowledge",),
               fold=cx.acknowledged, began="acknowledged",
               milestone=Milestone("first_acknowledged", FIRST), debrief="promise",
               metric="first-response", gauge="acknowledged",
               refused_why="already acknowledged at this tier"),
    ActionSpec("escalate", "Move up a tier (the escalation path chooses the team)",
               fields={"reason": TEXT, "trigger": TRIGGER, "to_tier": TIER},
               required=("reason", "trigger"), template="escalate",
               transitions=fx.escalate_moves, moves_state=True, authority=BY_OWNER,
               starts=("acknowledge",), fold=fx.escalated,
               milestone=Milestone("tiers_reached", PER_TIER), tells=(TEAM,), asks_to_act=True,
               metric="tier-reached", targets_tier=True),
    ActionSpec("hand-off", "Propose a new owner, with context (warm handoff)",
               fields={"to": HANDLE, "context": TEXT}, required=("to", "context"),
               template="hand-off", transitions=fx.goes_to(HANDED_OFF, "working"),
               moves_state=True, authority=BY_OWNER, names_actor="to", starts=("handoff",),
               fold=fx.hand_off, timeline="handoffs", tells=(PROPOSED_OWNER,),
               asks_to_act=True, facts={"proposed_owner": "to"}),
    ActionSpec("accept-handoff", "The proposed owner takes it",
               fields={"note": TEXT}, transitions=fx.back_to_origin(HANDED_OFF),
               moves_state=True, owner=ACTOR_OWNS, authority=BY_PROPOSED_OWNER,
               starts=("update",), stops=("handoff",), fold=fx.handoff_accepted,
               acknowledges=True, began="accepted-handoff", handoff_outcome="accepted"),
    ActionSpec("decline-handoff", "The proposed owner declines; it stays with the owner",
               fields={"reason": TEXT}, required=("reason",), template="decline-handoff",
               transitions=fx.back_to_origin(HANDED_OFF), moves_state=True,
               authority=BY_PROPOSED_OWNER, stops=("handoff",), fold=fx.handoff_answered,
               handoff_outcome="declined", tells=(GOVERNOR,), asks_to_act=True),
    ActionSpec("withdraw-handoff", "The owner withdraws a pending hand-off",
               fields={"reason": TEXT}, required=("reason",), template="withdraw-handoff",
               transitions=fx.back_to_origin(HANDED_OFF), moves_state=True,
               authority=BY_OWNER, stops=("handoff",), fold=fx.handoff_answered,
               handoff_outcome="withdrawn"),
    ActionSpec("resolve", "Resolve, with a summary and what the resolution grants",
               fields={"summary": TEXT, "grant": GRANT, "workaround": BOOL},
               template="resolve", transitions=fx.goes_to(RESOLVED, "working"), moves_state=True,
               authority=BY_OWNER, stops=ALL_CLOCKS, starts=("follow_up",), fold=fx.resolved,
               milestone=Milestone("resolved"), debrief="resolution", metric="resolved"),
    ActionSpec("reopen", "The customer was not satisfied: a repeat escalation",
               fields={"reason": TEXT}, required=("reason",), template="reopen",
               transitions=fx.back_to_origin(RESOLVED), moves_state=True,
               starts=("update", "resolve"), stops=("follow_up",), fold=fx.reopened,
               milestone=Milestone("reopened", EVERY, clears="resolved")),
    ActionSpec("debrief", "The structured review of a resolved escalation",
               fields={"what_worked": TEXT, "what_did_not": TEXT, "root_cause": TEXT,
                       "lessons": TEXTS, "actions": ITEMS},
               template="debrief", transitions=fx.goes_to(DEBRIEFED, "resolved"),
               moves_state=True, stops=ALL_CLOCKS, milestone=Milestone("debriefed"),
               debrief="review", gauge="debriefs",
               labelled_text=True, ends_ownership=True, prepare=fx.prepare_debrief,
               fold=fx.debriefed),
    ActionSpec("update", "A status update: progress, next steps, next update due",
               fields={"note": TEXT, "next_steps": TEXT, "workaround": BOOL},
               template="update", transitions=fx.stays_in("live"),
               authority=BY_OWNER_OR_LIAISON, starts=("update",), informs=True),
    ActionSpec("note", "An internal note: no clock moves, nobody changes",
               fields={"note": TEXT}, required=("note",), template="note",
               transitions=fx.stays_in("live", "resolved"), authority=BY_INVOLVED, informs=True),
    ActionSpec("promise", "Commit to the customer: a callback, an update or the resolution, "
               "by a time; a clock like the SLA's",
               fields={"kind": CHOICE, "by": MOMENT, "within": DURATION, "note": TEXT},
               required=("kind",), one_of=("by", "within"), template="promise",
               transitions=fx.stays_in("live"), authority=BY_INVOLVED,
               prepare=cx.prepare_new_promise, fold=cx.promised, debrief="promise",
               gauge="promises"),
    ActionSpec("contact-customer", "A customer-facing contact; it keeps the promise it "
               "names, or every running callback and update promise",
               fields={"channel": CHOICE, "summary": TEXT, "outcome": TEXT, "promise": REF},
               required=("channel", "summary"), template="contact-customer",
               transitions=fx.stays_in("live", "resolved"), authority=BY_INVOLVED,
               prepare=cx.prepare_contact, fold=cx.contacted, informs=True,
               debrief="contact", gauge="contacts"),
    ActionSpec("issue-feedback-link", "A one-time link for the customer to confirm the "
               "resolution (POST …/feedback-link)",
               transitions=fx.stays_in("resolved"), authority=BY_OWNER,
               prepare=cx.prepare_feedback_link, fold=cx.link_issued,
               own_route="feedback-link"),
    ActionSpec("confirm-resolution", "The customer confirms (or not) that it is resolved; "
               "not confirmed reopens it as a repeat",
               fields={"confirmed": BOOL, "csat": RATING, "comment": TEXT, "link": REF},
               required=("confirmed",), template="confirm-resolution",
               transitions=fx.stays_in("resolved"), authority=BY_CUSTOMER_OR_OWNER,
               stops=("follow_up",), prepare=cx.prepare_confirmation, fold=cx.confirmation,
               unchanged=cx.already_confirmed, debrief="confirmation", gauge="confirmations",
               after=REOPENS_UNLESS_CONFIRMED),
    ActionSpec("complete-action", "The owner of a debrief action item completes it",
               fields={"item": REF, "note": TEXT}, required=("item",),
               template="complete-action", transitions=fx.stays_in("debriefed"),
               authority=BY_ITEM_OWNER, prepare=fx.prepare_completion,
               fold=fx.item_completed, unchanged=fx.already_completed, debrief="item-done",
               gauge="completions"),
    ActionSpec("reassign", "Governance names a new owner",
               fields={"to": HANDLE, "reason": TEXT}, required=("to", "reason"),
               template="reassign",
               transitions=fx.together(fx.stays_in("opened", "working"),
                                       fx.back_to_origin(HANDED_OFF)),
               owner=TARGET_OWNS, authority=BY_GOVERNANCE, names_actor="to",
               # Naming an owner is no acknowledgment: the acknowledge clock runs on.
               starts=("update",), stops=("handoff",), fold=fx.handoff_answered,
               began="reassigned", handoff_outcome="reassigned"),
    ActionSpec("add-watcher", "Keep someone in the loop",
               fields={"handle": HANDLE}, required=("handle",), template="add-watcher",
               transitions=fx.stays_in("live", "resolved"), authority=BY_OWNER_OR_SELF,
               names_actor="handle", fold=fx.add_watcher, unchanged=fx.already_watching),
    ActionSpec("add-collaborator", "Bring in an expert without a transfer",
               fields={"handle": HANDLE, "note": TEXT}, required=("handle",),
               template="add-collaborator", transitions=fx.stays_in("live", "resolved"),
               authority=BY_OWNER, names_actor="handle", fold=fx.add_collaborator,
               unchanged=fx.already_collaborating),
    ActionSpec("assign-liaison", "Name the liaison who coordinates teams",
               fields={"handle": HANDLE}, required=("handle",), template="assign-liaison",
               transitions=fx.stays_in("live", "resolved"), authority=BY_LIAISON,
               names_actor="handle", fold=fx.assign_liaison, unchanged=fx.already_liaison),
    ActionSpec("legal-hold", "Stop erasure and retention sweeps",
               fields={"reason": TEXT}, required=("reason",), template="legal-hold",
               transitions=fx.stays_in("all"), fold=fx.legal_hold, unchanged=fx.already_held),
    ActionSpec("release-hold", "Lift a legal hold",
               fields={"reason": TEXT}, required=("reason",), template="release-hold",
               transitions=fx.stays_in("all"), fold=fx.release_hold, unchanged=fx.not_held),
    *SYSTEM_EVENTS,
)

CATALOGUE: dict[str, ActionSpec] = {}


def _derive() -> None:
    """The sets every reader of the catalogue uses, from its entries."""
    global REQUESTABLE, ACTION_ROUTES, GRANTABLE, INFORMATIONAL, OWNER_ACTIONS
    global PERSONAL_FIELDS
    specs = tuple(CATALOGUE.values())
    # Actions asked for on an existing escalation through the API, in catalogue order.
    REQUESTABLE = tuple(s.name for s in specs if s.requestable and s.transitions is not None)
    # Those served at POST /escalations/{id}/actions/{action} (the others have a route of
    # their own).
    ACTION_ROUTES = tuple(s.name for s in specs if s.name in REQUESTABLE and not s.own_route)
    # Every action a role may be granted in a policy ("open" creates the escalation).
    GRANTABLE = ("open", *REQUESTABLE)
    # Actions that exist to inform: the only ones that may change nothing else.
    INFORMATIONAL = frozenset(s.name for s in specs if s.informs)
    # Actions only the accountable owner (or governance over the tier) may take.
    OWNER_ACTIONS = frozenset(s.name for s in specs if s.authority == BY_OWNER)
    # Payload fields that may hold personal data or free text. The ledger keeps only a
    # salted commitment to each; the words live in an erasable content store.
    PERSONAL_FIELDS = frozenset({*OPEN_PERSONAL, *(f for s in specs for f in s.text_fields)})


_DERIVED = ("REQUESTABLE", "ACTION_ROUTES", "GRANTABLE", "INFORMATIONAL", "OWNER_ACTIONS",
            "PERSONAL_FIELDS")


def declare(*specs: ActionSpec) -> None:
    """Add actions to the catalogue (a test's throwaway action, an organisation's own)
    before anything has read it: the API's routes and schemas, the lifecycle and the
    policy's grants are built from it once, at import. Refused (RuntimeError) after."""
    me = sys.modules[__name__]
    held = {id(getattr(me, name)) for name in _DERIVED}
    readers = sorted(name for name, module in list(sys.modules.items())
                     if module is not me and module is not None
                     and any(id(getattr(module, n, None)) in held for n in _DERIVED))
    if readers:
        raise RuntimeError(f"declare actions before anything reads the catalogue; read by "
                           f"{', '.join(readers)}")
    for spec in specs:
        if spec.name in CATALOGUE:
            raise ValueError(f"the catalogue already has an action {spec.name!r}")
        CATALOGUE[spec.name] = spec
    _derive()


def labelled(attribute: str, label: str) -> tuple[str, ...]:
    """The actions whose entry gives `attribute` the value `label` (e.g. gauge
    "breaches"), in catalogue order: how a read model finds the actions it counts."""
    return tuple(s.name for s in CATALOGUE.values() if getattr(s, attribute) == label)


CATALOGUE.update((spec.name, spec) for spec in _SPECS)
REQUESTABLE: tuple[str, ...]
ACTION_ROUTES: tuple[str, ...]
GRANTABLE: tuple[str, ...]
INFORMATIONAL: frozenset[str]
OWNER_ACTIONS: frozenset[str]
PERSONAL_FIELDS: frozenset[str]
_derive()
