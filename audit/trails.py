"""Ownership trails: who owned an escalation (and who covered for them), when and why."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, or_, select

from audit.projection import parse_time
from audit.records import history
from audit.schema import ownership_spans
from workflow.model import rfc3339
from workflow.ownership import began_as, span_changes


def _seconds(start: str, end: str | None) -> float | None:
    if end is None:
        return None
    a, b = parse_time(start), parse_time(end)
    assert a is not None and b is not None
    return (b - a).total_seconds()


def _span(owner: str, kind: str, rec: dict[str, Any]) -> dict[str, Any]:
    return {"owner": owner, "kind": kind, "from": rec["at"], "to": None,
            "duration_seconds": None, "began": began_as(rec["action"]),
            "began_by": rec["actor"], "began_rule": rec["rule"], "began_seq": rec["seq"],
            "ended": None, "ended_by": None, "ended_rule": None, "ended_seq": None}


def _close(span: dict[str, Any], rec: dict[str, Any], how: str) -> None:
    span.update(to=rec["at"], ended=how, ended_by=rec["actor"], ended_rule=rec["rule"],
                ended_seq=rec["seq"], duration_seconds=_seconds(span["from"], rec["at"]))


def trail(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The spans of owner and acting owner of one escalation, from its records (the
    fold of workflow.ownership, which the ownership_spans projection follows too)."""
    spans: list[dict[str, Any]] = []
    open_spans: dict[str, dict[str, Any]] = {}
    for rec in records:
        for change in span_changes(rec["action"], rec["from_owner"], rec["to_owner"],
                                   rec["payload"], rec["actor"]):
            if change.owner is None:
                ended = open_spans.pop(change.kind, None)
                if ended is not None:
                    _close(ended, rec, change.ended or "")
            else:
                started = _span(change.owner, change.kind, rec)
                open_spans[change.kind] = started
                spans.append(started)
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
