"""read_digests: what the reads that span many escalations (metrics, an actor's trail)
need from each one, folded from its history on first need and kept beside it.

Revision ID: 0007
Revises: 0006
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "read_digests",
        sa.Column("escalation_id", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("opened_at", sa.String(32), nullable=False),
        sa.Column("body", sa.Text, nullable=False),
        sa.PrimaryKeyConstraint("escalation_id", "kind"),
    )
    # A report over a period whose digests are all fresh is one range of this index.
    op.create_index("ix_read_digests_opened", "read_digests", ["kind", "opened_at"])
    if op.get_bind().dialect.name == "postgresql":
        # Written by reads (an upsert when a digest is missing or stale), never deleted.
        op.execute("GRANT SELECT, INSERT, UPDATE ON read_digests TO baton_app")


def downgrade() -> None:
    op.drop_table("read_digests")
