"""Escalations as the API shows them: state, texts joined back, SLA, allowed actions."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection

from audit import records
from workflow import services, sla
from workflow.model import Actor, Escalation, rfc3339
from workflow.policy import Policy


def escalation(esc: Escalation, texts: dict[str, Any], actor: Actor, policy: Policy,
               now: datetime) -> dict[str, Any]:
    """One escalation's representation."""
    erased = texts.get("erased", {})
    return {
        "id": esc.id,
        "title": texts.get("title"),
        "description": texts.get("description"),
        "category": esc.category,
        "severity": esc.severity,
        "customer": {"id": esc.customer_id, "name": texts.get("customer_name"),
                     "contact": texts.get("customer_contact"), "value": esc.customer_value},
        "amount": esc.amount,
        "state": esc.state, "tier": esc.tier, "team": esc.team, "owner": esc.owner,
        "acting_owner": esc.acting_owner, "governor": esc.governor,
        "proposed_owner": esc.proposed_owner, "watchers": esc.watchers,
        "collaborators": esc.collaborators, "liaison": esc.liaison,
        "legal_hold": esc.legal_hold, "reopen_count": esc.reopen_count,
        "version": esc.version,
        "created_at": rfc3339(esc.created_at) if esc.created_at else None,
        "updated_at": rfc3339(esc.updated_at) if esc.updated_at else None,
        "sla": sla.status(esc, now),
        "erased": {k: erased[k] for k in ("title", "description", "customer_name",
                                          "customer_contact") if k in erased},
        "allowed_actions": services.allowed_actions(esc, actor, policy),
    }


def many(conn: Connection, escalations: list[Escalation], actor: Actor, policy: Policy,
         now: datetime) -> list[dict[str, Any]]:
    """Several escalations, with their texts fetched in one query."""
    texts = records.escalation_texts(conn, [e.id for e in escalations])
    return [escalation(e, texts.get(e.id, {}), actor, policy, now) for e in escalations]
