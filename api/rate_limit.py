"""A per-client token bucket: `rate` requests a second on average, bursts up to `burst`;
and the back-off on failed authentication built on it.

Kept in the process: with several gunicorn workers each holds its own buckets, so a
client is refused only beyond `rate` requests a second at every worker it reaches — the
limit is never below `rate`, which is what it promises.
"""

from __future__ import annotations

import functools
import ipaddress
import math
import threading
import time
from collections.abc import Callable

EPSILON = 1e-9
MAX_CLIENTS = 10_000  # forget idle clients past this many, so memory stays bounded


class RateLimiter:
    """Decides whether a client may make one more request now."""

    def __init__(self, rate: float, burst: float | None = None,
                 clock: Callable[[], float] = time.monotonic):
        if rate <= 0:
            raise ValueError("a rate limit is a positive number of requests a second")
        self.rate = rate
        self.burst = burst if burst is not None else rate
        self.clock = clock
        self._buckets: dict[str, tuple[float, float]] = {}  # client -> (tokens, at)
        self._guard = threading.Lock()

    def take(self, client: str) -> float:
        """0 when the request may go ahead (a token is spent), else the seconds to wait."""
        now = self.clock()
        with self._guard:
            tokens, at = self._buckets.get(client, (self.burst, now))
            tokens = min(self.burst, tokens + (now - at) * self.rate)
            if tokens >= 1 - EPSILON:  # a steady `rate` must pass despite float sums
                self._remember(client, max(0.0, tokens - 1), now)
                return 0.0
            self._remember(client, tokens, now)
            return (1 - tokens) / self.rate

    def peek(self, client: str) -> float:
        """0 when the client has a token now, else the seconds until it has one; spends
        nothing (a back-off checks first and spends only on a failure)."""
        now = self.clock()
        with self._guard:
            tokens, at = self._buckets.get(client, (self.burst, now))
        tokens = min(self.burst, tokens + (now - at) * self.rate)
        return 0.0 if tokens >= 1 - EPSILON else (1 - tokens) / self.rate

    def _remember(self, client: str, tokens: float, now: float) -> None:
        if client not in self._buckets and len(self._buckets) >= MAX_CLIENTS:
            full = self.burst / self.rate  # a bucket idle this long is full again
            self._buckets = {k: v for k, v in self._buckets.items() if now - v[1] < full}
        self._buckets[client] = (tokens, now)


def retry_after(wait: float) -> int:
    """Retry-After in whole seconds (at least 1: it is an integer header)."""
    return max(1, math.ceil(wait))


@functools.lru_cache(maxsize=4096)  # parsed once per address, not once per request
def client_key(address: str | None) -> str:
    """Whom a limit counts: an IPv4 address, or an IPv6 address's /64 (one subscriber's
    network: an attacker holding one has 2**64 addresses to rotate through)."""
    if not address:
        return "-"
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return address
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.ip_network(f"{ip}/64", strict=False))
    return str(ip)


class FailureBackoff:
    """Back-off on failed authentication, per client: `burst` failures are free, then one
    more every 1/`rate` seconds. A client past its budget is refused (429) before its
    credential is even checked, so guessing slows to `rate` a second; a client that
    fails nothing is never slowed, whatever others do."""

    def __init__(self, rate: float = 0.2, burst: float = 10,
                 clock: Callable[[], float] = time.monotonic):
        self.failures = RateLimiter(rate, burst, clock)

    def wait(self, address: str | None) -> float:
        """Seconds this client must wait before its next try (0: it may try now)."""
        return self.failures.peek(client_key(address))

    def failed(self, address: str | None) -> None:
        """Count one failed authentication against the client."""
        self.failures.take(client_key(address))
