"""The database tables: the append-only ledger and the state derived from it.

The schema is created and upgraded by the Alembic migrations in audit/store/migrations, which
also install the guards (triggers, grants) that refuse edits of the ledger.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Column,
    Float,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from audit.store.deflated import StoredBody
from audit.store.ledger_time import LedgerTime

metadata = MetaData()

# One row per event; seq is gap-free from 0 across all escalations (on SQLite the rowid
# itself, migration 0015). A row's leaf hash (SHA-256 of 0x00 || body) and the chain hash
# it extends (the previous row's) are derived where read, not stored.
ledger = Table(
    "ledger", metadata,
    Column("seq", BigInteger().with_variant(Integer(), "sqlite"), primary_key=True,
           autoincrement=False),
    Column("escalation_id", String(64), nullable=True),
    Column("escalation_seq", Integer, nullable=True),
    Column("action", String(40), nullable=False),
    Column("actor", String(64), nullable=False),
    Column("owner", String(64), nullable=True),
    Column("at", LedgerTime, nullable=False),  # integer microseconds on SQLite
    Column("body", StoredBody, nullable=False),  # deflated on SQLite (deflated.py)
    Column("chain_hash", LargeBinary(32), nullable=False),
    UniqueConstraint("escalation_id", "escalation_seq", name="uq_ledger_escalation_seq"),
)
Index("ix_ledger_actor_at", ledger.c.actor, ledger.c.at)
Index("ix_ledger_action_at", ledger.c.action, ledger.c.at)
Index("ix_ledger_at", ledger.c.at)

# The single log head row: size, chain head and Merkle compact range, read and
# written with every append (on PostgreSQL it is the append lock).
log_head = Table(
    "log_head", metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("size", BigInteger, nullable=False),
    Column("chain_hash", LargeBinary(32), nullable=False),
    Column("compact_range", LargeBinary, nullable=False),
    Column("checkpoint_size", BigInteger, nullable=False),
    Column("checkpoint_at", String(32), nullable=True),
)

# Perfect-subtree hashes of level >= NODE_LEVEL_MIN, so proofs need no full scan.
merkle_nodes = Table(
    "merkle_nodes", metadata,
    Column("level", Integer, nullable=False),
    Column("idx", BigInteger, nullable=False),
    Column("hash", LargeBinary(32), nullable=False),
    PrimaryKeyConstraint("level", "idx"),
    sqlite_with_rowid=False,
)

checkpoints = Table(
    "checkpoints", metadata,
    Column("size", BigInteger, primary_key=True, autoincrement=False),
    Column("root", LargeBinary(32), nullable=False),
    Column("note", Text, nullable=False),
    Column("created_at", String(32), nullable=False),
)

# Witness cosignatures of checkpoints (tlog-cosignature); cosigner is NAME+HEXID.
cosignatures = Table(
    "cosignatures", metadata,
    Column("size", BigInteger, nullable=False),
    Column("cosigner", String(200), nullable=False),
    Column("line", Text, nullable=False),
    Column("created_at", String(32), nullable=False),
    PrimaryKeyConstraint("size", "cosigner"),
)

# Personal and free-text fields, out of the hashed bytes: erasable. An escalation's are
# found by its events' seqs (migration 0018: no copy of the escalation or customer here).
content = Table(
    "content", metadata,
    Column("seq", BigInteger, nullable=False),
    Column("field", String(40), nullable=False),
    Column("salt", LargeBinary, nullable=False),
    Column("text", Text, nullable=False),
    PrimaryKeyConstraint("seq", "field"),
    sqlite_with_rowid=False,  # the key is the table (migration 0015)
)
# An escalation's content is found by its events' seqs (audit.store.content_store).

# What was erased, when and by whom (no personal data here).
erasures = Table(
    "erasures", metadata,
    Column("seq", BigInteger, nullable=False),
    Column("field", String(40), nullable=False),
    Column("escalation_id", String(64), nullable=True),
    Column("erased_at", String(32), nullable=False),
    Column("erased_by", String(64), nullable=False),
    Column("erase_seq", BigInteger, nullable=False),
    PrimaryKeyConstraint("seq", "field"),
)

# The projection: each escalation's current state, equal to the replay of its events.
escalations = Table(
    "escalations", metadata,
    Column("pk", Integer, primary_key=True, autoincrement=True),
    Column("id", String(64), nullable=False, unique=True),
    Column("state", String(40), nullable=False),
    Column("tier", Integer, nullable=False),
    Column("team", String(64), nullable=False),
    Column("owner", String(64), nullable=True),
    Column("acting_owner", String(64), nullable=True),
    Column("category", String(64), nullable=False),
    Column("severity", String(64), nullable=False),
    Column("customer_id", String(200), nullable=False),
    Column("version", Integer, nullable=False),
    Column("created_at", String(32), nullable=False),
    Column("updated_at", String(32), nullable=False),
    # The earliest running SLA deadline (RFC 3339), for breach queries by index.
    Column("next_due", String(32), nullable=True),
    # The state but the fields its columns hold and those at their default (projection.py).
    Column("snapshot", Text, nullable=False),
    # The earliest running deadline, breached or not: breached while it is in the past.
    Column("earliest_due", String(32), nullable=True),
    # Whom a pending hand-off is offered to (the snapshot's too: read by SQL, migration 0016).
    Column("proposed_owner", String(64), nullable=True),
)
Index("ix_escalations_next_due", escalations.c.next_due)
Index("ix_escalations_earliest_due", escalations.c.earliest_due)
Index("ix_escalations_state_tier", escalations.c.state, escalations.c.tier)
Index("ix_escalations_owner", escalations.c.owner)
Index("ix_escalations_customer", escalations.c.customer_id)

# Who owned (or covered) which escalation when: a projection of the ledger, written with
# each ownership change, so "all spans of one actor over a period" is one index range.
ownership_spans = Table(
    "ownership_spans", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("escalation_id", String(64), nullable=False),
    Column("owner", String(64), nullable=False),
    Column("kind", String(10), nullable=False),
    Column("started_at", String(32), nullable=False),
    Column("ended_at", String(32), nullable=True),
)
Index("ix_ownership_spans_owner", ownership_spans.c.owner, ownership_spans.c.started_at)
# An escalation's spans (a handful): the open one to close, all of them to check a replay.
Index("ix_ownership_spans_escalation", ownership_spans.c.escalation_id)

# What the reads spanning many escalations need from each one (migration 0007): metric
# facts, ownership trail. Folded from its history on first need, refolded once the
# escalation has a newer event (audit.reads.read_digests); never written by the write path.
read_digests = Table(
    "read_digests", metadata,
    Column("escalation_id", String(64), nullable=False),
    Column("kind", String(16), nullable=False),
    Column("version", Integer, nullable=False),
    Column("opened_at", String(32), nullable=False),
    Column("body", Text, nullable=False),
    PrimaryKeyConstraint("escalation_id", "kind"),
)
Index("ix_read_digests_opened", read_digests.c.kind, read_digests.c.opened_at)

# Each running worker's latest beat (migration 0010): which workers are alive.
worker_heartbeats = Table(
    "worker_heartbeats", metadata,
    Column("worker", String(128), primary_key=True),
    Column("started_at", Float, nullable=False),
    Column("beat_at", Float, nullable=False),
    Column("swept_at", Float, nullable=True),
)
Index("ix_worker_heartbeats_beat", worker_heartbeats.c.beat_at)

# Where a simulation's time stands (migration 0013): one row, overwritten.
simulation_clock = Table(
    "simulation_clock", metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("advanced_to", String(40), nullable=False),
)

policies = Table(
    "policies", metadata,
    Column("ordinal", Integer, primary_key=True, autoincrement=True),
    Column("version", String(64), nullable=False),
    Column("name", String(200), nullable=False),
    Column("text", Text, nullable=False),
    Column("applied_at", String(32), nullable=False),
    Column("applied_by", String(64), nullable=False),
    Column("seq", BigInteger, nullable=False),
)
Index("ix_policies_version", policies.c.version)

actors = Table(
    "actors", metadata,
    Column("handle", String(64), primary_key=True),
    Column("roles", Text, nullable=False),
    Column("team", String(64), nullable=True),
    Column("token_hash", String(64), nullable=True, unique=True),
    Column("created_at", String(32), nullable=False),
    Column("revoked_at", String(32), nullable=True),
)

idempotency = Table(
    "idempotency", metadata,
    Column("actor", String(64), nullable=False),
    Column("key", String(200), nullable=False),
    Column("escalation_id", String(64), nullable=True, index=True),
    Column("request_hash", String(64), nullable=False),
    Column("status", Integer, nullable=False),
    Column("body", Text, nullable=False),
    Column("headers", Text, nullable=False),
    Column("created_at", String(32), nullable=False),
    PrimaryKeyConstraint("actor", "key"),
)

# --- notifications (migration 0004) -------------------------------------------------

# Where mail to an actor goes (never in the ledger, never in a notified event).
actors.append_column(Column("email", String(320), nullable=True))

# Webhook subscriptions. The secret signs; the previous one keeps signing beside it
# until previous_until (epoch seconds) after a rotation.
webhooks = Table(
    "webhooks", metadata,
    Column("id", String(40), primary_key=True),
    Column("url", Text, nullable=False),
    Column("events", Text, nullable=False),
    Column("description", Text, nullable=True),
    Column("secret", String(200), nullable=False),
    Column("previous_secret", String(200), nullable=True),
    Column("previous_until", Float, nullable=True),
    Column("created_at", String(32), nullable=False),
    Column("created_by", String(64), nullable=False),
    Column("disabled_at", String(32), nullable=True),
    Column("disabled_reason", String(200), nullable=True),
    Column("removed_at", String(32), nullable=True),
)

# The outbox: one row per message an event causes (a webhook to a subscription, a mail
# to an actor), written in the event's transaction; times are epoch seconds.
outbox = Table(
    "outbox", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("seq", BigInteger, nullable=False),
    Column("escalation_id", String(64), nullable=False),
    Column("channel", String(10), nullable=False),
    Column("target", String(64), nullable=False),
    Column("event_type", String(64), nullable=False),
    Column("data", Text, nullable=False),
    Column("status", String(10), nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("next_at", Float, nullable=False),
    Column("claimed_until", Float, nullable=True),
    Column("created_at", Float, nullable=False),
    Column("done_at", Float, nullable=True),
)
Index("ix_outbox_due", outbox.c.status, outbox.c.next_at)
Index("ix_outbox_order", outbox.c.target, outbox.c.escalation_id, outbox.c.id)
Index("ix_outbox_done", outbox.c.done_at)

# The delivery log: every attempt, with its outcome (kept for a configurable period).
deliveries = Table(
    "deliveries", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("message_id", Integer, nullable=False),
    Column("target", String(64), nullable=False),
    Column("attempt", Integer, nullable=False),
    Column("at", Float, nullable=False),
    Column("outcome", String(12), nullable=False),
    Column("status_code", Integer, nullable=True),
    Column("duration_ms", Float, nullable=True),
    Column("error", String(500), nullable=True),
)
Index("ix_deliveries_message", deliveries.c.message_id, deliveries.c.attempt)
Index("ix_deliveries_target", deliveries.c.target, deliveries.c.id)
Index("ix_deliveries_at", deliveries.c.at)

# --- dashboard sessions (migration 0009) --------------------------------------------

# A signed-in dashboard session: the cookie holds its id, this table only the id's
# SHA-256; the token it was opened with by its stored hash (revoking or rotating the token
# ends the session). `data` holds what a page keeps between requests (flash messages).
dashboard_sessions = Table(
    "dashboard_sessions", metadata,
    Column("id_hash", String(64), primary_key=True),
    Column("actor", String(64), nullable=False),
    Column("token_id", String(64), nullable=False),
    Column("created_at", String(32), nullable=False),
    Column("last_seen_at", String(32), nullable=False),
    Column("ended_at", String(32), nullable=True),
    Column("end_reason", String(40), nullable=True),
    Column("data", Text, nullable=False),
)
Index("ix_dashboard_sessions_actor", dashboard_sessions.c.actor)

# --- access on the ledger, SCIM provisioning (migration 0011) ------------------------

# The seq of the newest access event about the actor (None: added before access was
# recorded; `baton db upgrade` and `baton init` write its genesis grant), and the
# identity provider's id for a person provisioned through SCIM.
actors.append_column(Column("access_seq", BigInteger, nullable=True))
actors.append_column(Column("external_id", String(200), nullable=True))

# SCIM clients' bearer tokens (`baton scim token`), stored as SHA-256 hashes.
scim_tokens = Table(
    "scim_tokens", metadata,
    Column("token_hash", String(64), primary_key=True),
    Column("created_at", String(32), nullable=False),
    Column("created_by", String(64), nullable=False),
    Column("revoked_at", String(32), nullable=True),
)

# Which mapped groups (the policy's [identity.groups]) a SCIM client put a person in.
scim_members = Table(
    "scim_members", metadata,
    Column("group_name", String(200), nullable=False),
    Column("handle", String(64), nullable=False),
    PrimaryKeyConstraint("group_name", "handle"),
)
Index("ix_scim_members_handle", scim_members.c.handle)

# The text index (audit.store.search_index) is made by migration 0012 alone: an FTS5 table
# (with its shadow tables) on SQLite, a tsvector under GIN on PostgreSQL; neither is a
# Table SQLAlchemy describes. Tables whose name starts with this are that index.
SEARCH_INDEX_PREFIX = "escalation_search"
