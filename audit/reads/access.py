"""Access reviews: who held which role and team at an instant, since when, granted by
whom, through which path, folded from the ledger's access events (the same fold the
offline verifier runs on an export: audit/verifier/access_report.py)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, select

from audit.store import policy_refs
from audit.store.schema import actors, ledger, scim_members
from audit.verifier.access_report import ACCESS_ACTIONS, AccessFold, fold


def _events(conn: Connection) -> Iterator[tuple[int, dict[str, Any]]]:
    query = select(ledger.c.seq, ledger.c.body).where(
        ledger.c.action.in_(ACCESS_ACTIONS)).order_by(ledger.c.seq)
    rows = conn.execute(query).all()
    for (seq, _), rec in zip(rows, policy_refs.records(conn, [r[1] for r in rows]),
                             strict=True):
        yield int(seq), rec


def at_instant(conn: Connection, at: datetime | None) -> AccessFold:
    """The access in effect at `at` (None: now), with any contradictions the fold found."""
    return fold(_events(conn), at)


def report(conn: Connection, at: datetime | None) -> dict[str, Any]:
    """The access review as the API and the CLI show it."""
    folded = at_instant(conn, at)
    return {"at": None if at is None else at.isoformat().replace("+00:00", "Z"),
            "items": folded.rows(), "problems": folded.problems}


def _user(conn: Connection, r: Any) -> dict[str, Any]:
    groups = conn.execute(select(scim_members.c.group_name).where(
        scim_members.c.handle == r.handle).order_by(scim_members.c.group_name)).scalars()
    return {"handle": r.handle, "external_id": r.external_id,
            "active": r.revoked_at is None, "created_at": r.created_at,
            "groups": list(groups)}


def scim_user(conn: Connection, handle: str) -> dict[str, Any] | None:
    """A person as SCIM shows them, or None."""
    r = conn.execute(select(actors).where(actors.c.handle == handle)).first()
    return None if r is None else _user(conn, r)


def scim_users(conn: Connection, user_name: str | None, start: int,
               count: int) -> tuple[int, list[dict[str, Any]]]:
    """People (one userName, when given), a page from the 1-based `start`; the total."""
    query = select(actors).order_by(actors.c.handle)
    if user_name is not None:
        query = query.where(actors.c.handle == user_name)
    rows = list(conn.execute(query))
    return len(rows), [_user(conn, r) for r in rows[start - 1:start - 1 + count]]


def scim_members_of(conn: Connection, group: str) -> list[str]:
    """The people in a mapped group."""
    return list(conn.execute(select(scim_members.c.handle).where(
        scim_members.c.group_name == group).order_by(scim_members.c.handle)).scalars())
