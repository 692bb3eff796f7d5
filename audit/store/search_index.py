"""The escalations' text index (migration 0012): each escalation's customer id, title,
description and customer name as one document, written in the transaction that writes
the content (SqlUnitOfWork.record) and emptied of the erased text by the erasure
(SqlContent.erase), so erased words never match. SQLite keeps it in FTS5, PostgreSQL as a
tsvector under a GIN index; both match every word of the query as a prefix.

The escalation list (audit.reads.escalation_list) filters by `matching(q)`."""

from __future__ import annotations

import re

from sqlalchemy import ColumnElement, Connection, literal_column, text

from audit.store import fast_path
from audit.store.schema import escalations
from workflow.model import Escalation

# The personal fields searched, as the content table names them.
SEARCHED = ("title", "description", "customer_name")
# At most this many words of a query are matched (the rest are ignored).
MAX_WORDS = 8
# PostgreSQL: up to this many matches are read from the index and looked up by pk.
FEW = 500
_TSQUERY = "to_tsquery('simple', :search_q)"
_WORD = re.compile(r"\w+", re.UNICODE)

# PostgreSQL's parser keeps "acme-7" as "acme" and "-7": split on what is not a word, as
# `words` splits a query.
_PG_DOCUMENT = "to_tsvector('simple', regexp_replace({}, '\\W+', ' ', 'g'))"

_SQL = {
    "sqlite": {
        "add": "INSERT INTO escalation_search (rowid, body) "
               "SELECT pk, :body FROM escalations WHERE id = :id",
        "drop": "DELETE FROM escalation_search WHERE rowid = "
                "(SELECT pk FROM escalations WHERE id = :id)",
        # The FTS5 index keeps a deleted document's words in its older segments until
        # they merge: merging them all now leaves no erased word in the file.
        "keep_id": "INSERT INTO escalation_search (rowid, body) "
                   "SELECT pk, customer_id FROM escalations WHERE id = :id",
        "compact": "INSERT INTO escalation_search (escalation_search) VALUES ('optimize')",
    },
    "postgresql": {
        "add": "INSERT INTO escalation_search (pk, document) "
               f"SELECT pk, {_PG_DOCUMENT.format(':body')} FROM escalations WHERE id = :id",
        "drop": "DELETE FROM escalation_search WHERE pk = "
                "(SELECT pk FROM escalations WHERE id = :id)",
        "keep_id": "INSERT INTO escalation_search (pk, document) SELECT pk, "
                   f"{_PG_DOCUMENT.format('customer_id')} FROM escalations WHERE id = :id",
        "compact": "",
    },
}


def words(q: str) -> list[str]:
    """The words of a query, lower case, as the index splits them."""
    return [w.lower() for w in _WORD.findall(q)][:MAX_WORDS]


def _sql(conn: Connection) -> dict[str, str]:
    return _SQL["postgresql" if conn.dialect.name == "postgresql" else "sqlite"]


def index(conn: Connection, escalation: Escalation, texts: dict[str, str]) -> None:
    """Index an escalation just opened (after its projection row is written): its
    customer id and the searched texts among `texts` (field -> text)."""
    body = " ".join([escalation.customer_id, *(texts[f] for f in SEARCHED if texts.get(f))])
    fast_path.write(conn, _sql(conn)["add"], {"id": escalation.id, "body": body})


def forget_texts(conn: Connection, escalation_id: str) -> None:
    """The escalation's texts were erased: its document keeps only its customer id (kept
    forever, not personal by itself)."""
    sql = _sql(conn)
    fast_path.write(conn, sql["drop"], {"id": escalation_id})
    fast_path.write(conn, sql["keep_id"], {"id": escalation_id})
    if sql["compact"]:
        fast_path.write(conn, sql["compact"], {})


def matching(conn: Connection, q: str, *, walked: str | None = None
             ) -> ColumnElement[bool]:
    """A condition on `escalations` keeping those whose document holds every word of
    `q` (each as a prefix); a query with no word matches nothing. `walked` is the order
    the list walks in ("opened": by pk, "next_due": along ix_escalations_earliest_due)
    when it stops at the end of a page: the condition is then shaped so that the
    database stops there too (see `_few`); None leaves the plan to the database."""
    found = words(q)
    if not found:
        return literal_column("1") == literal_column("0")
    postgresql = conn.dialect.name == "postgresql"
    if postgresql:
        query = " & ".join(f"{w}:*" for w in found)
        matches = "SELECT pk FROM escalation_search WHERE document @@ " + _TSQUERY
    else:
        query = " ".join(f'"{w}"*' for w in found)
        matches = "SELECT rowid FROM escalation_search WHERE escalation_search MATCH :search_q"
    if walked is not None:
        few = _few(conn, matches, query)
        if few is not None:
            return escalations.c.pk.in_(few)
        if postgresql:
            # The operator's function, not the operator: PostgreSQL then assumes a third
            # of the rows match (not "a few"), so it expects the walk to end early and
            # does not compile the query with JIT for a scan it will not make.
            tested = text("ts_match_vq((SELECT document FROM escalation_search AS s "
                          f"WHERE s.pk = escalations.pk), {_TSQUERY})")
            return tested.bindparams(search_q=query)  # type: ignore[return-value]
        if walked == "next_due":
            # The unary + keeps SQLite from driving the query from the matches (and
            # sorting them all by deadline): it walks the deadline index and probes.
            probed = text(f"+escalations.pk IN ({matches})")
            return probed.bindparams(search_q=query)  # type: ignore[return-value]
    return escalations.c.pk.in_(text(matches).bindparams(search_q=query))


def _few(conn: Connection, matches: str, query: str) -> list[int] | None:
    """The pks of the matches when there are at most FEW, else None (one index read).
    Neither database knows beforehand how many rows a prefix query matches (PostgreSQL
    assumes a fixed share; SQLite drives the query from the matches), so each picks the
    wrong plan for some queries: reading every match of two common words and sorting them
    (PostgreSQL 141 ms at 100,000 escalations), or walking every row for a word that
    matches one (62 ms). A few matches are read by pk; many are tested as the list walks
    its own order, which stops after about limit x rows / matches rows."""
    probe = f"{matches} LIMIT :few"
    if conn.dialect.name == "postgresql":
        # Planned for every match, so through the GIN index: under a bare LIMIT the
        # planner expects to reach FEW rows soon and scans the table for them, every row
        # of it for a word that matches one (35 ms at 100,000). Read lazily, it stops at
        # FEW all the same.
        probe = f"WITH m AS MATERIALIZED ({matches}) SELECT pk FROM m LIMIT :few"
    found = conn.execute(text(probe), {"search_q": query, "few": FEW + 1}).scalars().all()
    return list(found) if len(found) <= FEW else None
