"""An escalation as shown: its state with the opening texts joined back (title,
description, customer name and contact, what was erased), the hand-off it waits on, and
the customer's other escalations. The one read behind the API's representation
(api/representation.py), the queue page and the escalation page."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection

from audit.reads import escalation_ids, records
from audit.store import projection
from workflow.model import Escalation
from workflow.services import Outcome

if TYPE_CHECKING:
    from audit.store.uow import SqlUnitOfWork


@dataclass(frozen=True)
class Shown:
    """One escalation and what is read beside it to show it (None: not asked for)."""

    escalation: Escalation
    texts: dict[str, Any]
    handoff: dict[str, Any] | None
    related: list[str] | None


def after_write(uow: SqlUnitOfWork, outcome: Outcome) -> Shown:
    """The escalation a write just changed, read inside its transaction (a handler's
    `shown`): on PostgreSQL these are the reads the unit of work sent ahead with the
    action's own (SqlUnitOfWork.prepare_to_act), so they cost no round trip of their
    own."""
    conn, escalation = uow.conn, outcome.escalation
    texts = records.escalation_texts(conn, [escalation.id])
    handoff = records.pending_handoffs(conn, [escalation])
    related = escalation_ids.related(conn, escalation.id)
    return Shown(escalation, texts.get(escalation.id, {}), handoff.get(escalation.id),
                 related)


def many(conn: Connection, escalations: list[Escalation], *, handoffs: bool = True,
         related: bool = True) -> list[Shown]:
    """Several escalations, each part read for all of them in one query (`handoffs`,
    `related`: whether those parts are read; a page that shows neither asks for texts
    alone)."""
    texts = records.escalation_texts(conn, [e.id for e in escalations])
    pending = records.pending_handoffs(conn, escalations) if handoffs else {}
    others = escalation_ids.related_many(conn, escalations) if related else {}
    return [Shown(e, texts.get(e.id, {}), pending.get(e.id),
                  others.get(e.id, []) if related else None) for e in escalations]


def one(conn: Connection, escalation_id: str, *, handoffs: bool = True,
        related: bool = True) -> Shown | None:
    """One escalation by id, or None."""
    esc = projection.load(conn, escalation_id)
    if esc is None:
        return None
    return many(conn, [esc], handoffs=handoffs, related=related)[0]
