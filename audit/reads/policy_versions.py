"""Policy versions as readers see them: the text, its canonical content, when applied."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import Connection

from audit.store import policies


def document(conn: Connection, version: str) -> dict[str, Any] | None:
    """A policy version's document (version, name, applied_at, text, content), or None."""
    found = policies.by_version(conn, version)
    if found is None:
        return None
    policy, text, applied_at = found
    return {"version": policy.version, "name": policy.name, "applied_at": applied_at,
            "text": text, "content": json.loads(policy.canonical)}


def current(conn: Connection) -> dict[str, Any] | None:
    """The document of the policy in force, or None before any policy is applied."""
    active = policies.active(conn)
    return None if active is None else document(conn, active.version)
