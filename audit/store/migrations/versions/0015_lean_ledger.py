"""A leaner ledger: no stored leaf_hash nor prev_chain, and on SQLite seq is the rowid.

- `leaf_hash` is SHA-256(0x00 || body) and `prev_chain` the previous row's chain_hash:
  both are derived where read (proofs and tiles hash the bodies they read, exports carry
  the chain forward), and neither is evidence (whoever can rewrite a body can rewrite its
  copies). 66 B of every row.
- On SQLite, `seq INTEGER PRIMARY KEY` is the rowid itself: the BIGINT key kept a rowid
  plus a second b-tree on seq (`sqlite_autoindex_ledger_1`), one more page written with
  every append. SQLite cannot change a primary key in place, so the table is rebuilt and
  its indexes and guards made again. PostgreSQL keeps BIGINT.
- On SQLite, `content` and `merkle_nodes` become WITHOUT ROWID tables: their primary keys
  are what they are looked up by, so the table is that key's b-tree and the second copy
  of the key goes.
- `ix_content_escalation` goes (44 B an event on SQLite once content has no rowid, whose
  entries then carry the whole key): an escalation's content, read only to erase it, is
  found by its events' seqs through the ledger's (escalation_id, escalation_seq) key.
- ownership_spans' index for closing an open span keys on the escalation alone (was:
  escalation, kind, ended_at): an escalation has a handful of spans, so the close finds
  its span among them, the index entry is a third of the size, and closing a span (which
  sets ended_at) no longer moves its entry. The per-escalation reads use it as before.
- The insert guard still refuses a seq other than the last + 1 (which also refuses
  REPLACE, upserts and gaps). The old check that the new row's prev_chain equalled the
  last chain_hash goes with the column; on PostgreSQL it becomes a stronger one, that the
  new chain_hash is SHA-256(0x02 || last chain_hash || SHA-256(0x00 || body)). SQLite has no
  SHA-256 function: there, as before, the chain itself is checked by the verifier.

Revision ID: 0015
Revises: 0014
"""

from __future__ import annotations

import hashlib

import sqlalchemy as sa
from alembic import op
from sqlalchemy.schema import SchemaItem

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None

_COLUMNS = "seq, escalation_id, escalation_seq, action, actor, owner, at, body, chain_hash"
_INDEXES = (("ix_ledger_actor_at", ["actor", "at"]), ("ix_ledger_action_at", ["action", "at"]),
            ("ix_ledger_at", ["at"]))

_SQLITE_GUARDS = (
    """CREATE TRIGGER ledger_no_update BEFORE UPDATE ON ledger
       BEGIN SELECT RAISE(ABORT, 'ledger is append-only: UPDATE refused'); END""",
    """CREATE TRIGGER ledger_no_delete BEFORE DELETE ON ledger
       BEGIN SELECT RAISE(ABORT, 'ledger is append-only: DELETE refused'); END""",
    # Requiring the next seq also defeats INSERT OR REPLACE and upserts, which would
    # otherwise bypass the delete trigger. (A NULL seq reads as -1 here: refused too.)
    """CREATE TRIGGER ledger_insert_guard BEFORE INSERT ON ledger
       BEGIN
         SELECT RAISE(ABORT, 'ledger append refused: seq must be the last seq + 1')
          WHERE NEW.seq IS NOT (SELECT COALESCE(MAX(seq), -1) + 1 FROM ledger);
       END""",
)
# 0001's, for the downgrade.
_SQLITE_GUARDS_0001 = (*_SQLITE_GUARDS[:2],
    """CREATE TRIGGER ledger_insert_guard BEFORE INSERT ON ledger
       BEGIN
         SELECT RAISE(ABORT, 'ledger append refused: seq must be the last seq + 1')
          WHERE NEW.seq IS NOT (SELECT COALESCE(MAX(seq), -1) + 1 FROM ledger);
         SELECT RAISE(ABORT, 'ledger append refused: prev_chain must be the last chain_hash')
          WHERE NEW.prev_chain IS NOT COALESCE(
            (SELECT chain_hash FROM ledger WHERE seq = NEW.seq - 1), zeroblob(32));
       END""")

_POSTGRES_GUARD = """
CREATE OR REPLACE FUNCTION baton_ledger_insert_guard() RETURNS trigger AS $$
DECLARE last_seq bigint; last_chain bytea;
BEGIN
  SELECT seq, chain_hash INTO last_seq, last_chain FROM ledger ORDER BY seq DESC LIMIT 1;
  IF NEW.seq IS DISTINCT FROM COALESCE(last_seq, -1) + 1 THEN
    RAISE EXCEPTION 'ledger append refused: seq must be the last seq + 1'
      USING ERRCODE = 'integrity_constraint_violation';
  END IF;
  IF NEW.chain_hash IS DISTINCT FROM sha256(
       '\\x02'::bytea || COALESCE(last_chain, decode(repeat('00', 32), 'hex'))
       || sha256('\\x00'::bytea || NEW.body)) THEN
    RAISE EXCEPTION 'ledger append refused: chain_hash must extend the last chain_hash'
      USING ERRCODE = 'integrity_constraint_violation';
  END IF;
  RETURN NEW;
END; $$ LANGUAGE plpgsql"""

_POSTGRES_GUARD_0001 = """
CREATE OR REPLACE FUNCTION baton_ledger_insert_guard() RETURNS trigger AS $$
DECLARE last_seq bigint; last_chain bytea;
BEGIN
  SELECT seq, chain_hash INTO last_seq, last_chain FROM ledger ORDER BY seq DESC LIMIT 1;
  IF NEW.seq IS DISTINCT FROM COALESCE(last_seq, -1) + 1 THEN
    RAISE EXCEPTION 'ledger append refused: seq must be the last seq + 1'
      USING ERRCODE = 'integrity_constraint_violation';
  END IF;
  IF NEW.prev_chain IS DISTINCT FROM COALESCE(last_chain, decode(repeat('00', 32), 'hex')) THEN
    RAISE EXCEPTION 'ledger append refused: prev_chain must be the last chain_hash'
      USING ERRCODE = 'integrity_constraint_violation';
  END IF;
  RETURN NEW;
END; $$ LANGUAGE plpgsql"""


def _ledger_columns(seq: sa.types.TypeEngine, hashes: bool) -> list[SchemaItem]:
    return [
        sa.Column("seq", seq, primary_key=True, autoincrement=False),
        sa.Column("escalation_id", sa.String(64), nullable=True),
        sa.Column("escalation_seq", sa.Integer, nullable=True),
        sa.Column("action", sa.String(40), nullable=False),
        sa.Column("actor", sa.String(64), nullable=False),
        sa.Column("owner", sa.String(64), nullable=True),
        sa.Column("at", sa.String(32), nullable=False),
        sa.Column("body", sa.LargeBinary, nullable=False),
        *([sa.Column("leaf_hash", sa.LargeBinary(32), nullable=False),
           sa.Column("prev_chain", sa.LargeBinary(32), nullable=False)] if hashes else []),
        sa.Column("chain_hash", sa.LargeBinary(32), nullable=False),
        sa.UniqueConstraint("escalation_id", "escalation_seq", name="uq_ledger_escalation_seq"),
    ]


def _swap_ledger(guards: tuple[str, ...]) -> None:
    """ledger_new takes the place of ledger (SQLite: dropping a table drops its indexes
    and triggers, and fires none)."""
    op.execute("DROP TABLE ledger")
    op.execute("ALTER TABLE ledger_new RENAME TO ledger")
    for name, columns in _INDEXES:
        op.create_index(name, "ledger", columns)
    for statement in guards:
        op.execute(statement)


def _rebuild_without_rowid(name: str, columns: list[SchemaItem], indexes: dict[str, list[str]],
                           with_rowid: bool) -> None:
    """Rebuild a SQLite table with or without its rowid (no triggers on these tables)."""
    op.create_table(f"{name}_new", *columns, sqlite_with_rowid=with_rowid)
    names = ", ".join(c.name for c in columns if isinstance(c, sa.Column))
    op.execute(f"INSERT INTO {name}_new ({names}) SELECT {names} FROM {name}")
    op.execute(f"DROP TABLE {name}")
    op.execute(f"ALTER TABLE {name}_new RENAME TO {name}")
    for index, on in indexes.items():
        op.create_index(index, name, on)


def _side_tables(with_rowid: bool) -> None:
    _rebuild_without_rowid("content", [
        sa.Column("seq", sa.BigInteger, nullable=False),
        sa.Column("field", sa.String(40), nullable=False),
        sa.Column("escalation_id", sa.String(64), nullable=True),
        sa.Column("customer_id", sa.String(200), nullable=True),
        sa.Column("salt", sa.LargeBinary, nullable=False),
        sa.Column("text", sa.Text, nullable=False),
        sa.PrimaryKeyConstraint("seq", "field"),
    ], {"ix_content_escalation": ["escalation_id"]} if with_rowid else {}, with_rowid)
    _rebuild_without_rowid("merkle_nodes", [
        sa.Column("level", sa.Integer, nullable=False),
        sa.Column("idx", sa.BigInteger, nullable=False),
        sa.Column("hash", sa.LargeBinary(32), nullable=False),
        sa.PrimaryKeyConstraint("level", "idx"),
    ], {}, with_rowid)


def upgrade() -> None:
    op.drop_index("ix_ownership_spans_open", table_name="ownership_spans")
    if op.get_bind().dialect.name == "postgresql":  # on SQLite the rebuild leaves it out
        op.drop_index("ix_content_escalation", table_name="content")
    op.create_index("ix_ownership_spans_escalation", "ownership_spans", ["escalation_id"])
    if op.get_bind().dialect.name == "postgresql":
        op.execute(_POSTGRES_GUARD)
        op.execute("ALTER TABLE ledger DROP COLUMN leaf_hash, DROP COLUMN prev_chain")
        return
    op.create_table("ledger_new", *_ledger_columns(sa.Integer(), hashes=False))
    op.execute(f"INSERT INTO ledger_new ({_COLUMNS}) SELECT {_COLUMNS} FROM ledger "
               "ORDER BY seq")
    _swap_ledger(_SQLITE_GUARDS)
    _side_tables(with_rowid=False)


def downgrade() -> None:
    bind = op.get_bind()
    op.drop_index("ix_ownership_spans_escalation", table_name="ownership_spans")
    op.create_index("ix_ownership_spans_open", "ownership_spans",
                    ["escalation_id", "kind", "ended_at"])
    if bind.dialect.name == "postgresql":
        op.execute("ALTER TABLE ledger ADD COLUMN leaf_hash bytea, ADD COLUMN prev_chain bytea")
        op.execute("ALTER TABLE ledger DISABLE TRIGGER ledger_no_update_delete")
        op.execute("""UPDATE ledger l SET leaf_hash = sha256('\\x00'::bytea || l.body),
                        prev_chain = COALESCE((SELECT p.chain_hash FROM ledger p
                                                WHERE p.seq = l.seq - 1),
                                              decode(repeat('00', 32), 'hex'))""")
        op.execute("ALTER TABLE ledger ENABLE TRIGGER ledger_no_update_delete")
        op.execute("ALTER TABLE ledger ALTER COLUMN leaf_hash SET NOT NULL, "
                   "ALTER COLUMN prev_chain SET NOT NULL")
        op.execute(_POSTGRES_GUARD_0001)
        op.create_index("ix_content_escalation", "content", ["escalation_id"])
        return
    _side_tables(with_rowid=True)
    new = op.create_table("ledger_new", *_ledger_columns(sa.BigInteger(), hashes=True))
    prev, start = bytes(32), 0
    while True:  # in slices, so that a large ledger is not held in memory at once
        rows = bind.execute(sa.text(f"SELECT {_COLUMNS} FROM ledger WHERE seq >= :start "
                                    "ORDER BY seq LIMIT 10000"), {"start": start}).all()
        if not rows:
            break
        batch = []
        for row in rows:
            values = dict(row._mapping)
            values["leaf_hash"] = hashlib.sha256(b"\x00" + bytes(row.body)).digest()
            values["prev_chain"], prev = prev, bytes(row.chain_hash)
            batch.append(values)
        bind.execute(sa.insert(new), batch)
        start = rows[-1].seq + 1
    _swap_ledger(_SQLITE_GUARDS_0001)
