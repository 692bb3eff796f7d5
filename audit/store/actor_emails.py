"""Where mail to an actor goes: an address beside the actor, never in the ledger."""

from __future__ import annotations

import re

from sqlalchemy import Connection, select, update

from audit.store.actors import ActorError
from audit.store.schema import actors

_ADDRESS = re.compile(r"^[^@\s<>,;]+@[^@\s<>,;]+\.[^@\s<>,;]+$")


def set_email(conn: Connection, handle: str, email: str | None) -> None:
    """Give an actor an email address (None removes it)."""
    if email is not None and (len(email) > 320 or not _ADDRESS.match(email)):
        raise ActorError(f"{email!r} is not an email address")
    result = conn.execute(update(actors).where(actors.c.handle == handle).values(email=email))
    if result.rowcount != 1:
        raise ActorError(f"no actor {handle!r}")


def address_of(conn: Connection, handle: str) -> str | None:
    """The address of an active actor, or None."""
    found = conn.execute(select(actors.c.email).where(
        actors.c.handle == handle, actors.c.revoked_at.is_(None))).scalar()
    return str(found) if found else None
