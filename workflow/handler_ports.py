"""The ports the service layer's handlers are given besides workflow.ports: where units of
work come from, idempotent requests, and the stores some commands write beside the ledger
(audit/ implements each; the composition root, api/container.py, hands them over)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any, Protocol, TypeVar

from workflow.ports import UnitOfWork


class Responses(Protocol):
    """First responses to idempotent requests, kept in the write's transaction
    (audit/store/idempotency.py implements it)."""

    def find(self, actor: str, key: str) -> Any | None:
        """The response stored under the actor's key, or None."""

    def save(self, actor: str, key: str, response: Any, *, escalation_id: str | None,
             at: datetime) -> None:
        """Keep a response under the actor's key."""


class LogHead(Protocol):
    """The part of the log head a command asks about."""

    @property
    def checkpoint_size(self) -> int:
        """The tree size of the newest signed checkpoint (0: none yet)."""


class WriteUnitOfWork(UnitOfWork, Protocol):
    """The unit of work of a request: it keeps idempotent responses, sends an action's
    reads ahead, and signs checkpoints (audit/store/uow.py's SqlUnitOfWork)."""

    @property
    def idempotency(self) -> Responses:
        """Stored first responses."""

    def prepare_to_act(self, escalation_id: str) -> None:
        """Send ahead the reads an action on the escalation makes."""

    def head(self) -> LogHead:
        """The log head, read under the append lock."""

    def checkpoint(self, now: datetime, force: bool = False) -> str | None:
        """Sign a checkpoint now when forced or due; the note, or None without a key."""


U = TypeVar("U", bound=WriteUnitOfWork)
# Where a handler's unit of work comes from (the container passes `baton.uow`, or the
# API's variant on the request's connection).
UnitOfWorkFactory = Callable[[], U]


class Once(Protocol):
    """An idempotent request (an Idempotency-Key): a retry finds its first response
    instead of writing again. The handler says when, inside its transaction; the entry
    point says what is kept and what a retry is answered."""

    def check(self, responses: Responses) -> None:
        """Raise, with the first response or why there is none, when this request was
        made before; return when it is new."""

    def keep(self, responses: Responses, written: Any, at: datetime) -> None:
        """Keep the response to this first request (`written`: what the handler did and
        read), in the write's transaction, before it commits."""


class ActorAccounts(Protocol):
    """Actors, their tokens and mail addresses (audit/store/actor_accounts.py)."""

    def add(self, handle: str, roles: list[str], team: str | None, now: datetime, *,
            rotate: bool = False) -> str:
        """Create an actor (or, with rotate, give an existing one a new token); the token."""

    def revoke(self, handle: str, now: datetime) -> None:
        """Revoke an actor's token."""

    def set_email(self, handle: str, email: str | None) -> None:
        """Set (None: remove) where an actor's notifications are mailed."""


class Redeliveries(Protocol):
    """Outbox messages sent again (audit/store/redeliveries.py)."""

    def requeue(self, webhook_id: str, delivery_id: int, at: float) -> bool:
        """Put a subscription's message back at the start of its retry schedule; False
        when there is no such message."""
