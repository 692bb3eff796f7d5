"""content keeps no copy of the escalation or the customer (about 19 B an event).

No read selects content by either: an escalation's texts are found by its events' seqs
(the ledger's (escalation_id, escalation_seq) key, then content's own), and a customer's
by the customer's escalations first. On PostgreSQL the guard that lets a text be deleted
only by the erasure event naming it finds the escalation through the ledger row at the
text's seq instead. SQLite rebuilds the table (it is WITHOUT ROWID: its key is the table).

Revision ID: 0018
Revises: 0017
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None


def _guard(escalation: str) -> str:
    return f"""
CREATE OR REPLACE FUNCTION baton_content_delete_guard() RETURNS trigger AS $$
BEGIN
  IF baton_trusted(TG_RELID) THEN RETURN OLD; END IF;
  IF NOT EXISTS (
       SELECT 1 FROM ledger l
        WHERE l.escalation_id = {escalation} AND l.action = 'content-erased'
          AND l.xmin = pg_current_xact_id()::xid
          AND (convert_from(l.body, 'UTF8')::jsonb -> 'payload' -> 'fields')
              ? (OLD.seq::text || ':' || OLD.field)) THEN
    RAISE EXCEPTION 'content %:% may be deleted only by the erasure event that names it',
                    OLD.seq, OLD.field
      USING ERRCODE = 'insufficient_privilege';
  END IF;
  RETURN OLD;
END $$ LANGUAGE plpgsql"""


_BY_SEQ = "(SELECT e.escalation_id FROM ledger e WHERE e.seq = OLD.seq)"
_COLUMNS = "seq, field, salt, text"


def _sqlite_rebuild(extra: list[sa.Column], fill: str) -> None:
    op.create_table(
        "content_new",
        sa.Column("seq", sa.BigInteger, nullable=False),
        sa.Column("field", sa.String(40), nullable=False),
        *extra,
        sa.Column("salt", sa.LargeBinary, nullable=False),
        sa.Column("text", sa.Text, nullable=False),
        sa.PrimaryKeyConstraint("seq", "field"),
        sqlite_with_rowid=False,
    )
    names = ", ".join([*(c.name for c in extra), *_COLUMNS.split(", ")])
    op.execute(f"INSERT INTO content_new ({names}) SELECT {fill} FROM content c")
    op.execute("DROP TABLE content")
    op.execute("ALTER TABLE content_new RENAME TO content")


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(_guard(_BY_SEQ))
        op.execute("ALTER TABLE content DROP COLUMN escalation_id, DROP COLUMN customer_id")
        return
    _sqlite_rebuild([], _COLUMNS)


def downgrade() -> None:
    # The columns come back filled from the ledger and the escalations, as the code
    # before this revision wrote them.
    escalation = "(SELECT l.escalation_id FROM ledger l WHERE l.seq = c.seq)"
    customer = (f"(SELECT e.customer_id FROM escalations e WHERE e.id = {escalation})")
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE content ADD COLUMN escalation_id VARCHAR(64), "
                   "ADD COLUMN customer_id VARCHAR(200)")
        op.execute("ALTER TABLE content DISABLE TRIGGER content_deleted_by_erasure")
        op.execute(f"UPDATE content c SET escalation_id = {escalation}, "
                   f"customer_id = {customer}")
        op.execute("ALTER TABLE content ENABLE TRIGGER content_deleted_by_erasure")
        op.execute(_guard("OLD.escalation_id"))
        return
    _sqlite_rebuild([sa.Column("escalation_id", sa.String(64), nullable=True),
                     sa.Column("customer_id", sa.String(200), nullable=True)],
                    f"{escalation}, {customer}, {_COLUMNS}")
