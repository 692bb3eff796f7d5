"""Actors, their tokens and mail addresses behind workflow's ActorAccounts port, written
in the unit of work's transaction."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from audit.store import actor_emails, actors

if TYPE_CHECKING:
    from audit.store.uow import SqlUnitOfWork


class SqlActorAccounts:
    """Actor rows, changed inside one unit of work."""

    def __init__(self, uow: SqlUnitOfWork):
        self._uow = uow

    def add(self, handle: str, roles: list[str], team: str | None, now: datetime, *,
            rotate: bool = False) -> str:
        """Create an actor (or, with rotate, give an existing one a new token); the token."""
        return actors.add(self._uow.conn, handle, roles, team, now, rotate=rotate)

    def revoke(self, handle: str, now: datetime) -> None:
        """Revoke an actor's token."""
        actors.revoke(self._uow.conn, handle, now)

    def set_email(self, handle: str, email: str | None) -> None:
        """Set (None: remove) where an actor's notifications are mailed."""
        actor_emails.set_email(self._uow.conn, handle, email)
