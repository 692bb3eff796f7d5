"""The initial schema: the append-only ledger and the state derived from it.

Revision ID: 0001
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

SQLITE_GUARDS = [
    """CREATE TRIGGER ledger_no_update BEFORE UPDATE ON ledger
       BEGIN SELECT RAISE(ABORT, 'ledger is append-only: UPDATE refused'); END""",
    """CREATE TRIGGER ledger_no_delete BEFORE DELETE ON ledger
       BEGIN SELECT RAISE(ABORT, 'ledger is append-only: DELETE refused'); END""",
    # Requiring the next seq and the previous chain hash also defeats INSERT OR
    # REPLACE and upserts, which would otherwise bypass the delete trigger.
    """CREATE TRIGGER ledger_insert_guard BEFORE INSERT ON ledger
       BEGIN
         SELECT RAISE(ABORT, 'ledger append refused: seq must be the last seq + 1')
          WHERE NEW.seq IS NOT (SELECT COALESCE(MAX(seq), -1) + 1 FROM ledger);
         SELECT RAISE(ABORT, 'ledger append refused: prev_chain must be the last chain_hash')
          WHERE NEW.prev_chain IS NOT COALESCE(
            (SELECT chain_hash FROM ledger WHERE seq = NEW.seq - 1), zeroblob(32));
       END""",
    """CREATE TRIGGER checkpoints_no_update BEFORE UPDATE ON checkpoints
       BEGIN SELECT RAISE(ABORT, 'checkpoints are append-only: UPDATE refused'); END""",
    """CREATE TRIGGER checkpoints_no_delete BEFORE DELETE ON checkpoints
       BEGIN SELECT RAISE(ABORT, 'checkpoints are append-only: DELETE refused'); END""",
]

POSTGRES_GUARDS = [
    """CREATE OR REPLACE FUNCTION baton_refuse_edit() RETURNS trigger AS $$
       BEGIN RAISE EXCEPTION '% is append-only: % refused', TG_TABLE_NAME, TG_OP
             USING ERRCODE = 'integrity_constraint_violation'; END;
       $$ LANGUAGE plpgsql""",
    """CREATE OR REPLACE FUNCTION baton_ledger_insert_guard() RETURNS trigger AS $$
       DECLARE last_seq bigint; last_chain bytea;
       BEGIN
         SELECT seq, chain_hash INTO last_seq, last_chain FROM ledger
          ORDER BY seq DESC LIMIT 1;
         IF NEW.seq IS DISTINCT FROM COALESCE(last_seq, -1) + 1 THEN
           RAISE EXCEPTION 'ledger append refused: seq must be the last seq + 1'
             USING ERRCODE = 'integrity_constraint_violation';
         END IF;
         IF NEW.prev_chain IS DISTINCT FROM
            COALESCE(last_chain, decode(repeat('00', 32), 'hex')) THEN
           RAISE EXCEPTION 'ledger append refused: prev_chain must be the last chain_hash'
             USING ERRCODE = 'integrity_constraint_violation';
         END IF;
         RETURN NEW;
       END; $$ LANGUAGE plpgsql""",
    """CREATE TRIGGER ledger_insert_guard BEFORE INSERT ON ledger
       FOR EACH ROW EXECUTE FUNCTION baton_ledger_insert_guard()""",
    """CREATE TRIGGER ledger_no_update_delete BEFORE UPDATE OR DELETE ON ledger
       FOR EACH ROW EXECUTE FUNCTION baton_refuse_edit()""",
    """CREATE TRIGGER ledger_no_truncate BEFORE TRUNCATE ON ledger
       FOR EACH STATEMENT EXECUTE FUNCTION baton_refuse_edit()""",
    """CREATE TRIGGER checkpoints_no_update_delete BEFORE UPDATE OR DELETE ON checkpoints
       FOR EACH ROW EXECUTE FUNCTION baton_refuse_edit()""",
    """CREATE TRIGGER checkpoints_no_truncate BEFORE TRUNCATE ON checkpoints
       FOR EACH STATEMENT EXECUTE FUNCTION baton_refuse_edit()""",
    # The application's role: the ledger and checkpoints are SELECT and INSERT only.
    """DO $$ BEGIN
         IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'baton_app') THEN
           CREATE ROLE baton_app NOLOGIN;
         END IF;
       END $$""",
    "GRANT SELECT, INSERT ON ledger, checkpoints, merkle_nodes, policies, erasures "
    "TO baton_app",
    "GRANT SELECT, UPDATE ON log_head TO baton_app",
    "GRANT SELECT, INSERT, UPDATE ON escalations, actors, ownership_spans TO baton_app",
    "GRANT SELECT, INSERT, DELETE ON content, idempotency TO baton_app",
    "GRANT SELECT ON alembic_version TO baton_app",
    "GRANT USAGE ON ALL SEQUENCES IN SCHEMA public TO baton_app",
]


def upgrade() -> None:
    op.create_table(
        "ledger",
        sa.Column("seq", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("escalation_id", sa.String(64), nullable=True),
        sa.Column("escalation_seq", sa.Integer, nullable=True),
        sa.Column("action", sa.String(40), nullable=False),
        sa.Column("actor", sa.String(64), nullable=False),
        sa.Column("owner", sa.String(64), nullable=True),
        sa.Column("at", sa.String(32), nullable=False),
        sa.Column("body", sa.LargeBinary, nullable=False),
        sa.Column("leaf_hash", sa.LargeBinary(32), nullable=False),
        sa.Column("prev_chain", sa.LargeBinary(32), nullable=False),
        sa.Column("chain_hash", sa.LargeBinary(32), nullable=False),
        sa.UniqueConstraint("escalation_id", "escalation_seq", name="uq_ledger_escalation_seq"),
    )
    op.create_index("ix_ledger_actor_at", "ledger", ["actor", "at"])
    op.create_index("ix_ledger_owner", "ledger", ["owner"])
    op.create_index("ix_ledger_action_at", "ledger", ["action", "at"])
    op.create_index("ix_ledger_at", "ledger", ["at"])
    op.create_table(
        "log_head",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("size", sa.BigInteger, nullable=False),
        sa.Column("chain_hash", sa.LargeBinary(32), nullable=False),
        sa.Column("compact_range", sa.LargeBinary, nullable=False),
        sa.Column("checkpoint_size", sa.BigInteger, nullable=False),
        sa.Column("checkpoint_at", sa.String(32), nullable=True),
    )
    op.create_table(
        "merkle_nodes",
        sa.Column("level", sa.Integer, nullable=False),
        sa.Column("idx", sa.BigInteger, nullable=False),
        sa.Column("hash", sa.LargeBinary(32), nullable=False),
        sa.PrimaryKeyConstraint("level", "idx"),
    )
    op.create_table(
        "checkpoints",
        sa.Column("size", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("root", sa.LargeBinary(32), nullable=False),
        sa.Column("note", sa.Text, nullable=False),
        sa.Column("created_at", sa.String(32), nullable=False),
    )
    op.create_table(
        "content",
        sa.Column("seq", sa.BigInteger, nullable=False),
        sa.Column("field", sa.String(40), nullable=False),
        sa.Column("escalation_id", sa.String(64), nullable=True),
        sa.Column("customer_id", sa.String(200), nullable=True),
        sa.Column("salt", sa.LargeBinary, nullable=False),
        sa.Column("text", sa.Text, nullable=False),
        sa.PrimaryKeyConstraint("seq", "field"),
    )
    op.create_index("ix_content_customer", "content", ["customer_id"])
    op.create_index("ix_content_escalation", "content", ["escalation_id"])
    op.create_table(
        "erasures",
        sa.Column("seq", sa.BigInteger, nullable=False),
        sa.Column("field", sa.String(40), nullable=False),
        sa.Column("escalation_id", sa.String(64), nullable=True),
        sa.Column("erased_at", sa.String(32), nullable=False),
        sa.Column("erased_by", sa.String(64), nullable=False),
        sa.Column("erase_seq", sa.BigInteger, nullable=False),
        sa.PrimaryKeyConstraint("seq", "field"),
    )
    op.create_table(
        "escalations",
        sa.Column("pk", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("id", sa.String(64), nullable=False, unique=True),
        sa.Column("state", sa.String(40), nullable=False),
        sa.Column("tier", sa.Integer, nullable=False),
        sa.Column("team", sa.String(64), nullable=False),
        sa.Column("owner", sa.String(64), nullable=True),
        sa.Column("acting_owner", sa.String(64), nullable=True),
        sa.Column("category", sa.String(64), nullable=False),
        sa.Column("severity", sa.String(64), nullable=False),
        sa.Column("customer_id", sa.String(200), nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("created_at", sa.String(32), nullable=False),
        sa.Column("updated_at", sa.String(32), nullable=False),
        sa.Column("next_due", sa.String(32), nullable=True),
        sa.Column("snapshot", sa.Text, nullable=False),
    )
    op.create_index("ix_escalations_state_tier", "escalations", ["state", "tier"])
    op.create_index("ix_escalations_owner", "escalations", ["owner"])
    op.create_index("ix_escalations_customer", "escalations", ["customer_id"])
    op.create_index("ix_escalations_next_due", "escalations", ["next_due"])
    op.create_table(
        "ownership_spans",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("escalation_id", sa.String(64), nullable=False),
        sa.Column("owner", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(10), nullable=False),
        sa.Column("started_at", sa.String(32), nullable=False),
        sa.Column("ended_at", sa.String(32), nullable=True),
    )
    op.create_index("ix_ownership_spans_owner", "ownership_spans", ["owner", "started_at"])
    op.create_index("ix_ownership_spans_open", "ownership_spans",
                    ["escalation_id", "kind", "ended_at"])
    op.create_table(
        "policies",
        sa.Column("ordinal", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("version", sa.String(64), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("text", sa.Text, nullable=False),
        sa.Column("applied_at", sa.String(32), nullable=False),
        sa.Column("applied_by", sa.String(64), nullable=False),
        sa.Column("seq", sa.BigInteger, nullable=False),
    )
    op.create_index("ix_policies_version", "policies", ["version"])
    op.create_table(
        "actors",
        sa.Column("handle", sa.String(64), primary_key=True),
        sa.Column("roles", sa.Text, nullable=False),
        sa.Column("team", sa.String(64), nullable=True),
        sa.Column("token_hash", sa.String(64), nullable=True, unique=True),
        sa.Column("created_at", sa.String(32), nullable=False),
        sa.Column("revoked_at", sa.String(32), nullable=True),
    )
    op.create_table(
        "idempotency",
        sa.Column("actor", sa.String(64), nullable=False),
        sa.Column("key", sa.String(200), nullable=False),
        sa.Column("escalation_id", sa.String(64), nullable=True),
        sa.Column("request_hash", sa.String(64), nullable=False),
        sa.Column("status", sa.Integer, nullable=False),
        sa.Column("body", sa.Text, nullable=False),
        sa.Column("headers", sa.Text, nullable=False),
        sa.Column("created_at", sa.String(32), nullable=False),
        sa.PrimaryKeyConstraint("actor", "key"),
    )
    op.create_index("ix_idempotency_escalation_id", "idempotency", ["escalation_id"])
    op.bulk_insert(sa.table(
        "log_head", sa.column("id", sa.Integer), sa.column("size", sa.BigInteger),
        sa.column("chain_hash", sa.LargeBinary), sa.column("compact_range", sa.LargeBinary),
        sa.column("checkpoint_size", sa.BigInteger)),
        [{"id": 1, "size": 0, "chain_hash": bytes(32), "compact_range": b"",
          "checkpoint_size": 0}])
    guards = POSTGRES_GUARDS if op.get_bind().dialect.name == "postgresql" else SQLITE_GUARDS
    for statement in guards:
        op.execute(statement)


def downgrade() -> None:
    raise NotImplementedError("the ledger is never dropped by a migration")
