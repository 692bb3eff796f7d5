"""Run test workers on real threads, all at once, and wait for them."""

from __future__ import annotations

import threading
from collections.abc import Callable


def run_together(workers: list[Callable[[], None]], timeout: float = 120) -> None:
    """Start every worker, then join them all (each within `timeout` seconds)."""
    threads = [threading.Thread(target=w) for w in workers]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=timeout)
