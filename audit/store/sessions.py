"""Dashboard sessions behind workflow.dashboard_sessions' SessionStore port, and the
ledger records of signing in and out (records without an escalation, as policy-applied
is). A session is stored by the SHA-256 of its id and names its token by the token's
stored hash; no record holds either in full."""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, insert, select, update

from audit.store.schema import actors, dashboard_sessions
from audit.store.webhooks import system_record
from workflow.dashboard_sessions import SIGNED_IN_ACTION, SIGNED_OUT_ACTION, Stored
from workflow.model import Actor, rfc3339

if TYPE_CHECKING:
    from audit.store.uow import SqlUnitOfWork

# How much of a hash the ledger and the CLI show: enough to tell sessions apart.
SHOWN = 16


def id_hash(session_id: str) -> str:
    """The stored form of a session id."""
    return hashlib.sha256(session_id.encode()).hexdigest()


class SqlSessions:
    """Sessions, opened and ended inside one unit of work with their ledger records."""

    def __init__(self, uow: SqlUnitOfWork):
        self._uow = uow

    def _record(self, action: str, *, id_hash: str, actor: str, role: str, rule: str,
                policy_version: str, now: datetime, via: str | None = None,
                **extra: Any) -> int:
        record = system_record(action, actor=actor, role=role,
                               payload={"session": id_hash[:SHOWN], **extra},
                               policy_version=policy_version, now=now, rule=rule)
        if via is not None:
            record["via"] = via  # signed on through the provider: the claim that granted it
        return self._uow.append(record, [], now)

    def start(self, *, id_hash: str, actor: str, token_id: str, role: str, rule: str,
              policy_version: str, now: datetime, via: str | None = None) -> int:
        """Store a new session and its dashboard-signed-in record; its ledger seq."""
        at = rfc3339(now)
        self._uow.conn.execute(insert(dashboard_sessions).values(
            id_hash=id_hash, actor=actor, token_id=token_id, created_at=at,
            last_seen_at=at, data="{}"))
        return self._record(SIGNED_IN_ACTION, id_hash=id_hash, actor=actor, role=role,
                            rule=rule, policy_version=policy_version, now=now,
                            token=token_id[:SHOWN], via=via)

    def end(self, *, id_hash: str, why: str, actor: str, role: str, rule: str,
            policy_version: str, now: datetime) -> int | None:
        """End a running session with its dashboard-signed-out record (None: it was not
        running)."""
        row = self._uow.conn.execute(select(dashboard_sessions.c.actor).where(
            dashboard_sessions.c.id_hash == id_hash,
            dashboard_sessions.c.ended_at.is_(None))).first()
        if row is None:
            return None
        self._uow.conn.execute(update(dashboard_sessions).where(
            dashboard_sessions.c.id_hash == id_hash).values(
            ended_at=rfc3339(now), end_reason=why, data="{}"))
        return self._record(SIGNED_OUT_ACTION, id_hash=id_hash, actor=actor, role=role,
                            rule=rule, policy_version=policy_version, now=now, why=why,
                            holder=row.actor)

    def keep(self, *, id_hash: str, data: dict[str, Any] | None, seen: datetime) -> None:
        """Write its data (when given) and when it was last seen."""
        values: dict[str, Any] = {"last_seen_at": rfc3339(seen)}
        if data is not None:
            values["data"] = json.dumps(data)
        self._uow.conn.execute(update(dashboard_sessions).where(
            dashboard_sessions.c.id_hash == id_hash,
            dashboard_sessions.c.ended_at.is_(None)).values(**values))

    def close(self, *, id_hash: str, why: str, now: datetime) -> None:
        """Mark a session that ran out as ended."""
        self._uow.conn.execute(update(dashboard_sessions).where(
            dashboard_sessions.c.id_hash == id_hash,
            dashboard_sessions.c.ended_at.is_(None)).values(
            ended_at=rfc3339(now), end_reason=why, data="{}"))


def _when(text: str | None) -> datetime | None:
    return None if text is None else datetime.fromisoformat(text.replace("Z", "+00:00"))


def lookup(conn: Connection, session_hash: str) -> Stored | None:
    """A session by its id's hash, with its actor while the token it was opened with is
    still that actor's active token; None when there is no such session."""
    s, a = dashboard_sessions, actors
    row = conn.execute(
        select(s, a.c.roles, a.c.team, a.c.handle.label("active"))
        .select_from(s.outerjoin(a, (a.c.token_hash == s.c.token_id)
                                 & (a.c.handle == s.c.actor) & a.c.revoked_at.is_(None)))
        .where(s.c.id_hash == session_hash)).first()
    if row is None:
        return None
    actor = None if row.active is None else Actor(row.actor, tuple(json.loads(row.roles)),
                                                  row.team)
    created, seen = _when(row.created_at), _when(row.last_seen_at)
    assert created is not None and seen is not None
    return Stored(row.actor, actor, created, seen, _when(row.ended_at), row.end_reason,
                  json.loads(row.data))


def listing(conn: Connection, actor: str | None = None) -> list[dict[str, Any]]:
    """Every session (of one actor, when named), newest first, by hash prefix."""
    s = dashboard_sessions
    query = select(s).order_by(s.c.created_at.desc(), s.c.id_hash)
    if actor is not None:
        query = query.where(s.c.actor == actor)
    return [{"id_hash": r.id_hash, "session": r.id_hash[:SHOWN], "actor": r.actor,
             "token": r.token_id[:SHOWN], "created_at": r.created_at,
             "last_seen_at": r.last_seen_at, "ended_at": r.ended_at, "end_reason": r.end_reason}
            for r in conn.execute(query)]


def by_prefix(conn: Connection, prefix: str) -> list[str]:
    """The full hashes of the sessions whose hash starts with `prefix`."""
    s = dashboard_sessions
    return [r[0] for r in conn.execute(select(s.c.id_hash).where(
        s.c.id_hash.like(prefix.replace("%", "").replace("_", "") + "%")).limit(2))]
