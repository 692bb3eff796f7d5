"""The erasable content table behind workflow's ContentStore port: texts and salts of
personal fields, deleted on erasure with a note of who, when and under which event."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ColumnElement, Connection, delete, insert, select

from audit.store import search_index
from audit.store.idempotency import SqlIdempotency
from audit.store.schema import content, erasures, ledger
from workflow.model import rfc3339


def _of_escalation(escalation_id: str) -> ColumnElement[bool]:
    """An escalation's content rows, found by its events' seqs (the ledger's index on
    the escalation, then content's key): content keeps no copy of the escalation."""
    return content.c.seq.in_(select(ledger.c.seq).where(
        ledger.c.escalation_id == escalation_id))


class SqlContent:
    """Personal texts, in one transaction on `conn`."""

    def __init__(self, conn: Connection, idempotency: SqlIdempotency):
        self._conn = conn
        self._idempotency = idempotency
        # Personal text was erased in this transaction: the commit then empties SQLite's
        # write-ahead log of the old pages.
        self.erased = False

    def fields_of(self, escalation_id: str) -> list[tuple[int, str]]:
        """(seq, field) of every personal text still held for an escalation."""
        rows = self._conn.execute(select(content.c.seq, content.c.field).where(
            _of_escalation(escalation_id)).order_by(content.c.seq)).all()
        return [(r.seq, r.field) for r in rows]

    def erase(self, escalation_id: str, fields: list[tuple[int, str]], *, erased_by: str,
              at: datetime, erase_seq: int) -> None:
        """Delete the texts and salts, and note the erasure of each field."""
        conn = self._conn
        conn.execute(insert(erasures), [
            {"seq": seq, "field": name, "escalation_id": escalation_id,
             "erased_at": rfc3339(at), "erased_by": erased_by, "erase_seq": erase_seq}
            for seq, name in fields])
        conn.execute(delete(content).where(_of_escalation(escalation_id)))
        search_index.forget_texts(conn, escalation_id)
        # Stored idempotent responses may quote the erased text: their bodies go too.
        self._idempotency.forget(escalation_id)
        self.erased = True
