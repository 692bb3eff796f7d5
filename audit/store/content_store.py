"""The erasable content table behind workflow's ContentStore port: texts and salts of
personal fields, deleted on erasure with a note of who, when and under which event."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import delete, insert, select

from audit.store.schema import content, erasures
from workflow.model import rfc3339

if TYPE_CHECKING:
    from audit.store.uow import SqlUnitOfWork


class SqlContent:
    """Personal texts of one unit of work's transaction."""

    def __init__(self, uow: SqlUnitOfWork):
        self._uow = uow

    def fields_of(self, escalation_id: str) -> list[tuple[int, str]]:
        """(seq, field) of every personal text still held for an escalation."""
        rows = self._uow.conn.execute(select(content.c.seq, content.c.field).where(
            content.c.escalation_id == escalation_id).order_by(content.c.seq)).all()
        return [(r.seq, r.field) for r in rows]

    def erase(self, escalation_id: str, fields: list[tuple[int, str]], *, erased_by: str,
              at: datetime, erase_seq: int) -> None:
        """Delete the texts and salts, and note the erasure of each field."""
        conn = self._uow.conn
        conn.execute(insert(erasures), [
            {"seq": seq, "field": name, "escalation_id": escalation_id,
             "erased_at": rfc3339(at), "erased_by": erased_by, "erase_seq": erase_seq}
            for seq, name in fields])
        conn.execute(delete(content).where(content.c.escalation_id == escalation_id))
        # Stored idempotent responses may quote the erased text: their bodies go too.
        self._uow.idempotency.forget(escalation_id)
        self._uow.erased = True  # the commit then empties SQLite's WAL of the old pages
