"""Access on the ledger and SCIM provisioning: each actor's newest access event
(`access_seq`; NULL until its genesis grant is written by `baton db upgrade` or
`baton init` through the ledger's normal append, since a migration cannot sign
checkpoints), the identity provider's id of a provisioned person, SCIM clients' tokens
(hashed) and their group memberships. On PostgreSQL the application role may now add and
change actors, as SCIM provisioning runs in the web app; each change is a ledger event.

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
        op.execute("GRANT INSERT, UPDATE ON actors TO baton_app")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("REVOKE INSERT, UPDATE ON actors FROM baton_app")
    op.drop_table("scim_members")
    op.drop_table("scim_tokens")
    with op.batch_alter_table("actors") as batch:
        batch.drop_column("external_id")
        batch.drop_column("access_seq")
