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


def matching(conn: Connection, q: str, *, in_pk_order: bool = False) -> ColumnElement[bool]:
    """A condition on `escalations` keeping those whose document holds every word of
    `q` (each as a prefix); a query with no word matches nothing. `in_pk_order`: the
    list walks escalations by pk (its default order), which lets PostgreSQL stop early."""
    found = words(q)
    if not found:
        return literal_column("1") == literal_column("0")
    if conn.dialect.name == "postgresql":
        return _pg_matching(conn, " & ".join(f"{w}:*" for w in found), in_pk_order)
    query = " ".join(f'"{w}"*' for w in found)
    inner = text("SELECT rowid FROM escalation_search "
                 "WHERE escalation_search MATCH :search_q")
    return escalations.c.pk.in_(inner.bindparams(search_q=query))


def _pg_matching(conn: Connection, query: str, in_pk_order: bool) -> ColumnElement[bool]:
    """PostgreSQL estimates a prefix query's matches without looking (a fixed share of
    the rows), so it picks the wrong plan both ways: it walks every document in pk order
    for a word that matches one row (62 ms at 100,000), and gathers and sorts every
    match of two common words through the GIN index (141 ms). Ask the index first for a
    few matches: when that is all there are, the list reads those rows by pk; when there
    are more, and the list walks by pk, each row's document is tested as it is walked
    (a correlated subquery the planner cannot turn into a join), so the walk stops at
    the page's end after about limit x rows / matches rows."""
    tsquery = "to_tsquery('simple', :search_q)"
    if in_pk_order:
        few = conn.execute(text(f"SELECT pk FROM escalation_search WHERE document @@ "
                                f"{tsquery} LIMIT :few"),
                           {"search_q": query, "few": FEW + 1}).scalars().all()
        if len(few) <= FEW:
            return escalations.c.pk.in_(few)
        # The operator's function, not the operator: PostgreSQL then assumes a third
        # of the rows match (not "a few"), so it expects the walk to end early and does
        # not compile the query with JIT for a scan of the whole table it will not make.
        walked = text(f"ts_match_vq((SELECT document FROM escalation_search AS s "
                      f"WHERE s.pk = escalations.pk), {tsquery})")
        return walked.bindparams(search_q=query)  # type: ignore[return-value]
    inner = text(f"SELECT pk FROM escalation_search WHERE document @@ {tsquery}")
    return escalations.c.pk.in_(inner.bindparams(search_q=query))
