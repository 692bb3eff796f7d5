"""An escalation's state and the events that move it, as plain data: what the catalogue's
folds read and write. The fold itself (Escalation.apply) is workflow.model's."""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from datetime import datetime
from typing import Any

from workflow.timestamps import rfc3339


@dataclass(frozen=True)
class Actor:
    """Someone (or something) acting: a handle, the roles it holds, its team."""

    handle: str
    roles: tuple[str, ...]
    team: str | None = None
    # (role, how it was granted) for roles granted by a provider's claim ("sso:Group").
    via: tuple[tuple[str, str], ...] = ()


# Baton itself, when it acts (sweeps, retention, bootstrapping the first policy).
SYSTEM = Actor("system", ("system",), None)


@dataclass(frozen=True)
class Event:
    """One accepted action: everything needed to replay it and to audit it."""

    escalation_id: str
    version: int
    action: str
    actor: str
    role: str
    at: datetime
    from_state: str | None
    to_state: str
    from_owner: str | None
    to_owner: str | None
    tier: int
    payload: dict[str, Any]
    policy_version: str
    rule: str


@dataclass
class EscalationState:
    """The current state of one escalation, as data (workflow.model.Escalation folds
    events into it)."""

    id: str
    category: str = ""
    severity: str = ""
    customer_id: str = ""
    customer_value: str = "standard"
    amount: dict[str, str] | None = None
    state: str = ""
    tier: int = 0
    team: str = ""
    owner: str | None = None
    acting_owner: str | None = None
    governor: str = ""
    proposed_owner: str | None = None
    awaiting_ack: bool = True
    return_to: str | None = None
    watchers: list[str] = field(default_factory=list)
    collaborators: list[str] = field(default_factory=list)
    liaison: str | None = None
    legal_hold: bool = False
    reopen_count: int = 0
    # The customer's side: promises made ({id: {kind, due, kept_at?}}), feedback links
    # ({id: issued | used}), the resolution's confirmation, the repeat it is of.
    promises: dict[str, dict[str, Any]] = field(default_factory=dict)
    feedback_links: dict[str, str] = field(default_factory=dict)
    confirmed: bool | None = None
    repeat_of: str | None = None
    # The debrief's action items: {id: {owner, due, completed_at}} (their texts are
    # personal and live in the ledger's content).
    action_items: dict[str, dict[str, Any]] = field(default_factory=dict)
    deadlines: dict[str, str] = field(default_factory=dict)
    breached: dict[str, str] = field(default_factory=dict)
    # Warnings of running clocks: {clock: {deadline, at: {threshold: moment}, given: [...]}}
    # (workflow.sla_warnings).
    warnings: dict[str, dict[str, Any]] = field(default_factory=dict)
    version: int = 0
    opened_by: str = ""
    policy_version: str = ""
    created_at: datetime | None = None
    updated_at: datetime | None = None

    def plain(self) -> dict[str, Any]:
        """The state as plain data (datetimes as RFC 3339 strings) sharing this object's
        lists and dicts: for a caller that encodes it at once (the projection's write)."""
        data = {name: getattr(self, name) for name in _FIELDS}
        for key in ("created_at", "updated_at"):
            value = data[key]
            data[key] = rfc3339(value) if value else None
        return data

    def snapshot(self) -> dict[str, Any]:
        """The state as plain data (datetimes as RFC 3339 strings)."""
        # Hand-rolled instead of dataclasses.asdict: copies of its lists and dicts.
        data = self.plain()
        for key in ("watchers", "collaborators"):
            data[key] = list(data[key])
        for key in ("deadlines", "breached", "feedback_links"):
            data[key] = dict(data[key])
        for key in ("promises", "action_items"):
            data[key] = {k: dict(v) for k, v in data[key].items()}
        data["warnings"] = {k: {"deadline": v["deadline"], "at": dict(v["at"]),
                                "given": list(v["given"])}
                            for k, v in data["warnings"].items()}
        if data["amount"] is not None:
            data["amount"] = dict(data["amount"])
        return data


_FIELDS = tuple(f.name for f in fields(EscalationState))
