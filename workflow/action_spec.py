"""What an action of the ledger is made of: the vocabulary its catalogue entry is written
in (whom it makes owner, which class of authority decides it, whom it tells, how it marks a
timeline) and the ActionSpec itself. The entries are workflow.catalogue's (the actions
people ask for) and workflow.system_events' (what Baton records itself)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from workflow import action_effects as fx
from workflow.field_kinds import KINDS

if TYPE_CHECKING:
    from datetime import datetime

    from workflow.escalation_state import EscalationState as Escalation
    from workflow.escalation_state import Event
    from workflow.policy import Policy

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
BY_CUSTOMER_OR_OWNER = "customer-or-owner"  # the customer (by link), the owner, governance
BY_ITEM_OWNER = "item-owner"  # the owner of a debrief action item
BY_SYSTEM = "system"  # Baton's own automations and administration, never asked for

# The action an action that `acknowledges` counts as, for an eligible actor.
ACKNOWLEDGMENT = "acknowledge"

# "Every running clock", whatever clocks the policy knows.
ALL_CLOCKS = ("*",)

# Whom a notification of an action tells (workflow.notify), read on the escalation after it.
OWNER, ACTING_OWNER, GOVERNOR, WATCHERS = "owner", "acting_owner", "governor", "watchers"
PROPOSED_OWNER = "proposed_owner"
ITEM_OWNER = "item_owner"  # the owner of the debrief action item the payload names
TEAM = "team"  # every member of the team it is now with (it arrived there)
UNOWNED_TEAM = "unowned_team"  # the team, while nobody owns it (nor covers)

# How an action marks a timeline milestone: the first time only, each time (the latest),
# a list of every time, or per tier reached ({tier: first time}).
FIRST, LATEST, EVERY, PER_TIER = "first", "latest", "every", "per-tier"

# What the use case does after recording an action (workflow.services).
REOPENS_UNLESS_CONFIRMED = "reopens-unless-confirmed"

ASSIGNS_COVER = "assigns"
RELEASES_COVER = "releases"

# The personal fields of the open payload (flattened), besides its free texts.
OPEN_PERSONAL = ("title", "description", "customer_name", "customer_contact")

Fold = Callable[["Escalation", "Event"], None]
Unchanged = Callable[["Escalation", "dict[str, Any]"], "tuple[str, str] | None"]
Prepare = Callable[["Escalation", "dict[str, Any]", "Policy", "datetime"], None]
Transitions = fx.Transitions


def _nothing(esc: Escalation, event: Event) -> None:
    """Most actions change nothing beyond owner, state and clocks."""


@dataclass(frozen=True)
class Milestone:
    """The timeline milestone an action marks: its key, how, and a milestone it clears."""

    key: str
    how: str = LATEST
    clears: str | None = None


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
    milestone: Milestone | None = None
    # The timeline's list it adds a row to ("handoffs": a hand-off proposed; "breaches"),
    # and how it ends a pending hand-off ("accepted", "declined", …).
    timeline: str | None = None
    handoff_outcome: str | None = None
    # The payload field naming whom it concerns on a timeline (default: names_actor).
    subject: str | None = None
    # Who is told of it (OWNER, GOVERNOR, …, TEAM); whether it asks someone to act (its
    # mail recipients are then on the record in a `notified` event); the facts its
    # notification carries from its payload ({fact: payload field}).
    tells: tuple[str, ...] = ()
    asks_to_act: bool = False
    facts: Mapping[str, str] = field(default_factory=dict)
    # Its section of the debrief pack, its label in the period metrics and in the gauges
    # (audit/reads: debrief_pack, metrics, ledger_gauges read these, never the name).
    debrief: str | None = None
    metric: str | None = None
    gauge: str | None = None
    # It moves the escalation up a tier: the escalation path chooses tier, team, governor.
    targets_tier: bool = False
    # Why the lifecycle refuses it where the action exists but the move is not open now.
    refused_why: str = ""
    # What the use case does once it is recorded (REOPENS_UNLESS_CONFIRMED).
    after: str | None = None
    # Free texts shown on a timeline as "key: value" rather than joined plainly.
    labelled_text: bool = False
    # May be asked for through the API (system events are written by Baton itself).
    requestable: bool = True
    # It exists to inform (a note, a status update, who was told): it may change
    # nothing else. Every other action must change something, or it is refused.
    informs: bool = False
    # Why the action would change nothing now (a rule id and a sentence), or None.
    unchanged: Unchanged | None = None
    # Fields of which exactly one must be given.
    one_of: tuple[str, ...] = ()
    # Completes the cleaned payload from the escalation before the event is written
    # (a promise's deadline, a debrief's items, a feedback link's checks).
    prepare: Prepare | None = None
    # Served at POST /escalations/{id}/<own_route>, not …/actions/{action}.
    own_route: str | None = None
    # It is an acknowledgment too when its actor is eligible at a tier awaiting one: the
    # event says `acknowledges: true`, the tier's acknowledgment clock stops.
    acknowledges: bool = False

    @property
    def text_fields(self) -> tuple[str, ...]:
        """Its free-text fields (personal: committed, never in the hashed bytes)."""
        return tuple(k for k, kind in self.fields.items() if KINDS[kind].personal)
