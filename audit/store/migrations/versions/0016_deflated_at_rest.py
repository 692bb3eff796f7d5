"""Leaner rows: SQLite keeps new ledger bodies deflated (audit/store/deflated.py), and the
escalations' snapshots leave out the fields their columns hold and those at their default
(audit/store/projection.py); escalations.proposed_owner becomes a column.

Rows written before stay as they are and are read either way, so the upgrade rewrites
nothing but the new column. "Offered to me" read the proposed owner from the snapshot with
JSON in SQL; it now has a column of its own (not indexed: the state's index narrows the
rows first), filled from the snapshots, all of which hold it at this point.

The downgrade gives the code before this revision what it reads: bodies inflated (under
the ledger's update guard lifted for the statement and put back as it was), and each
snapshot with its columns' fields put back (fields left out at their default are the
defaults that code fills in); then it drops the column.

Revision ID: 0016
Revises: 0015
"""

from __future__ import annotations

import json

import sqlalchemy as sa
from alembic import op

# Its dictionary never changes (tests/unit/test_deflated.py pins its hash).
from audit.store.deflated import TAG_1, unpack

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None

_HELD = ("id", "state", "tier", "team", "owner", "acting_owner", "category", "severity",
         "customer_id", "version", "created_at", "updated_at", "proposed_owner")


def upgrade() -> None:
    op.add_column("escalations", sa.Column("proposed_owner", sa.String(64), nullable=True))
    if op.get_bind().dialect.name == "postgresql":
        op.execute("UPDATE escalations SET proposed_owner = snapshot::json ->> 'proposed_owner'")
    else:
        op.execute("UPDATE escalations SET proposed_owner = "
                   "json_extract(snapshot, '$.proposed_owner')")


def _inflate_bodies(bind: sa.Connection) -> None:
    guard = bind.execute(sa.text("SELECT sql FROM sqlite_master WHERE type = 'trigger' "
                                 "AND name = 'ledger_no_update'")).scalar()
    if guard is not None:
        op.execute("DROP TRIGGER ledger_no_update")
    rows = bind.execute(sa.text("SELECT seq, body FROM ledger WHERE substr(body, 1, 1) = :t"),
                        {"t": TAG_1}).all()
    for seq, stored in rows:
        bind.execute(sa.text("UPDATE ledger SET body = :b WHERE seq = :s"),
                     {"b": unpack(stored), "s": seq})
    if guard is not None:
        op.execute(guard)


def _whole_snapshots(bind: sa.Connection) -> list[dict[str, object]]:
    rows = bind.execute(sa.text(f"SELECT pk, snapshot, {', '.join(_HELD)} FROM escalations"))
    out: list[dict[str, object]] = []
    for row in rows.all():
        data = json.loads(row.snapshot)
        data.update({name: row._mapping[name] for name in _HELD})
        out.append({"s": json.dumps(data, sort_keys=True, separators=(",", ":")),
                    "pk": row.pk})
    return out


def downgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "sqlite":
        _inflate_bodies(bind)
    whole = _whole_snapshots(bind)
    # The column goes first: PostgreSQL refuses to alter a table with trigger events
    # pending from updates (the sweepers' NOTIFY on escalations is deferred).
    with op.batch_alter_table("escalations") as batch:
        batch.drop_column("proposed_owner")
    for values in whole:
        bind.execute(sa.text("UPDATE escalations SET snapshot = :s WHERE pk = :pk"), values)
    if bind.dialect.name == "postgresql":  # fire the deferred ones now, for later steps
        op.execute("SET CONSTRAINTS ALL IMMEDIATE")
