"""Escalations as the API shows them: what audit.reads.shown reads, with the SLA and the
actions the caller may take, in EscalationSchema's shape (no database access here)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from api.schemas import EscalationSchema
from audit.reads.records import OPENING_FIELDS
from audit.reads.shown import Shown
from workflow import services, sla
from workflow.model import Actor, Escalation, rfc3339
from workflow.policy import Policy


def _computed(esc: Escalation, texts: dict[str, Any], actor: Actor, policy: Policy,
              now: datetime, handoff: dict[str, Any] | None,
              related: list[str] | None) -> dict[str, Any]:
    """The fields that are not an attribute of the escalation as it is."""
    erased = texts.get("erased", {})
    return {
        "title": texts.get("title"),
        "description": texts.get("description"),
        "customer": {"id": esc.customer_id, "name": texts.get("customer_name"),
                     "contact": texts.get("customer_contact"), "value": esc.customer_value},
        "created_at": rfc3339(esc.created_at) if esc.created_at else None,
        "updated_at": rfc3339(esc.updated_at) if esc.updated_at else None,
        "sla": sla.status(esc, now),
        "handoff": handoff,
        "related": related,
        "erased": {k: erased[k] for k in OPENING_FIELDS if k in erased},
        "allowed_actions": services.allowed_actions(esc, actor, policy),
        "allowed_operations": [
            {"action": action, "method": "POST", "href": f"/api/v1/escalations/{esc.id}/{route}"}
            for action, route in services.allowed_operations(esc, actor, policy)],
    }


# The representation is EscalationSchema's shape: every documented field that is not
# computed is the escalation's attribute of that name, so a field documented in the
# schema is shown, and nothing undocumented is. (Built directly rather than through a
# marshmallow dump, which cost more than the rest of a write's response.)
_SHAPE = tuple(EscalationSchema().fields)
_COMPUTED = frozenset(("title", "description", "customer", "created_at", "updated_at",
                       "sla", "handoff", "related", "erased", "allowed_actions",
                       "allowed_operations"))
_ATTRIBUTES = tuple(name for name in _SHAPE if name not in _COMPUTED)


def escalation(shown: Shown, actor: Actor, policy: Policy, now: datetime) -> dict[str, Any]:
    """One escalation as shown (audit.reads.shown), in EscalationSchema's shape, with the
    actions `actor` may take now."""
    esc = shown.escalation
    computed = _computed(esc, shown.texts, actor, policy, now, shown.handoff, shown.related)
    return {name: computed[name] if name in _COMPUTED else getattr(esc, name)
            for name in _SHAPE}
