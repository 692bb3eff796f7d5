"""Escalations as the API shows them: state, texts joined back, SLA, allowed actions."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection

from api.schemas import EscalationSchema
from audit.reads import escalation_ids, records
from audit.reads.records import OPENING_FIELDS
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


def escalation(esc: Escalation, texts: dict[str, Any], actor: Actor, policy: Policy,
               now: datetime, handoff: dict[str, Any] | None = None,
               related: list[str] | None = None) -> dict[str, Any]:
    """One escalation's representation, in EscalationSchema's shape (`handoff`: the
    pending hand-off, from records.pending_handoffs)."""
    computed = _computed(esc, texts, actor, policy, now, handoff, related)
    return {name: computed[name] if name in _COMPUTED else getattr(esc, name)
            for name in _SHAPE}


def many(conn: Connection, escalations: list[Escalation], actor: Actor, policy: Policy,
         now: datetime) -> list[dict[str, Any]]:
    """Several escalations, with their texts fetched in one query."""
    texts = records.escalation_texts(conn, [e.id for e in escalations])
    handoffs = records.pending_handoffs(conn, escalations)
    others = escalation_ids.related_many(conn, escalations)
    return [escalation(e, texts.get(e.id, {}), actor, policy, now, handoffs.get(e.id),
                       others.get(e.id, []))
            for e in escalations]
