"""Drop ix_content_customer: no read filters personal content by customer (a customer's
erasure and subject access find the customer's escalations first, then their content by
ix_content_escalation), and every stored text paid for the index entry (31 B an event in
bench.lean's workload, and one more b-tree page written with each commit that stores a
text).

Revision ID: 0014
Revises: 0013
"""

from __future__ import annotations

from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.drop_index("ix_content_customer", table_name="content")


def downgrade() -> None:
    op.create_index("ix_content_customer", "content", ["customer_id"])
