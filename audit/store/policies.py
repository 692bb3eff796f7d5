"""Policy versions in the database: applying one is an audited event."""

from __future__ import annotations

from datetime import datetime
from functools import lru_cache
from typing import TYPE_CHECKING

from sqlalchemy import Connection, insert, select

from audit.store import fast_path
from audit.store.schema import policies
from workflow import policy_loader
from workflow.model import rfc3339
from workflow.policy import Policy

if TYPE_CHECKING:  # the unit of work sends this module's read ahead: no import cycle
    from audit.store.uow import SqlUnitOfWork


@lru_cache(maxsize=32)
def _parse(text: str) -> Policy:
    return policy_loader.loads(text, "stored policy")


_BY_VERSION: dict[str, Policy] = {}
_LATEST_SQL = "SELECT version FROM policies ORDER BY ordinal DESC LIMIT 1"


def prefetch_active(conn: Connection) -> None:
    """Send active()'s read ahead (see fast_path.prefetch)."""
    fast_path.prefetch(conn, _LATEST_SQL, {})


def active(conn: Connection) -> Policy | None:
    """The policy in force (the last applied), or None before `baton init`. Only the
    version is read per call; the text is parsed once per process and version."""
    row = fast_path.read_one(conn, _LATEST_SQL, {})
    if row is None:
        return None
    version = row[0]
    found = _BY_VERSION.get(version)
    if found is None:
        text = conn.execute(select(policies.c.text).where(policies.c.version == version)
                            .limit(1)).scalar_one()
        found = _BY_VERSION.setdefault(version, _parse(text))
    return found


def by_version(conn: Connection, version: str) -> tuple[Policy, str, str] | None:
    """A policy by its version: (policy, text, applied_at), or None."""
    row = conn.execute(select(policies).where(policies.c.version == version)
                       .order_by(policies.c.ordinal).limit(1)).first()
    if row is None:
        return None
    return _parse(row.text), row.text, row.applied_at


def apply(uow: SqlUnitOfWork, text: str, *, actor: str, role: str, now: datetime,
          source: str = "<policy>") -> tuple[Policy, int | None]:
    """Validate and apply policy text; an unchanged policy writes nothing (seq None)."""
    new = policy_loader.loads(text, source)
    current = active(uow.conn)
    if current is not None and current.version == new.version:
        return new, None
    record = {
        "v": 1, "escalation_id": None, "version": None, "action": "policy-applied",
        "actor": actor, "role": role, "at": rfc3339(now), "from_state": None,
        "to_state": None, "from_owner": None, "to_owner": None, "tier": None,
        "payload": {"name": new.name, "version": new.version,
                    "previous_version": current.version if current else None},
        "policy_version": new.version, "rule": "policy.apply",
    }
    seq = uow.append(record, [], now)
    uow.conn.execute(insert(policies).values(
        version=new.version, name=new.name, text=text, applied_at=rfc3339(now),
        applied_by=actor, seq=seq))
    return new, seq
