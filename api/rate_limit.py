"""A per-client token bucket: `rate` requests a second on average, bursts up to `burst`.

Kept in the process: with several gunicorn workers each holds its own buckets, so a
client is refused only beyond `rate` requests a second at every worker it reaches — the
limit is never below `rate`, which is what it promises.
"""

from __future__ import annotations

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

    def _remember(self, client: str, tokens: float, now: float) -> None:
        if client not in self._buckets and len(self._buckets) >= MAX_CLIENTS:
            full = self.burst / self.rate  # a bucket idle this long is full again
            self._buckets = {k: v for k, v in self._buckets.items() if now - v[1] < full}
        self._buckets[client] = (tokens, now)


def retry_after(wait: float) -> int:
    """Retry-After in whole seconds (at least 1: it is an integer header)."""
    return max(1, math.ceil(wait))
