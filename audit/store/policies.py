"""Policy versions in the database: the one in force, and one by its version (applying
one is an audited event: audit.store.policy_store)."""

from __future__ import annotations

from functools import lru_cache

from sqlalchemy import Connection

from audit.store import fast_path
from workflow import policy_loader
from workflow.policy import Policy


@lru_cache(maxsize=32)
def _parse(text: str) -> Policy:
    return policy_loader.loads(text, "stored policy")


_BY_VERSION: dict[str, Policy] = {}
# active()'s read: a unit of work about to act sends it ahead (no parameters).
ACTIVE = fast_path.Query("SELECT version FROM policies ORDER BY ordinal DESC LIMIT 1")
_BY_VERSION_SQL = ("SELECT text, applied_at FROM policies WHERE version = :v "
                   "ORDER BY ordinal LIMIT 1")


def active(conn: Connection) -> Policy | None:
    """The policy in force (the last applied), or None before `baton init`. Only the
    version is read per call; the text is parsed once per process and version."""
    row = ACTIVE.fetch_one(conn, {})
    if row is None:
        return None
    return of_version(conn, row[0])


def of_version(conn: Connection, version: str) -> Policy:
    """The policy of a version known to be stored (read and parsed once per process)."""
    found = _BY_VERSION.get(version)
    if found is None:
        text = fast_path.read_one(conn, _BY_VERSION_SQL, {"v": version})[0]
        found = _BY_VERSION.setdefault(version, _parse(text))
    return found


def by_version(conn: Connection, version: str) -> tuple[Policy, str, str] | None:
    """A policy by its version: (policy, text, applied_at), or None."""
    row = fast_path.read_one(conn, _BY_VERSION_SQL, {"v": version})
    if row is None:
        return None
    return _parse(row[0]), row[0], row[1]
