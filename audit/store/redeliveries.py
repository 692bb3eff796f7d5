"""Outbox messages sent again, behind workflow's Redeliveries port, in the unit of work's
transaction."""

from __future__ import annotations

from typing import TYPE_CHECKING

from audit.store import outbox

if TYPE_CHECKING:
    from audit.store.uow import SqlUnitOfWork


class SqlRedeliveries:
    """An operator's retries of the outbox's messages."""

    def __init__(self, uow: SqlUnitOfWork):
        self._uow = uow

    def requeue(self, webhook_id: str, delivery_id: int, at: float) -> bool:
        """Put a subscription's message back at the start of its retry schedule; False
        when there is no such message."""
        return outbox.requeue(self._uow.conn, webhook_id, delivery_id, at)
