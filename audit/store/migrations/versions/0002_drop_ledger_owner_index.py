"""Drop ix_ledger_owner: no query filters the ledger by owner (ownership questions are
answered from ownership_spans), and every append paid for the index entry.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.drop_index("ix_ledger_owner", table_name="ledger")


def downgrade() -> None:
    op.create_index("ix_ledger_owner", "ledger", ["owner"])
