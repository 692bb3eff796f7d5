"""Ownership trails: who owned an escalation (and who covered for them), when and why."""

from __future__ import annotations

import base64
import json
import re
from datetime import datetime
from typing import Any, NamedTuple

from sqlalchemy import Connection, or_, select

from audit.reads import read_digests
from audit.store.projection import parse_time
from audit.store.schema import escalations, ownership_spans
from workflow.errors import PayloadInvalid
from workflow.model import rfc3339
from workflow.ownership import OWNER, began_as, span_changes


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


def owner_at(spans: list[dict[str, Any]], moment: datetime,
             opened_at: str | None = None) -> dict[str, Any]:
    """Who owned (and who was acting) at an instant; with `opened_at` (the open event's
    time), whether the escalation existed yet: before it, nobody owned it because there
    was nothing to own, which `existed: false` says."""
    found: dict[str, Any] = {"at": moment.isoformat(), "owner": None, "acting_owner": None,
                             "owner_span": None, "acting_span": None}
    if opened_at is not None:
        opened = parse_time(opened_at)
        assert opened is not None
        found.update(existed=moment >= opened, opened_at=opened_at)
    for span in spans:
        start = parse_time(span["from"])
        end = parse_time(span["to"])
        assert start is not None
        if start <= moment and (end is None or moment < end):
            key = "owner" if span["kind"] == "owner" else "acting_owner"
            found[key] = span["owner"]
            found[f"{'owner' if key == 'owner' else 'acting'}_span"] = span
    return found


# The kind of read digest a trail is kept as; a new shape of span takes a new number.
DIGEST = "trail-1"


class SpanPage(NamedTuple):
    """An actor's spans in trail order, and the cursor of the next page (None on the last)."""

    spans: list[dict[str, Any]]
    next_cursor: str | None


# A cursor is the last span's key (from, escalation id, began_seq, kind: owner first, as a
# trail starts them) as base64url JSON; whatever else is sent is refused as not ours.
CURSOR_PATTERN = r"^[A-Za-z0-9_-]{1,400}$"
_CURSOR = re.compile(CURSOR_PATTERN)
_NOT_OURS = PayloadInvalid({"cursor": "not a cursor from this API"})
_LAST = 2**63 - 1  # past every began_seq: a cursor after every span of its prefix
SpanKey = tuple[str, str, int, int]


def _key(span: dict[str, Any]) -> SpanKey:
    return (span["from"], span["escalation_id"], span["began_seq"],
            0 if span["kind"] == OWNER else 1)


def _encode(key: SpanKey) -> str:
    return base64.urlsafe_b64encode(json.dumps(list(key)).encode()).decode().rstrip("=")


def _decode(cursor: str) -> SpanKey:
    if not _CURSOR.fullmatch(cursor):
        raise _NOT_OURS
    try:
        key = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except ValueError as exc:  # not base64, not UTF-8 or not JSON
        raise _NOT_OURS from exc
    if not (isinstance(key, list) and len(key) == 4 and isinstance(key[0], str)
            and isinstance(key[1], str) and all(type(k) is int for k in key[2:])):
        raise _NOT_OURS
    return key[0], key[1], key[2], key[3]


def _starts(conn: Connection, handle: str, since: datetime | None,
            until: datetime | None) -> list[tuple[str, str]]:
    """(start, escalation id) of each span of `handle` the ownership_spans projection has
    overlapping the period, in order (the projection starts a row for every span a trail
    starts, at the same instant)."""
    query = select(ownership_spans.c.started_at, ownership_spans.c.escalation_id).where(
        ownership_spans.c.owner == handle)
    if until is not None:
        query = query.where(ownership_spans.c.started_at < rfc3339(until))
    if since is not None:
        query = query.where(or_(ownership_spans.c.ended_at.is_(None),
                                ownership_spans.c.ended_at > rfc3339(since)))
    return sorted((row[0], row[1]) for row in conn.execute(query))


def _overlaps(span: dict[str, Any], since: datetime | None, until: datetime | None) -> bool:
    start, end = parse_time(span["from"]), parse_time(span["to"])
    assert start is not None
    if until is not None and start >= until:
        return False
    return since is None or end is None or end > since


def actor_page(conn: Connection, handle: str, since: datetime | None,
               until: datetime | None, limit: int | None = None,
               cursor: str | None = None) -> SpanPage:
    """Up to `limit` spans in which `handle` owned or covered an escalation, overlapping a
    period, after `cursor`, ordered by start (then escalation, then as its trail has
    them). The projection says which escalations and where the page ends; each trail
    comes from the escalation's digest (audit.reads.read_digests), folded from its history
    when missing or stale."""
    after = _decode(cursor) if cursor is not None else None
    starts = _starts(conn, handle, since, until)
    if after is not None:
        starts = [s for s in starts if s >= after[:2]]
    taken = len(starts)
    if limit is not None:
        # The page's spans start at the first `limit` starts past the cursor's (those at
        # it may be shown already); a start shared by several spans is never split.
        taken = min(taken, limit + sum(1 for s in starts if after and s == after[:2]))
        while 0 < taken < len(starts) and starts[taken] == starts[taken - 1]:
            taken += 1
    window = starts[:taken]
    ids = sorted({escalation_id for _, escalation_id in window})
    spans = []
    with read_digests.collector_paused():
        for i in range(0, len(ids), 500):
            candidates = select(escalations.c.id.label("escalation_id"),
                                escalations.c.id.label("ord")).where(
                escalations.c.id.in_(ids[i:i + 500]))
            for escalation_id, spans_of in read_digests.digests(conn, DIGEST, candidates,
                                                                trail):
                for span in spans_of:
                    found = {"escalation_id": escalation_id, **span}
                    if (span["owner"] == handle and _overlaps(span, since, until)
                            and (after is None or _key(found) > after)
                            and (not window or _key(found)[:2] <= window[-1])):
                        spans.append(found)
    spans.sort(key=_key)
    more = len(starts) > taken or (limit is not None and len(spans) > limit)
    shown = spans[:limit] if limit is not None else spans
    following = None
    if more:
        following = _encode(_key(shown[-1]) if shown else (*window[-1], _LAST, 1))
    return SpanPage(shown, following)


def actor_spans(conn: Connection, handle: str, since: datetime | None,
                until: datetime | None) -> list[dict[str, Any]]:
    """Every span in which `handle` owned or covered an escalation, overlapping a period
    (one page with no limit)."""
    return actor_page(conn, handle, since, until).spans
