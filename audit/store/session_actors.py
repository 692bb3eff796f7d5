"""The actor a dashboard session names. The session cookie holds the token's stored hash,
never the token; each request looks it up again, so revoking or rotating the token ends
every session signed in with it."""

from __future__ import annotations

import json

from sqlalchemy import Connection

from audit.store import fast_path
from workflow.model import Actor

_BY_HASH_SQL = ("SELECT handle, roles, team FROM actors "
                "WHERE token_hash = :h AND revoked_at IS NULL")


def by_token_hash(conn: Connection, token_hash: str) -> Actor | None:
    """The active actor whose token hashes to `token_hash`, or None."""
    row = fast_path.read_one(conn, _BY_HASH_SQL, {"h": token_hash})
    if row is None:
        return None
    return Actor(row[0], tuple(json.loads(row[1])), row[2])
