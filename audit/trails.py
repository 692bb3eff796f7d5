"""Ownership trails: who owned an escalation (and who covered for them), when and why."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, or_, select

from audit.projection import parse_time
from audit.records import history
from audit.schema import ownership_spans
from workflow.catalogue import CATALOGUE
from workflow.model import rfc3339

ENDS_ALL = ("debrief",)


def _began(action: str) -> str:
    """How a span started by `action` reads (the catalogue's label, else the action)."""
    spec = CATALOGUE.get(action)
    return (spec.began if spec is not None else None) or action


def _seconds(start: str, end: str | None) -> float | None:
    if end is None:
        return None
    a, b = parse_time(start), parse_time(end)
    assert a is not None and b is not None
    return (b - a).total_seconds()


def _span(owner: str, kind: str, rec: dict[str, Any]) -> dict[str, Any]:
    return {"owner": owner, "kind": kind, "from": rec["at"], "to": None,
            "duration_seconds": None, "began": _began(rec["action"]),
            "began_by": rec["actor"], "began_rule": rec["rule"], "began_seq": rec["seq"],
            "ended": None, "ended_by": None, "ended_rule": None, "ended_seq": None}


def _close(span: dict[str, Any], rec: dict[str, Any], how: str) -> None:
    span.update(to=rec["at"], ended=how, ended_by=rec["actor"], ended_rule=rec["rule"],
                ended_seq=rec["seq"], duration_seconds=_seconds(span["from"], rec["at"]))


def trail(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The spans of owner and acting owner of one escalation, from its records."""
    spans: list[dict[str, Any]] = []
    owner: dict[str, Any] | None = None
    acting: dict[str, Any] | None = None
    for rec in records:
        if rec["to_owner"] != rec["from_owner"]:
            if owner is not None:
                _close(owner, rec, f"{_began(rec['action'])} by "
                                   f"{rec['to_owner']}")
            if rec["to_owner"]:
                owner = _span(rec["to_owner"], "owner", rec)
                spans.append(owner)
        covering = rec["payload"].get("acting_owner")
        if rec["action"] == "sla-breached" and covering and (
                acting is None or acting["owner"] != covering):
            if acting is not None:
                _close(acting, rec, "replaced")
            acting = _span(covering, "acting", rec)
            spans.append(acting)
        if rec["action"] == "acting-owner-released" and acting is not None:
            _close(acting, rec, "released")
            acting = None
        if rec["action"] in ENDS_ALL:
            for open_span in (owner, acting):
                if open_span is not None:
                    _close(open_span, rec, "debriefed")
            owner = acting = None
    return spans


def owner_at(spans: list[dict[str, Any]], moment: datetime) -> dict[str, Any]:
    """Who owned (and who was acting) at an instant."""
    found: dict[str, Any] = {"at": moment.isoformat(), "owner": None, "acting_owner": None,
                             "owner_span": None, "acting_span": None}
    for span in spans:
        start = parse_time(span["from"])
        end = parse_time(span["to"])
        assert start is not None
        if start <= moment and (end is None or moment < end):
            key = "owner" if span["kind"] == "owner" else "acting_owner"
            found[key] = span["owner"]
            found[f"{'owner' if key == 'owner' else 'acting'}_span"] = span
    return found


def actor_spans(conn: Connection, handle: str, since: datetime | None,
                until: datetime | None) -> list[dict[str, Any]]:
    """Every span in which `handle` owned or covered an escalation, overlapping a period
    (candidates from the ownership_spans projection, details from the ledger)."""
    query = select(ownership_spans.c.escalation_id).where(ownership_spans.c.owner == handle)
    if until is not None:
        query = query.where(ownership_spans.c.started_at < rfc3339(until))
    if since is not None:
        query = query.where(or_(ownership_spans.c.ended_at.is_(None),
                                ownership_spans.c.ended_at > rfc3339(since)))
    ids = sorted(set(conn.execute(query).scalars()))
    out = []
    for escalation_id in ids:
        for span in trail(history(conn, escalation_id)):
            if span["owner"] != handle:
                continue
            start, end = parse_time(span["from"]), parse_time(span["to"])
            assert start is not None
            if until is not None and start >= until:
                continue
            if since is not None and end is not None and end <= since:
                continue
            out.append({"escalation_id": escalation_id, **span})
    out.sort(key=lambda s: s["from"])
    return out
