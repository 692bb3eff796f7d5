"""Actors bound to an OpenID Connect provider's subject, behind workflow.sign_on's
SignOnAccounts port. The binding is stored where a token's SHA-256 goes
(identity_claims.identity_key: `sso:` and 60 hex digits, which no pasted token hashes to),
so a dashboard session opened through the provider names it as its token, revoking the
actor ends those sessions, and nothing new is stored."""

from __future__ import annotations

import json
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import Connection, insert, select, update

from audit.store.schema import actors
from workflow.identity_claims import IdentityRefused
from workflow.model import Actor, rfc3339

if TYPE_CHECKING:
    from audit.store.uow import SqlUnitOfWork


def bound(conn: Connection, key: str) -> Actor | None:
    """The active actor bound to a provider's subject, or None."""
    row = conn.execute(select(actors.c.handle, actors.c.roles, actors.c.team).where(
        actors.c.token_hash == key, actors.c.revoked_at.is_(None))).first()
    if row is None:
        return None
    return Actor(row.handle, tuple(json.loads(row.roles)), row.team)


class SqlSignOnAccounts:
    """Enrolment inside one unit of work."""

    def __init__(self, uow: SqlUnitOfWork):
        self._uow = uow

    def enrol(self, *, actor: Actor, key: str, now: datetime) -> str:
        """Create the actor bound to `key`, or update the one bound to it; its handle.
        Raises IdentityRefused when the handle is someone else's or was revoked."""
        conn = self._uow.conn
        roles = json.dumps(sorted(set(actor.roles)))
        held = bound(conn, key)
        if held is not None:
            if held.roles != tuple(sorted(set(actor.roles))) or held.team != actor.team:
                conn.execute(update(actors).where(actors.c.handle == held.handle)
                             .values(roles=roles, team=actor.team))
            return held.handle
        other = conn.execute(select(actors.c.revoked_at).where(
            actors.c.handle == actor.handle)).first()
        if other is not None and other.revoked_at is not None:
            raise IdentityRefused("revoked", f"{actor.handle}'s access to Baton was revoked; "
                                             "an administrator must restore it")
        if other is not None:
            raise IdentityRefused("taken", f"the handle {actor.handle} belongs to another "
                                           "actor of Baton (a service account or another "
                                           "sign-on); an administrator must resolve it")
        conn.execute(insert(actors).values(handle=actor.handle, roles=roles, team=actor.team,
                                           token_hash=key, created_at=rfc3339(now)))
        return actor.handle
