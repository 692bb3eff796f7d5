"""Idempotent responses: the first response to a write, kept under its actor and key so
that a retry returns it instead of writing again."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, insert, select, update

from audit.store.db import recorder_of
from audit.store.schema import idempotency
from workflow.model import rfc3339

ERASED_BODY = "null"  # JSON null: the body is gone (the column is NOT NULL)


@dataclass(frozen=True)
class StoredResponse:
    """A response as first given, and the hash of the request that asked for it."""

    request_hash: str
    status: int
    body: dict[str, Any] | None  # None: erased with the escalation's content
    headers: dict[str, str]


class SqlIdempotency:
    """Stored responses, read and written in the unit of work's transaction (the write
    and its response are committed together)."""

    def __init__(self, conn: Connection):
        self._conn = conn

    def find(self, actor: str, key: str) -> StoredResponse | None:
        """The response stored under the actor's key, or None. Concurrent retries with the
        same key wait here for each other (to the end of the first one's transaction), so
        one writes and the others find its response: on SQLite the writer lock already
        serialises them; on PostgreSQL a transaction-scoped advisory lock on the key does."""
        conn = self._conn
        digest = hashlib.sha256(f"{actor}\x00{key}".encode()).digest()
        recorder_of(conn).serialise(conn, int.from_bytes(digest[:8], "big", signed=True))
        row = conn.execute(select(idempotency).where(
            idempotency.c.actor == actor, idempotency.c.key == key)).first()
        if row is None:
            return None
        return StoredResponse(row.request_hash, row.status, json.loads(row.body),
                              json.loads(row.headers))

    def save(self, actor: str, key: str, response: StoredResponse, *,
             escalation_id: str | None, at: datetime) -> None:
        """Keep a response under the actor's key (erasing the escalation's content
        deletes it too: it may quote the erased text)."""
        self._conn.execute(insert(idempotency).values(
            actor=actor, key=key, escalation_id=escalation_id,
            request_hash=response.request_hash, status=response.status,
            body=json.dumps(response.body), headers=json.dumps(response.headers),
            created_at=rfc3339(at)))

    def forget(self, escalation_id: str) -> None:
        """Drop the bodies of the responses stored for an escalation (its content is being
        erased, and they may quote it). Key and request hash stay, so that a retry finds
        its write was done instead of doing it again."""
        self._conn.execute(update(idempotency).where(
            idempotency.c.escalation_id == escalation_id).values(body=ERASED_BODY))
