"""Managing webhook subscriptions: who may, which targets are acceptable, which event
types exist. Subscribing, removing and rotating a secret are audited (never the secret)."""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from workflow.authority import enforce, permit
from workflow.catalogue import CATALOGUE
from workflow.errors import PayloadInvalid, WorkflowError
from workflow.model import Actor
from workflow.notify import EVERYTHING, event_type
from workflow.policy import Policy
from workflow.ports import WebhookStore

PERMISSION = "manage-webhooks"
DEFAULT_GRACE_SECONDS = 86400.0


class SubscriptionNotFound(WorkflowError):
    """No such webhook subscription (or it was removed)."""

    def __init__(self, webhook_id: str):
        self.webhook_id = webhook_id
        super().__init__(f"no webhook subscription {webhook_id!r}")


def event_types() -> list[str]:
    """Every type a subscription may name (one per ledger action), and `*`."""
    return [EVERYTHING, *(event_type(name) for name in CATALOGUE)]


def target_problem(url: str, addresses: Sequence[str], *, allow_insecure: bool,
                   allow_private: bool) -> str | None:
    """Why Baton must not post to `url`, whose host resolved to `addresses`, or None.
    https only (http when allowed), and never loopback, private, link-local or other
    non-public addresses unless allowed (the demo and the tests allow both)."""
    parts = urlsplit(url)
    if parts.scheme not in ("https", "http"):
        return "the URL must be https://"
    if parts.scheme == "http" and not allow_insecure:
        return "the URL must be https:// (http needs BATON_WEBHOOK_ALLOW_INSECURE=1)"
    if not parts.hostname:
        return "the URL has no host"
    if parts.username or parts.password:
        return "the URL must not carry credentials"
    if not addresses:
        return f"{parts.hostname} does not resolve"
    if allow_private:
        return None
    for address in addresses:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
        if not ip.is_global or ip.is_multicast:
            return (f"{parts.hostname} resolves to a non-public address ({ip}); "
                    "BATON_WEBHOOK_ALLOW_PRIVATE=1 allows it")
    return None


def _check_events(events: Sequence[str]) -> list[str]:
    known = set(event_types())
    unknown = [e for e in events if e not in known]
    if not events or unknown:
        raise PayloadInvalid({"events": f"unknown event type {unknown[0]!r}" if unknown
                              else "name at least one event type (or *)"})
    return list(dict.fromkeys(events))


def subscribe(*, store: WebhookStore, actor: Actor, url: str, events: Sequence[str],
              description: str | None, secret: str, problem: str | None, policy: Policy,
              now: datetime) -> dict[str, Any]:
    """Subscribe a URL to event types, if the actor may manage webhooks and the target is
    acceptable (`problem`: target_problem's verdict on it)."""
    decision = enforce(permit(actor, PERMISSION, policy))
    if problem is not None:
        raise PayloadInvalid({"url": problem})
    return store.add(url=url, events=_check_events(events), description=description,
                     secret=secret, actor=actor.handle, role=decision.role or "",
                     policy_version=policy.version, now=now)


def require(*, actor: Actor, policy: Policy) -> str:
    """Raise unless the actor may manage webhooks (reading them included); its role."""
    return enforce(permit(actor, PERMISSION, policy)).role or ""


def remove(*, store: WebhookStore, actor: Actor, webhook_id: str, policy: Policy,
           now: datetime) -> None:
    """Remove a subscription: nothing more is sent to it."""
    role = require(actor=actor, policy=policy)
    if store.get(webhook_id) is None:
        raise SubscriptionNotFound(webhook_id)
    store.remove(webhook_id, actor=actor.handle, role=role, policy_version=policy.version,
                 now=now)


def rotate_secret(*, store: WebhookStore, actor: Actor, webhook_id: str, secret: str,
                  grace_seconds: float | None, policy: Policy, now: datetime
                  ) -> dict[str, Any]:
    """A new secret; the old one keeps signing beside it for the grace period."""
    role = require(actor=actor, policy=policy)
    if store.get(webhook_id) is None:
        raise SubscriptionNotFound(webhook_id)
    grace = DEFAULT_GRACE_SECONDS if grace_seconds is None else grace_seconds
    return store.rotate(webhook_id, secret=secret, grace_seconds=grace, actor=actor.handle,
                        role=role, policy_version=policy.version, now=now)
