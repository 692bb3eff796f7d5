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
from workflow.notify import EVERYTHING, LEDGER, event_type
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
    """Every type a subscription may name (one per ledger action), `*` (every
    escalation notification) and `ledger.*` (every ledger event as a CloudEvent)."""
    return [EVERYTHING, LEDGER, *(event_type(name) for name in CATALOGUE)]


# IPv6 prefixes that carry an IPv4 address in their last 32 bits (RFC 6052 NAT64, the
# well-known and the local-use prefix) or anywhere (RFC 3056 6to4, RFC 4380 Teredo):
# connecting to them reaches that IPv4 address through a translator or a tunnel.
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
_NAT64_LOCAL = ipaddress.ip_network("64:ff9b:1::/48")
_IPV4_COMPATIBLE = ipaddress.ip_network("::/96")
_IPV4_TRANSLATED = ipaddress.ip_network("::ffff:0:0:0/96")  # RFC 2765 SIIT
_Address = ipaddress.IPv4Address | ipaddress.IPv6Address
# Not globally reachable, though Python 3.11's is_global says they are: IANA's IETF
# protocol assignments, IPv6 documentation (RFC 9637) and SRv6 segment ids (RFC 9602).
_NOT_GLOBAL = (ipaddress.ip_network("192.0.0.0/24"), ipaddress.ip_network("3fff::/20"),
               ipaddress.ip_network("5f00::/16"))


def embedded_ipv4(ip: _Address) -> list[ipaddress.IPv4Address]:
    """The IPv4 addresses an IPv6 address stands for (IPv4-mapped, IPv4-compatible,
    NAT64, 6to4, Teredo's server and client), which must be judged like plain IPv4."""
    if isinstance(ip, ipaddress.IPv4Address):
        return []
    low = ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    found: list[ipaddress.IPv4Address] = []
    if ip.ipv4_mapped is not None:
        found.append(ip.ipv4_mapped)
    if any(ip in net for net in (_IPV4_COMPATIBLE, _IPV4_TRANSLATED, _NAT64, _NAT64_LOCAL)):
        found.append(low)
    if ip in _NAT64_LOCAL:
        # RFC 6052 for a /48 prefix: the IPv4 address in bits 48-63 and 72-87.
        value = int(ip)
        found.append(ipaddress.IPv4Address(((value >> 64) & 0xFFFF) << 16
                                           | (value >> 40) & 0xFFFF))
    if ip.sixtofour is not None:
        found.append(ip.sixtofour)
    if ip.teredo is not None:
        found.extend(ip.teredo)
    return found


def _public(ip: _Address) -> bool:
    return (ip.is_global and not ip.is_multicast
            and not any(ip in net for net in _NOT_GLOBAL))


def non_public(address: str) -> str | None:
    """The address (as DNS answered it) as it will be quoted when it is not a public one
    Baton may post to, else None."""
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return repr(address)
    if isinstance(ip, ipaddress.IPv6Address) and ip in _NAT64_LOCAL:
        return f"{ip}, a local-use NAT64 address"
    if not _public(ip):
        return str(ip)
    inner = [v4 for v4 in embedded_ipv4(ip) if not _public(v4)]
    return f"{ip}, which stands for {inner[0]}" if inner else None


def url_problem(url: str, *, allow_insecure: bool) -> str | None:
    """Why `url` is not a URL Baton may post to, before its host is resolved: https (http
    when allowed), a host, a port in range, no credentials."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        return f"the URL cannot be parsed: {exc}"
    if parts.scheme not in ("https", "http"):
        return "the URL must be https://"
    if parts.scheme == "http" and not allow_insecure:
        return "the URL must be https:// (http needs BATON_WEBHOOK_ALLOW_INSECURE=1)"
    if not parts.hostname:
        return "the URL has no host"
    if port == 0:
        return "the URL's port must be 1 to 65535"
    if parts.username or parts.password:
        return "the URL must not carry credentials"
    return None


def target_problem(url: str, addresses: Sequence[str], *, allow_insecure: bool,
                   allow_private: bool) -> str | None:
    """Why Baton must not post to `url`, whose host resolved to `addresses`, or None.
    https only (http when allowed), and never loopback, private, link-local or other
    non-public addresses unless allowed (the demo and the tests allow both), also when
    spelt as IPv6 forms that carry an IPv4 address (mapped, compatible, NAT64, 6to4,
    Teredo). Called at subscription and again at every delivery, on the addresses DNS
    then gives (the one connected to is among them)."""
    problem = url_problem(url, allow_insecure=allow_insecure)
    if problem:
        return problem
    host = urlsplit(url).hostname
    if not addresses:
        return f"{host} does not resolve"
    if allow_private:
        return None
    for address in addresses:
        quoted = non_public(address)
        if quoted:
            return (f"{host} resolves to a non-public address ({quoted}); "
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
    if LEDGER in events:  # the whole audit log leaves: its readers only
        enforce(permit(actor, "read-audit", policy))
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
