"""dashboard_sessions: server-side dashboard sessions (hashed ids, the actor and token
they were opened with, created, last seen, ended and why).

Revision ID: 0009
Revises: 0008
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "dashboard_sessions",
        sa.Column("id_hash", sa.String(64), primary_key=True),
        sa.Column("actor", sa.String(64), nullable=False),
        sa.Column("token_id", sa.String(64), nullable=False),
        sa.Column("created_at", sa.String(32), nullable=False),
        sa.Column("last_seen_at", sa.String(32), nullable=False),
        sa.Column("ended_at", sa.String(32), nullable=True),
        sa.Column("end_reason", sa.String(40), nullable=True),
        sa.Column("data", sa.Text, nullable=False),
    )
    op.create_index("ix_dashboard_sessions_actor", "dashboard_sessions", ["actor"])
    if op.get_bind().dialect.name == "postgresql":
        # Opened, kept and ended by the app; never deleted (the record of who was in).
        op.execute("GRANT SELECT, INSERT, UPDATE ON dashboard_sessions TO baton_app")


def downgrade() -> None:
    op.drop_table("dashboard_sessions")
