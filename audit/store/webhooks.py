"""Webhook subscriptions behind workflow's WebhookStore port, and the ledger records of
what happens to them and to notifications (records without an escalation, as
policy-applied is): webhook-subscribed, webhook-removed, webhook-secret-rotated,
webhook-disabled and notification-failed. No record holds a secret or a URL's path."""

from __future__ import annotations

import base64
import json
import secrets
import time
from datetime import datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from sqlalchemy import Connection, insert, select, update

from audit.reads import delivery_log
from audit.store import outbox
from audit.store.schema import webhooks
from workflow.model import rfc3339

if TYPE_CHECKING:
    from audit.store.uow import SqlUnitOfWork


def new_secret() -> str:
    """A Standard Webhooks secret: `whsec_` and 32 random bytes, base64."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


def system_record(action: str, *, actor: str, role: str, payload: dict[str, Any],
                  policy_version: str, now: datetime, rule: str) -> dict[str, Any]:
    """A ledger record that belongs to no escalation."""
    return {
        "v": 1, "escalation_id": None, "version": None, "action": action, "actor": actor,
        "role": role, "at": rfc3339(now), "from_state": None, "to_state": None,
        "from_owner": None, "to_owner": None, "tier": None, "payload": payload,
        "policy_version": policy_version, "rule": rule,
    }


def _shown(row: Any) -> dict[str, Any]:
    return {"id": row.id, "url": row.url, "events": json.loads(row.events),
            "description": row.description, "created_at": row.created_at,
            "created_by": row.created_by, "disabled": row.disabled_at is not None,
            "disabled_at": row.disabled_at, "disabled_reason": row.disabled_reason}


class SqlWebhooks:
    """Subscriptions, changed inside one unit of work with their audited records."""

    def __init__(self, uow: SqlUnitOfWork):
        self._uow = uow

    def _audit(self, action: str, webhook_id: str, *, actor: str, role: str,
               policy_version: str, now: datetime, **extra: Any) -> int:
        record = system_record(action, actor=actor, role=role,
                               payload={"webhook": webhook_id, **extra},
                               policy_version=policy_version, now=now,
                               rule="permission.manage-webhooks")
        return self._uow.append(record, [], now)

    def add(self, *, url: str, events: list[str], description: str | None, secret: str,
            actor: str, role: str, policy_version: str, now: datetime) -> dict[str, Any]:
        """Store a new subscription and its webhook-subscribed record; returns it (with
        the secret, shown this once)."""
        webhook_id = "wh_" + secrets.token_hex(8)
        self._uow.conn.execute(insert(webhooks).values(
            id=webhook_id, url=url, events=json.dumps(events), description=description,
            secret=secret, created_at=rfc3339(now), created_by=actor))
        self._audit("webhook-subscribed", webhook_id, actor=actor, role=role,
                    policy_version=policy_version, now=now,
                    host=urlsplit(url).hostname, events=events)
        found = self.get(webhook_id)
        assert found is not None
        return {**found, "secret": secret}

    def get(self, webhook_id: str) -> dict[str, Any] | None:
        """A subscription that was not removed, or None."""
        return find(self._uow.conn, webhook_id)

    def remove(self, webhook_id: str, *, actor: str, role: str, policy_version: str,
               now: datetime) -> None:
        """Remove it (the row stays for its delivery log); its pending messages go."""
        self._uow.conn.execute(update(webhooks).where(webhooks.c.id == webhook_id).values(
            removed_at=rfc3339(now)))
        outbox.cancel_target(self._uow.conn, webhook_id, time.time())
        self._audit("webhook-removed", webhook_id, actor=actor, role=role,
                    policy_version=policy_version, now=now)

    def rotate(self, webhook_id: str, *, secret: str, grace_seconds: float, actor: str,
               role: str, policy_version: str, now: datetime) -> dict[str, Any]:
        """A new secret; the old one signs beside it for `grace_seconds`."""
        current = self._uow.conn.execute(select(webhooks.c.secret).where(
            webhooks.c.id == webhook_id)).scalar_one()
        self._uow.conn.execute(update(webhooks).where(webhooks.c.id == webhook_id).values(
            secret=secret, previous_secret=current,
            previous_until=time.time() + grace_seconds))
        self._audit("webhook-secret-rotated", webhook_id, actor=actor, role=role,
                    policy_version=policy_version, now=now,
                    grace_seconds=int(grace_seconds))  # canonical JSON: no floats
        found = self.get(webhook_id)
        assert found is not None
        return {**found, "secret": secret, "previous_secret_valid_for": grace_seconds}


def find(conn: Connection, webhook_id: str) -> dict[str, Any] | None:
    """A subscription that was not removed (never its secret), or None."""
    row = conn.execute(select(webhooks).where(
        webhooks.c.id == webhook_id, webhooks.c.removed_at.is_(None))).first()
    return None if row is None else _shown(row)


def listing(conn: Connection) -> list[dict[str, Any]]:
    """Every subscription not removed, oldest first (never a secret)."""
    rows = conn.execute(select(webhooks).where(webhooks.c.removed_at.is_(None))
                        .order_by(webhooks.c.created_at, webhooks.c.id))
    return [_shown(r) for r in rows]


def signing(conn: Connection, webhook_id: str, now: float
            ) -> tuple[str, list[str], bool] | None:
    """(url, the secrets that sign now, active) of a subscription, or None if removed."""
    row = conn.execute(select(webhooks).where(webhooks.c.id == webhook_id)).first()
    if row is None or row.removed_at is not None:
        return None
    keys = [row.secret]
    if row.previous_secret and (row.previous_until or 0) > now:
        keys.append(row.previous_secret)
    return row.url, keys, row.disabled_at is None


def disable(conn: Connection, webhook_id: str, reason: str, now: datetime) -> None:
    """The receiver said it is gone: nothing more is sent to it."""
    conn.execute(update(webhooks).where(webhooks.c.id == webhook_id,
                                        webhooks.c.disabled_at.is_(None)).values(
        disabled_at=rfc3339(now), disabled_reason=reason))
    outbox.cancel_target(conn, webhook_id, time.time())


def message_log(conn: Connection, webhook_id: str, limit: int = 100) -> list[dict[str, Any]]:
    """A subscription's messages, newest first, each with its attempts."""
    return delivery_log.messages(conn, channel=outbox.WEBHOOK, target=webhook_id,
                                 limit=limit)
