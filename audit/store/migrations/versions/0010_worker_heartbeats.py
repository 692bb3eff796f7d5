"""worker_heartbeats: each running worker's latest beat, so /healthz can say which
workers are alive (a row whose beat is recent) instead of inferring it from overdue work.
Not the ledger: rows are overwritten and forgotten.

Revision ID: 0010
Revises: 0008 (a placeholder: 0009 is written beside this one; the lead rechains)
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "worker_heartbeats",
        sa.Column("worker", sa.String(128), primary_key=True),
        sa.Column("started_at", sa.Float, nullable=False),
        sa.Column("beat_at", sa.Float, nullable=False),
        sa.Column("swept_at", sa.Float, nullable=True),
    )
    op.create_index("ix_worker_heartbeats_beat", "worker_heartbeats", ["beat_at"])
    if op.get_bind().dialect.name == "postgresql":
        op.execute("GRANT SELECT, INSERT, UPDATE, DELETE ON worker_heartbeats TO baton_app")


def downgrade() -> None:
    op.drop_table("worker_heartbeats")
