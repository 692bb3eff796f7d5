"""Witness cosignatures of checkpoints (c2sp.org/tlog-cosignature), kept beside them.

Revision ID: 0006
Revises: 0004
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "cosignatures",
        sa.Column("size", sa.BigInteger, nullable=False),
        sa.Column("cosigner", sa.String(200), nullable=False),
        sa.Column("line", sa.Text, nullable=False),
        sa.Column("created_at", sa.String(32), nullable=False),
        sa.PrimaryKeyConstraint("size", "cosigner"),
    )
    if op.get_bind().dialect.name == "postgresql":
        # Like the checkpoints they sign: written once, never changed.
        op.execute("GRANT SELECT, INSERT ON cosignatures TO baton_app")


def downgrade() -> None:
    op.drop_table("cosignatures")
