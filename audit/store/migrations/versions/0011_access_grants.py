"""Access on the ledger and SCIM provisioning: each actor's newest access event
(`access_seq`; NULL until its genesis grant is written by `baton db upgrade` or
`baton init` through the ledger's normal append, since a migration cannot sign
checkpoints), the identity provider's id of a provisioned person, SCIM clients' tokens
(hashed) and their group memberships. On PostgreSQL the application role may now add and
change actors, as SCIM provisioning runs in the web app, but only as Baton's own writes
do: a row trigger (as 0008's) refuses an insert or update of an actor unless this
transaction appended an access event naming it (its provider id alone may change
without one).

Revision ID: 0011
Revises: 0010
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


# baton_trusted (0008): the table's owner (the CLI, migrations) and superusers pass.
_GUARD = """
CREATE OR REPLACE FUNCTION baton_actors_guard() RETURNS trigger AS $$
BEGIN
  IF baton_trusted(TG_RELID) THEN RETURN NEW; END IF;
  IF TG_OP = 'UPDATE' AND NEW.handle = OLD.handle AND NEW.roles = OLD.roles
     AND NEW.team IS NOT DISTINCT FROM OLD.team
     AND NEW.token_hash IS NOT DISTINCT FROM OLD.token_hash
     AND NEW.revoked_at IS NOT DISTINCT FROM OLD.revoked_at
     AND NEW.email IS NOT DISTINCT FROM OLD.email
     AND NEW.access_seq IS NOT DISTINCT FROM OLD.access_seq
     AND NEW.created_at = OLD.created_at THEN
    RETURN NEW;  -- the provider's id only
  END IF;
  IF NOT EXISTS (
       SELECT 1 FROM ledger l
        WHERE l.seq = NEW.access_seq AND l.xmin = pg_current_xact_id()::xid
          AND l.action IN ('access-granted', 'access-changed', 'access-revoked',
                           'token-issued', 'token-revoked', 'email-changed')
          AND convert_from(l.body, 'UTF8')::jsonb -> 'payload' ->> 'subject'
              = NEW.handle) THEN
    RAISE EXCEPTION '% of actor % refused: no access event naming it was appended by '
                    'this transaction', TG_OP, NEW.handle
      USING ERRCODE = 'insufficient_privilege';
  END IF;
  RETURN NEW;
END $$ LANGUAGE plpgsql"""


def upgrade() -> None:
    op.add_column("actors", sa.Column("access_seq", sa.BigInteger, nullable=True))
    op.add_column("actors", sa.Column("external_id", sa.String(200), nullable=True))
    op.create_table(
        "scim_tokens",
        sa.Column("token_hash", sa.String(64), primary_key=True),
        sa.Column("created_at", sa.String(32), nullable=False),
        sa.Column("created_by", sa.String(64), nullable=False),
        sa.Column("revoked_at", sa.String(32), nullable=True),
    )
    op.create_table(
        "scim_members",
        sa.Column("group_name", sa.String(200), nullable=False),
        sa.Column("handle", sa.String(64), nullable=False),
        sa.PrimaryKeyConstraint("group_name", "handle"),
    )
    op.create_index("ix_scim_members_handle", "scim_members", ["handle"])
    if op.get_bind().dialect.name == "postgresql":
        op.execute("GRANT SELECT ON scim_tokens TO baton_app")
        op.execute("GRANT SELECT, INSERT, DELETE ON scim_members TO baton_app")
        op.execute(_GUARD)
        op.execute("CREATE TRIGGER actors_guard BEFORE INSERT OR UPDATE ON actors "
                   "FOR EACH ROW EXECUTE FUNCTION baton_actors_guard()")
        op.execute("GRANT INSERT, UPDATE ON actors TO baton_app")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("REVOKE INSERT, UPDATE ON actors FROM baton_app")
        op.execute("DROP TRIGGER IF EXISTS actors_guard ON actors")
        op.execute("DROP FUNCTION IF EXISTS baton_actors_guard()")
    op.drop_table("scim_members")
    op.drop_table("scim_tokens")
    with op.batch_alter_table("actors") as batch:
        batch.drop_column("external_id")
        batch.drop_column("access_seq")
