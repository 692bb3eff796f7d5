"""escalation_search: the text index behind the list's `q=` (title, description, customer
id and name). SQLite: an FTS5 table whose rowid is the escalation's pk; PostgreSQL: a
tsvector per escalation under a GIN index. Written in the transaction that writes the
content (audit.store.search_index) and emptied of erased text by the erasure; filled here
from the content the database holds.

Revision ID: 0012
Revises: 0010 (a placeholder: 0011 is written beside this one; the lead rechains)
"""

from __future__ import annotations

from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

# The document of every escalation: its customer id and the searched texts it still has.
_DOCUMENTS = """
SELECT e.pk AS pk, e.customer_id || ' ' || COALESCE({concat}, '') AS body
FROM escalations e LEFT JOIN content c
  ON c.escalation_id = e.id AND c.field IN ('title', 'description', 'customer_name')
GROUP BY e.pk, e.customer_id
"""


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("CREATE TABLE escalation_search (pk BIGINT PRIMARY KEY, "
                   "document TSVECTOR NOT NULL)")
        op.execute("CREATE INDEX ix_escalation_search ON escalation_search "
                   "USING GIN (document)")
        op.execute("INSERT INTO escalation_search (pk, document) SELECT pk, "
                   "to_tsvector('simple', regexp_replace(body, '\\W+', ' ', 'g')) FROM ("
                   + _DOCUMENTS.format(concat="string_agg(c.text, ' ' ORDER BY c.seq)")
                   + ") docs")
        op.execute("GRANT SELECT, INSERT, UPDATE, DELETE ON escalation_search TO baton_app")
    else:
        op.execute("CREATE VIRTUAL TABLE escalation_search USING fts5(body, "
                   "tokenize = 'unicode61 remove_diacritics 2')")
        op.execute("INSERT INTO escalation_search (rowid, body) SELECT pk, body FROM ("
                   + _DOCUMENTS.format(concat="group_concat(c.text, ' ')") + ")")


def downgrade() -> None:
    op.execute("DROP TABLE escalation_search")
