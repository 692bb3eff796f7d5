"""escalations.earliest_due: the earliest running SLA deadline, recorded as breached or
not. An escalation is breached while it is in the past (a clock is past due now, or a
recorded breach's blocker has not cleared), and the queue sorts by it.

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import json

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("escalations", sa.Column("earliest_due", sa.String(32), nullable=True))
    conn = op.get_bind()
    rows = conn.execute(sa.text("SELECT id, snapshot FROM escalations")).all()
    for escalation_id, snapshot in rows:
        deadlines = (json.loads(snapshot).get("deadlines") or {}).values()
        if deadlines:
            conn.execute(sa.text("UPDATE escalations SET earliest_due = :d WHERE id = :i"),
                         {"d": min(deadlines), "i": escalation_id})
    op.create_index("ix_escalations_earliest_due", "escalations", ["earliest_due"])


def downgrade() -> None:
    op.drop_index("ix_escalations_earliest_due", table_name="escalations")
    op.drop_column("escalations", "earliest_due")
