"""simulation_clock, and on PostgreSQL the trigger that wakes sweepers.

simulation_clock: the latest time a simulation was advanced to (`baton sla sweep --now`,
`baton content sweep --now`), one row; a simulation's reads and writes run at it until the
wall clock passes it. Not the ledger: the row is overwritten.

Revision ID: 0013
Revises: 0010 (the lead rechains)
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
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
        # A row's next_due appears or moves earlier: NOTIFY baton_due with the moment,
        # delivered at commit, so a LISTENing sweeper wakes at once (audit.store.timers).
        op.execute("""
            CREATE FUNCTION baton_due_moved() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
              IF NEW.next_due IS NOT NULL AND (TG_OP = 'INSERT' OR OLD.next_due IS NULL
                                               OR NEW.next_due < OLD.next_due) THEN
                PERFORM pg_notify('baton_due', NEW.next_due);
              END IF;
              RETURN NULL;
            END $$""")
        op.execute("CREATE TRIGGER escalations_due_moved AFTER INSERT OR UPDATE OF next_due "
                   "ON escalations FOR EACH ROW EXECUTE FUNCTION baton_due_moved()")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS escalations_due_moved ON escalations")
        op.execute("DROP FUNCTION IF EXISTS baton_due_moved()")
    op.drop_table("simulation_clock")
