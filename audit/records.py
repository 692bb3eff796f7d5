"""Ledger rows decoded for people: personal text joined back, erased fields marked."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from sqlalchemy import Connection, bindparam, select

from audit.projection import parse_time
from audit.schema import content, erasures, ledger
from workflow.model import Event


def _joined(conn: Connection, seqs: list[int], expected: int
            ) -> tuple[dict[tuple[int, str], Any], dict[tuple[int, str], dict[str, str]]]:
    texts: dict[tuple[int, str], Any] = {}
    erased: dict[tuple[int, str], dict[str, str]] = {}
    for i in range(0, len(seqs), 500):
        part = seqs[i:i + 500]
        for row in conn.execute(select(content.c.seq, content.c.field, content.c.text)
                                .where(content.c.seq.in_(part))):
            texts[(row.seq, row.field)] = row.text
    if len(texts) == expected:
        return texts, erased  # nothing missing: no erasure to look up
    for i in range(0, len(seqs), 500):
        part = seqs[i:i + 500]
        for row in conn.execute(select(erasures).where(erasures.c.seq.in_(part))):
            erased[(row.seq, row.field)] = {"at": row.erased_at, "by": row.erased_by,
                                            "erasure_seq": row.erase_seq}
    return texts, erased


def decode(rows: Iterable[Any], conn: Connection) -> list[dict[str, Any]]:
    """Ledger rows as records: the event's facts, its texts, and what was erased."""
    rows = list(rows)
    bodies = [json.loads(row.body) for row in rows]
    expected = sum(1 for b in bodies for v in b.get("payload", {}).values()
                   if isinstance(v, dict) and "commitment" in v)
    texts, erased = _joined(conn, [r.seq for r in rows], expected)
    out = []
    for row, body in zip(rows, bodies, strict=True):
        payload: dict[str, Any] = {}
        gone: dict[str, Any] = {}
        for key, value in body.get("payload", {}).items():
            if isinstance(value, dict) and "commitment" in value:
                text = texts.get((row.seq, key))
                if text is None:
                    payload[key] = None
                    gone[key] = erased.get((row.seq, key), {"at": None, "by": None})
                else:
                    payload[key] = json.loads(text) if value.get("list") else text
            else:
                payload[key] = value
        body["payload"] = payload
        body["erased"] = gone
        out.append(body)
    return out


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


_OPEN_EVENT = select(ledger.c.seq, ledger.c.body).where(
    ledger.c.escalation_id == bindparam("e"), ledger.c.escalation_seq == 0)
_CONTENT_OF = select(content.c.field, content.c.text).where(content.c.seq == bindparam("s"))
_ERASED_OF = select(erasures).where(erasures.c.seq == bindparam("s"))
OPENING_TEXTS = ("title", "description", "customer_name", "customer_contact")


def _one_escalation_texts(conn: Connection, escalation_id: str) -> dict[str, dict[str, Any]]:
    row = conn.execute(_OPEN_EVENT, {"e": escalation_id}).first()
    if row is None:
        return {}
    payload = json.loads(row.body).get("payload", {})
    committed = [k for k, v in payload.items() if isinstance(v, dict) and "commitment" in v]
    texts = dict(conn.execute(_CONTENT_OF, {"s": row.seq}).all())
    erased: dict[str, Any] = {}
    if len(texts) < len(committed):
        erased = {r.field: {"at": r.erased_at, "by": r.erased_by, "erasure_seq": r.erase_seq}
                  for r in conn.execute(_ERASED_OF, {"s": row.seq})}
    out: dict[str, Any] = {k: texts.get(k) for k in OPENING_TEXTS}
    out["erased"] = {k: erased.get(k, {"at": None, "by": None}) for k in committed
                     if k not in texts}
    return {escalation_id: out}


def escalation_texts(conn: Connection, ids: list[str]) -> dict[str, dict[str, Any]]:
    """The personal fields given at opening (title, description, customer name and
    contact) of each escalation, with what was erased."""
    if not ids:
        return {}
    if len(ids) == 1:
        return _one_escalation_texts(conn, ids[0])
    rows = conn.execute(select(ledger).where(ledger.c.escalation_id.in_(ids),
                                             ledger.c.escalation_seq == 0)).all()
    out = {}
    for rec in decode(rows, conn):
        p = rec["payload"]
        out[rec["escalation_id"]] = {
            "title": p.get("title"), "description": p.get("description"),
            "customer_name": p.get("customer_name"),
            "customer_contact": p.get("customer_contact"), "erased": rec["erased"],
        }
    return out
