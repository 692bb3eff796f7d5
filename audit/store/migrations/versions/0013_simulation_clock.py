"""simulation_clock: the latest time a simulation was advanced to (`baton sla sweep --now`,
`baton content sweep --now`), one row; a simulation's reads and writes run at it until the
wall clock passes it. Not the ledger: the row is overwritten.

Revision ID: 0013
Revises: 0010 (the lead rechains)
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "simulation_clock",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("advanced_to", sa.String(40), nullable=False),
    )
    if op.get_bind().dialect.name == "postgresql":
        op.execute("GRANT SELECT, INSERT, UPDATE ON simulation_clock TO baton_app")


def downgrade() -> None:
    op.drop_table("simulation_clock")
