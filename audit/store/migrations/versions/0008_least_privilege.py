"""Least privilege for the application role on PostgreSQL.

- Actors are read-only to `baton_app`: actor management (`baton actors add|revoke|
  set-email`, `baton demo`) runs as the database owner through the CLI.
- What `baton_app` may still change, it may change only as Baton's own writes do, which
  row triggers check against the ledger (a row's `xmin` is the transaction that wrote it):
  - an escalation's projection row, or one of its ownership spans, only in a transaction
    that appended that escalation's event (for the projection: the event of the version
    the row moves to);
  - the log head only forward, to the chain hash of the ledger's last row, with its
    checkpoint size never ahead of the log nor going back;
  - a personal-text row deleted only in a transaction that appended the `content-erased`
    event naming it (seq:field).
- `baton_app` gains what erasure needs and lacked: UPDATE of a stored response's body
  (erasure keeps the key and request hash and empties the body).

The table owner (migrations, the CLI) and superusers pass: they can disable triggers
anyway, which is why the hash chain and signed checkpoints are the trust root. SQLite has
no roles; nothing changes there.

Revision ID: 0008
Revises: 0007
"""

from __future__ import annotations

from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

# True when the current user is a superuser or owns the table the trigger fired on.
_TRUSTED = """
CREATE OR REPLACE FUNCTION baton_trusted(relid oid) RETURNS boolean AS $$
  SELECT r.rolsuper OR pg_has_role(current_user, c.relowner, 'USAGE')
    FROM pg_roles r, pg_class c
   WHERE r.rolname = current_user AND c.oid = relid
$$ LANGUAGE sql STABLE"""

# Whether this transaction appended an event of `eid` (of version `v`, when given).
_APPENDED = """
CREATE OR REPLACE FUNCTION baton_appended(eid text, v integer) RETURNS boolean AS $$
  SELECT EXISTS (SELECT 1 FROM ledger l
                  WHERE l.escalation_id = eid
                    AND (v IS NULL OR l.escalation_seq = v)
                    AND l.xmin = pg_current_xact_id()::xid)
$$ LANGUAGE sql STABLE"""

_PROJECTION_GUARD = """
CREATE OR REPLACE FUNCTION baton_projection_guard() RETURNS trigger AS $$
DECLARE eid text; v integer;
BEGIN
  IF baton_trusted(TG_RELID) THEN RETURN NEW; END IF;
  IF TG_TABLE_NAME = 'escalations' THEN
    eid := NEW.id;
    v := NEW.version - 1;  -- the row's version after the event of version v
    IF TG_OP = 'UPDATE' AND NEW.id IS DISTINCT FROM OLD.id THEN
      RAISE EXCEPTION 'escalations: an escalation keeps its id'
        USING ERRCODE = 'insufficient_privilege';
    END IF;
  ELSE
    eid := NEW.escalation_id;
    IF TG_OP = 'UPDATE' AND NEW.escalation_id IS DISTINCT FROM OLD.escalation_id THEN
      RAISE EXCEPTION 'ownership_spans: a span keeps its escalation'
        USING ERRCODE = 'insufficient_privilege';
    END IF;
  END IF;
  IF NOT baton_appended(eid, v) THEN
    RAISE EXCEPTION '% of % refused: no event of this escalation was appended by this '
                    'transaction', TG_OP, TG_TABLE_NAME
      USING ERRCODE = 'insufficient_privilege';
  END IF;
  RETURN NEW;
END $$ LANGUAGE plpgsql"""

_HEAD_GUARD = """
CREATE OR REPLACE FUNCTION baton_head_guard() RETURNS trigger AS $$
BEGIN
  IF baton_trusted(TG_RELID) THEN RETURN NEW; END IF;
  IF NEW.id IS DISTINCT FROM OLD.id OR NEW.size < OLD.size
     OR NEW.checkpoint_size < OLD.checkpoint_size OR NEW.checkpoint_size > NEW.size
     OR (NEW.size > 0 AND NOT EXISTS (
           SELECT 1 FROM ledger WHERE seq = NEW.size - 1 AND chain_hash = NEW.chain_hash))
     OR (NEW.size = 0 AND NEW.chain_hash IS DISTINCT FROM decode(repeat('00', 32), 'hex'))
  THEN
    RAISE EXCEPTION 'log_head may only move forward to the ledger''s last chain hash'
      USING ERRCODE = 'insufficient_privilege';
  END IF;
  RETURN NEW;
END $$ LANGUAGE plpgsql"""

_CONTENT_GUARD = """
CREATE OR REPLACE FUNCTION baton_content_delete_guard() RETURNS trigger AS $$
BEGIN
  IF baton_trusted(TG_RELID) THEN RETURN OLD; END IF;
  IF NOT EXISTS (
       SELECT 1 FROM ledger l
        WHERE l.escalation_id = OLD.escalation_id AND l.action = 'content-erased'
          AND l.xmin = pg_current_xact_id()::xid
          AND (convert_from(l.body, 'UTF8')::jsonb -> 'payload' -> 'fields')
              ? (OLD.seq::text || ':' || OLD.field)) THEN
    RAISE EXCEPTION 'content %:% may be deleted only by the erasure event that names it',
                    OLD.seq, OLD.field
      USING ERRCODE = 'insufficient_privilege';
  END IF;
  RETURN OLD;
END $$ LANGUAGE plpgsql"""

_STATEMENTS = (
    "REVOKE INSERT, UPDATE, DELETE ON actors FROM baton_app",
    "GRANT SELECT ON actors TO baton_app",
    "GRANT UPDATE (body) ON idempotency TO baton_app",
    _TRUSTED, _APPENDED, _PROJECTION_GUARD, _HEAD_GUARD, _CONTENT_GUARD,
    # Deferred to the commit, so that the order of a write's statements does not matter
    # (the API sends the projection update and the ledger row in one pipeline).
    """CREATE CONSTRAINT TRIGGER escalations_by_events AFTER INSERT OR UPDATE ON escalations
       DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION baton_projection_guard()""",
    """CREATE CONSTRAINT TRIGGER ownership_spans_by_events AFTER INSERT OR UPDATE
       ON ownership_spans DEFERRABLE INITIALLY DEFERRED
       FOR EACH ROW EXECUTE FUNCTION baton_projection_guard()""",
    """CREATE CONSTRAINT TRIGGER log_head_forward AFTER UPDATE ON log_head
       DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION baton_head_guard()""",
    """CREATE TRIGGER content_deleted_by_erasure BEFORE DELETE ON content
       FOR EACH ROW EXECUTE FUNCTION baton_content_delete_guard()""",
    "REVOKE TRUNCATE ON content, escalations, ownership_spans, log_head FROM baton_app",
)


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for statement in _STATEMENTS:
        op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for statement in (
            "DROP TRIGGER IF EXISTS content_deleted_by_erasure ON content",
            "DROP TRIGGER IF EXISTS log_head_forward ON log_head",
            "DROP TRIGGER IF EXISTS ownership_spans_by_events ON ownership_spans",
            "DROP TRIGGER IF EXISTS escalations_by_events ON escalations",
            "DROP FUNCTION IF EXISTS baton_content_delete_guard()",
            "DROP FUNCTION IF EXISTS baton_head_guard()",
            "DROP FUNCTION IF EXISTS baton_projection_guard()",
            "DROP FUNCTION IF EXISTS baton_appended(text, integer)",
            "DROP FUNCTION IF EXISTS baton_trusted(oid)",
            "REVOKE UPDATE (body) ON idempotency FROM baton_app",
            "GRANT INSERT, UPDATE ON actors TO baton_app"):  # 0001's grants, as they were
        op.execute(statement)
