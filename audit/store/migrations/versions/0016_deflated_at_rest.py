"""Deflated at rest on SQLite (audit/store/deflated.py), and escalations.proposed_owner.

From this revision SQLite keeps new ledger bodies and escalation snapshots deflated
against fixed dictionaries; rows written before stay as they are and are read either way,
so the upgrade rewrites nothing. "Offered to me" read the proposed owner from the snapshot
with JSON in SQL, which a deflated snapshot does not allow, so the value gets a column of
its own (not indexed: the state's index narrows the rows first), filled from the
snapshots, all of which are JSON text at this point.

The downgrade inflates what was deflated (code before this revision reads only JSON
text), bodies under the ledger's update guard lifted for the statement and put back as
they were, and drops the column.

Revision ID: 0016
Revises: 0015
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

# Its dictionaries never change (tests/unit/test_deflated.py pins their hashes).
from audit.store.deflated import TAG_1, TAG_2, unpack

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("escalations", sa.Column("proposed_owner", sa.String(64), nullable=True))
    if op.get_bind().dialect.name == "postgresql":
        op.execute("UPDATE escalations SET proposed_owner = snapshot::json ->> 'proposed_owner'"
                   " WHERE state = 'handed-off'")
    else:
        op.execute("UPDATE escalations SET proposed_owner = "
                   "json_extract(snapshot, '$.proposed_owner') WHERE state = 'handed-off'")


def _inflate(bind: sa.Connection, table: str, key: str, column: str, tag: bytes,
             text: bool) -> None:
    rows = bind.execute(sa.text(f"SELECT {key}, {column} FROM {table} WHERE "
                                f"substr({column}, 1, 1) = :tag"), {"tag": tag}).all()
    for row_key, stored in rows:
        value = unpack(stored)
        bind.execute(sa.text(f"UPDATE {table} SET {column} = :v WHERE {key} = :k"),
                     {"v": value.decode() if text else value, "k": row_key})


def downgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "sqlite":
        guard = bind.execute(sa.text("SELECT sql FROM sqlite_master WHERE type = 'trigger' "
                                     "AND name = 'ledger_no_update'")).scalar()
        if guard is not None:
            op.execute("DROP TRIGGER ledger_no_update")
        _inflate(bind, "ledger", "seq", "body", TAG_1, text=False)
        if guard is not None:
            op.execute(guard)
        _inflate(bind, "escalations", "pk", "snapshot", TAG_2, text=True)
    with op.batch_alter_table("escalations") as batch:
        batch.drop_column("proposed_owner")
