"""Notifications: actors.email, webhook subscriptions, the outbox and the delivery log.

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

_GRANTS = (
    "GRANT SELECT, INSERT, UPDATE ON webhooks TO baton_app",
    "GRANT SELECT, INSERT, UPDATE, DELETE ON outbox, deliveries TO baton_app",
    "GRANT USAGE ON ALL SEQUENCES IN SCHEMA public TO baton_app",
)


def upgrade() -> None:
    op.add_column("actors", sa.Column("email", sa.String(320), nullable=True))
    op.create_table(
        "webhooks",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("url", sa.Text, nullable=False),
        sa.Column("events", sa.Text, nullable=False),
        sa.Column("description", sa.Text, nullable=True),
        sa.Column("secret", sa.String(200), nullable=False),
        sa.Column("previous_secret", sa.String(200), nullable=True),
        sa.Column("previous_until", sa.Float, nullable=True),
        sa.Column("created_at", sa.String(32), nullable=False),
        sa.Column("created_by", sa.String(64), nullable=False),
        sa.Column("disabled_at", sa.String(32), nullable=True),
        sa.Column("disabled_reason", sa.String(200), nullable=True),
        sa.Column("removed_at", sa.String(32), nullable=True),
    )
    op.create_table(
        "outbox",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("seq", sa.BigInteger, nullable=False),
        sa.Column("escalation_id", sa.String(64), nullable=False),
        sa.Column("channel", sa.String(10), nullable=False),
        sa.Column("target", sa.String(64), nullable=False),
        sa.Column("event_type", sa.String(64), nullable=False),
        sa.Column("data", sa.Text, nullable=False),
        sa.Column("status", sa.String(10), nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("next_at", sa.Float, nullable=False),
        sa.Column("claimed_until", sa.Float, nullable=True),
        sa.Column("created_at", sa.Float, nullable=False),
        sa.Column("done_at", sa.Float, nullable=True),
    )
    op.create_index("ix_outbox_due", "outbox", ["status", "next_at"])
    op.create_index("ix_outbox_order", "outbox", ["target", "escalation_id", "id"])
    op.create_index("ix_outbox_done", "outbox", ["done_at"])
    op.create_table(
        "deliveries",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("message_id", sa.Integer, nullable=False),
        sa.Column("target", sa.String(64), nullable=False),
        sa.Column("attempt", sa.Integer, nullable=False),
        sa.Column("at", sa.Float, nullable=False),
        sa.Column("outcome", sa.String(12), nullable=False),
        sa.Column("status_code", sa.Integer, nullable=True),
        sa.Column("duration_ms", sa.Float, nullable=True),
        sa.Column("error", sa.String(500), nullable=True),
    )
    op.create_index("ix_deliveries_message", "deliveries", ["message_id", "attempt"])
    op.create_index("ix_deliveries_target", "deliveries", ["target", "id"])
    op.create_index("ix_deliveries_at", "deliveries", ["at"])
    if op.get_bind().dialect.name == "postgresql":
        for statement in _GRANTS:
            op.execute(statement)


def downgrade() -> None:
    op.drop_table("deliveries")
    op.drop_table("outbox")
    op.drop_table("webhooks")
    op.drop_column("actors", "email")
