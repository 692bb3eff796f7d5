"""On SQLite, ledger.at holds integer microseconds since the Unix epoch (6 bytes where
the RFC 3339 text took 27, in the row and in ix_ledger_at, ix_ledger_action_at and
ix_ledger_actor_at: about 75 B an event; audit/store/ledger_time.py converts both ways).

SQLite gives a column the affinity of its declared type, and a TEXT column turns every
integer written to it into text, so the table is rebuilt with `at INTEGER`; its indexes
are made again, and its guards (triggers) as they were. Every value must be in the
ledger's one format (YYYY-MM-DDTHH:MM:SS.ffffffZ, workflow/timestamps.py), or digits
alone (microseconds written by this revision's code before the upgrade ran); the upgrade
names the first seq that is neither and changes nothing. PostgreSQL keeps the text.

Revision ID: 0017
Revises: 0016
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None

_COLUMNS = "seq, escalation_id, escalation_seq, action, actor, owner, at, body, chain_hash"
_INDEXES = (("ix_ledger_actor_at", ["actor", "at"]), ("ix_ledger_action_at", ["action", "at"]),
            ("ix_ledger_at", ["at"]))
_FORMAT = ("[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]T[0-9][0-9]:[0-9][0-9]:[0-9][0-9]."
           "[0-9][0-9][0-9][0-9][0-9][0-9]Z")
_DIGITS = "at <> '' AND at NOT GLOB '*[^0-9]*'"
# Exact arithmetic: whole seconds from strftime('%s'), microseconds from the text. Digits
# alone are microseconds already: written by this revision's code before the upgrade ran
# (a TEXT column keeps an integer as its digits).
_TO_MICROS = (f"CASE WHEN {_DIGITS} THEN CAST(at AS INTEGER) ELSE "
              "CAST(strftime('%s', substr(at, 1, 19)) AS INTEGER) * 1000000 "
              "+ CAST(substr(at, 21, 6) AS INTEGER) END")
_TO_TEXT = ("strftime('%Y-%m-%dT%H:%M:%S', at / 1000000, 'unixepoch') || '.' "
            "|| printf('%06d', at % 1000000) || 'Z'")


def _rebuild(at_type: sa.types.TypeEngine, at_value: str) -> None:
    bind = op.get_bind()
    guards = [sql for (sql,) in bind.execute(sa.text(
        "SELECT sql FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'ledger'"))]
    op.create_table(
        "ledger_new",
        sa.Column("seq", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("escalation_id", sa.String(64), nullable=True),
        sa.Column("escalation_seq", sa.Integer, nullable=True),
        sa.Column("action", sa.String(40), nullable=False),
        sa.Column("actor", sa.String(64), nullable=False),
        sa.Column("owner", sa.String(64), nullable=True),
        sa.Column("at", at_type, nullable=False),
        sa.Column("body", sa.LargeBinary, nullable=False),
        sa.Column("chain_hash", sa.LargeBinary(32), nullable=False),
        sa.UniqueConstraint("escalation_id", "escalation_seq", name="uq_ledger_escalation_seq"),
    )
    copied = _COLUMNS.replace(" at,", f" {at_value},")
    op.execute(f"INSERT INTO ledger_new ({_COLUMNS}) SELECT {copied} FROM ledger ORDER BY seq")
    op.execute("DROP TABLE ledger")  # and its indexes and triggers, firing none
    op.execute("ALTER TABLE ledger_new RENAME TO ledger")
    for name, columns in _INDEXES:
        op.create_index(name, "ledger", columns)
    for statement in guards:
        op.execute(statement)


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name != "sqlite":
        return
    odd = bind.execute(sa.text(f"SELECT seq, at FROM ledger WHERE at NOT GLOB :f AND NOT "
                               f"({_DIGITS}) ORDER BY seq LIMIT 1"), {"f": _FORMAT}).first()
    if odd is not None:
        raise RuntimeError(f"ledger seq {odd.seq}: at {odd.at!r} is not the ledger's "
                           "timestamp format (YYYY-MM-DDTHH:MM:SS.ffffffZ); nothing changed")
    _rebuild(sa.Integer(), _TO_MICROS)


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        _rebuild(sa.String(32), _TO_TEXT)
