"""Actors and their API tokens (stored as SHA-256 hashes, never in clear)."""

from __future__ import annotations

import hashlib
import json
import secrets
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, insert, select, update

from audit.errors import AuditError
from audit.store import fast_path, policies
from audit.store.schema import actors, scim_tokens
from workflow.model import Actor, rfc3339


class ActorError(AuditError):
    """An actor that cannot be added or revoked as asked."""


def token_hash(token: str) -> str:
    """The stored form of a token."""
    return hashlib.sha256(token.encode()).hexdigest()


def add(conn: Connection, handle: str, roles: list[str], team: str | None,
        now: datetime, rotate: bool = False) -> str:
    """Create an actor (or, with rotate, give an existing one a new token); returns it."""
    token = "bt_" + secrets.token_urlsafe(32)
    existing = conn.execute(select(actors).where(actors.c.handle == handle)).first()
    if existing is not None and not rotate:
        raise ActorError(f"actor {handle!r} already exists")
    values = {"roles": json.dumps(sorted(set(roles))), "team": team,
              "token_hash": token_hash(token), "revoked_at": None}
    if existing is None:
        conn.execute(insert(actors).values(handle=handle, created_at=rfc3339(now), **values))
    else:
        conn.execute(update(actors).where(actors.c.handle == handle).values(**values))
    return token


def new_token() -> str:
    """A fresh API token."""
    return "bt_" + secrets.token_urlsafe(32)


def row(conn: Connection, handle: str) -> Any | None:
    """The actor's row, or None."""
    return conn.execute(select(actors).where(actors.c.handle == handle)).first()


def put(conn: Connection, handle: str, now: datetime, **values: Any) -> None:
    """Insert the actor (with `values`) or update its row with them."""
    if "roles" in values:
        values["roles"] = json.dumps(sorted(set(values["roles"])))
    if row(conn, handle) is None:
        values.setdefault("roles", "[]")
        conn.execute(insert(actors).values(handle=handle, created_at=rfc3339(now), **values))
    else:
        conn.execute(update(actors).where(actors.c.handle == handle).values(**values))


def revoke(conn: Connection, handle: str, now: datetime) -> None:
    """Revoke an actor's token (the actor stays on the record)."""
    result = conn.execute(update(actors).where(
        actors.c.handle == handle, actors.c.revoked_at.is_(None)).values(
        revoked_at=rfc3339(now), token_hash=None))
    if result.rowcount != 1:
        raise ActorError(f"no active actor {handle!r}")


def by_token(conn: Connection, token: str) -> Actor | None:
    """The active actor holding a token, or None."""
    found = signed_in(conn, token)
    return None if found is None else found[0]


# A request's authentication reads the policy version in force in the same statement:
# the request's read gate then decides by it without a round trip of its own.
_SIGNED_IN_SQL = ("SELECT handle, roles, team, (" + policies.ACTIVE.sql + ") FROM actors "
                  "WHERE token_hash = :h AND revoked_at IS NULL")


def signed_in(conn: Connection, token: str) -> tuple[Actor, str | None] | None:
    """The active actor holding a token and the version of the policy in force (None
    before `baton init`), or None for an unknown or revoked token."""
    row = fast_path.read_one(conn, _SIGNED_IN_SQL, {"h": token_hash(token)})
    if row is None:
        return None
    return Actor(row[0], tuple(json.loads(row[1])), row[2]), row[3]


def listing(conn: Connection) -> list[dict[str, Any]]:
    """Every actor, without tokens."""
    return [{"handle": r.handle, "roles": json.loads(r.roles), "team": r.team,
             "created_at": r.created_at, "revoked_at": r.revoked_at}
            for r in conn.execute(select(actors).order_by(actors.c.handle))]


def exists(conn: Connection, handle: str) -> bool:
    """Whether an actor with this handle was ever added (revoked actors stay on record)."""
    return conn.execute(select(actors.c.handle).where(actors.c.handle == handle)).first() \
        is not None


def scim_client(conn: Connection, token: str) -> str | None:
    """The prefix of a running SCIM client token's hash, or None."""
    stored = token_hash(token)
    found = conn.execute(select(scim_tokens.c.token_hash).where(
        scim_tokens.c.token_hash == stored, scim_tokens.c.revoked_at.is_(None))).scalar()
    return None if found is None else str(found)[:16]


def scim_tokens_listing(conn: Connection) -> list[dict[str, Any]]:
    """Every SCIM client token, by its hash's prefix (never the token)."""
    return [{"token": r.token_hash[:16], "created_at": r.created_at,
             "created_by": r.created_by, "revoked_at": r.revoked_at}
            for r in conn.execute(select(scim_tokens).order_by(scim_tokens.c.created_at))]
