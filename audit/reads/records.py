"""Ledger rows decoded for people: personal text joined back, erased fields marked."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from sqlalchemy import Connection, bindparam, func, select

from audit.store import fast_path, policy_refs
from audit.store.projection import parse_time
from audit.store.schema import content, erasures, ledger
from workflow.model import Escalation, Event
from workflow.states import HANDED_OFF

_CONTENT_OF = select(content.c.seq, content.c.field, content.c.text).where(
    content.c.seq == bindparam("s"))
_ERASED_OF = select(erasures).where(erasures.c.seq == bindparam("s"))


def _rows_for(conn: Connection, seqs: list[int], one: Any, table: Any) -> Iterable[Any]:
    # A single event (the API's every write) takes a prebuilt statement; several go by IN.
    if len(seqs) == 1:
        yield from conn.execute(one, {"s": seqs[0]})
        return
    columns = one.selected_columns
    for i in range(0, len(seqs), 500):
        yield from conn.execute(select(*columns).where(table.c.seq.in_(seqs[i:i + 500])))


def _joined(conn: Connection, seqs: list[int], expected: int
            ) -> tuple[dict[tuple[int, str], Any], dict[tuple[int, str], dict[str, str]]]:
    texts = {(r.seq, r.field): r.text for r in _rows_for(conn, seqs, _CONTENT_OF, content)}
    if len(texts) == expected:
        return texts, {}  # nothing missing: no erasure to look up
    erased = {(r.seq, r.field): _erasure(r.erased_at, r.erased_by, r.erase_seq)
              for r in _rows_for(conn, seqs, _ERASED_OF, erasures)}
    return texts, erased


def _erasure(at: str, by: str, erasure_seq: int) -> dict[str, Any]:
    return {"at": at, "by": by, "erasure_seq": erasure_seq}


def _committed(body: dict[str, Any]) -> list[str]:
    """The payload fields held as commitments (their text lives in `content`)."""
    return [k for k, v in body.get("payload", {}).items()
            if isinstance(v, dict) and "commitment" in v]


def _restore(seq: int, body: dict[str, Any], texts: dict[tuple[int, str], Any],
             erased: dict[tuple[int, str], dict[str, Any]]) -> dict[str, Any]:
    """The record: each commitment replaced by its text, or by None and an erasure mark."""
    payload: dict[str, Any] = {}
    gone: dict[str, Any] = {}
    for key, value in body.get("payload", {}).items():
        if isinstance(value, dict) and "commitment" in value:
            text = texts.get((seq, key))
            if text is None:
                payload[key] = None
                gone[key] = erased.get((seq, key), {"at": None, "by": None})
            else:
                payload[key] = json.loads(text) if value.get("list") else text
        else:
            payload[key] = value
    body["payload"] = payload
    body["erased"] = gone
    return body


def decode(rows: Iterable[Any], conn: Connection) -> list[dict[str, Any]]:
    """Ledger rows as records: the event's facts, its texts, and what was erased."""
    rows = list(rows)
    bodies = policy_refs.records(conn, [row.body for row in rows])
    expected = sum(len(_committed(b)) for b in bodies)
    texts, erased = _joined(conn, [r.seq for r in rows], expected)
    return [_restore(row.seq, body, texts, erased)
            for row, body in zip(rows, bodies, strict=True)]


def history(conn: Connection, escalation_id: str) -> list[dict[str, Any]]:
    """Every record of one escalation, in order."""
    rows = conn.execute(select(ledger).where(ledger.c.escalation_id == escalation_id)
                        .order_by(ledger.c.seq)).all()
    return decode(rows, conn)


def to_event(record: dict[str, Any]) -> Event:
    """A domain Event from a record (texts are not needed to replay)."""
    at = parse_time(record["at"])
    assert at is not None
    return Event(
        escalation_id=record["escalation_id"], version=record["version"],
        action=record["action"], actor=record["actor"], role=record["role"], at=at,
        from_state=record["from_state"], to_state=record["to_state"],
        from_owner=record["from_owner"], to_owner=record["to_owner"], tier=record["tier"],
        payload=record["payload"], policy_version=record["policy_version"],
        rule=record["rule"],
    )


_OPENING = select(ledger.c.seq, ledger.c.body).where(ledger.c.escalation_seq == 0)
# One escalation's opening texts in one statement (every API write shows them, and may
# send it ahead: SqlUnitOfWork.prepare_to_act(…, shows=[OPENING_TEXTS])).
OPENING_TEXTS = fast_path.Query(
    "SELECT l.seq, l.body, c.field, c.text FROM ledger l LEFT JOIN content c ON c.seq = l.seq "
    "WHERE l.escalation_id = :escalation_id AND l.escalation_seq = 0")
# One escalation's latest hand-off with its texts (a write's response to a handed-off
# escalation shows it): the escalation's events newest first, by its own index (`action
# || ''` keeps the planner off ix_ledger_action_at, which would walk every hand-off of
# every escalation), then that row with its content.
LATEST_HANDOFF = fast_path.Query(
    "SELECT l.seq, l.body, c.field, c.text FROM ledger l LEFT JOIN content c ON c.seq = l.seq "
    "WHERE l.seq = (SELECT h.seq FROM ledger h WHERE h.escalation_id = :escalation_id "
    "AND h.action || '' = 'hand-off' ORDER BY h.escalation_seq DESC LIMIT 1)")
_ERASED_SQL = "SELECT field, erased_at, erased_by, erase_seq FROM erasures WHERE seq = :s"
OPENING_FIELDS = ("title", "description", "customer_name", "customer_contact")


def _texts_of(payload: dict[str, Any], erased: dict[str, Any]) -> dict[str, Any]:
    return {**{k: payload.get(k) for k in OPENING_FIELDS}, "erased": erased}


def _one_record(conn: Connection, rows: list[Any]) -> dict[str, Any] | None:
    # One event's rows (seq, body, field, text) joined with its content, on the driver
    # cursor: the same record as decode() gives.
    if not rows:
        return None
    seq = rows[0][0]
    body = policy_refs.record_at(conn, seq, rows[0][1])  # decoded once a process
    texts = {(seq, r[2]): r[3] for r in rows if r[2] is not None}
    erased = {}
    if len(texts) != len(_committed(body)):
        erased = {(seq, r[0]): _erasure(r[1], r[2], r[3])
                  for r in fast_path.read_all(conn, _ERASED_SQL, {"s": seq})}
    return _restore(seq, body, texts, erased)


def _opening_texts(conn: Connection, escalation_id: str) -> dict[str, dict[str, Any]]:
    rec = _one_record(conn, OPENING_TEXTS.fetch(conn, {"escalation_id": escalation_id}))
    if rec is None:
        return {}
    return {escalation_id: _texts_of(rec["payload"], rec["erased"])}


def escalation_texts(conn: Connection, ids: list[str]) -> dict[str, dict[str, Any]]:
    """The personal fields given at opening (title, description, customer name and
    contact) of each escalation, with what was erased."""
    if not ids:
        return {}
    if len(ids) == 1:
        return _opening_texts(conn, ids[0])
    rows = conn.execute(_OPENING.where(ledger.c.escalation_id.in_(ids))).all()
    return {rec["escalation_id"]: _texts_of(rec["payload"], rec["erased"])
            for rec in decode(rows, conn)}


def pending_handoffs(conn: Connection, escalations: list[Escalation]
                     ) -> dict[str, dict[str, Any]]:
    """The hand-off each escalation in `handed-off` waits on: to whom, by whom, when, and
    its context (None once erased), with its ledger seq."""
    waiting = [e.id for e in escalations if e.state == HANDED_OFF]
    if not waiting:
        return {}
    if len(waiting) == 1:  # a write's response: its latest hand-off alone, one statement
        rec = _one_record(conn, LATEST_HANDOFF.fetch(conn, {"escalation_id": waiting[0]}))
        latest = {} if rec is None else {waiting[0]: rec}
    else:
        # Each escalation's latest hand-off alone, by the escalations' own index.
        last = select(func.max(ledger.c.seq)).where(
            ledger.c.escalation_id.in_(waiting), ledger.c.action.concat("") == "hand-off"
        ).group_by(ledger.c.escalation_id)
        rows = conn.execute(select(ledger.c.seq, ledger.c.body).where(
            ledger.c.seq.in_(last)).order_by(ledger.c.seq)).all()
        latest = {rec["escalation_id"]: rec for rec in decode(rows, conn)}
    return {eid: {"to": rec["payload"]["to"], "by": rec["actor"], "at": rec["at"],
                  "context": rec["payload"].get("context"), "seq": rec["seq"]}
            for eid, rec in latest.items()}
