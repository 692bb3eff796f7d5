"""Lanes: how many deliveries run at once, in total and per target host, and which hosts
are backed off. A host that keeps timing out (or refusing connections) holds at most its
own lane's slots while it is tried, and then none: its messages stay in the outbox,
unclaimed and with their attempts untouched, until its pause ends. Plain bookkeeping; the
worker's dispatcher owns one and asks it under its own lock (time is passed in)."""

from __future__ import annotations

from dataclasses import dataclass, field

MAIL = "smtp"  # the one lane of every mail: a slow SMTP server delays only mail
FAILURES_BEFORE_PAUSE = 2
FIRST_PAUSE = 5.0
LONGEST_PAUSE = 300.0


@dataclass
class Lanes:
    """Slots in total and per host; consecutive host failures and the pauses they bring."""

    total: int = 8
    per_host: int = 2
    running: dict[str, int] = field(default_factory=dict)
    failures: dict[str, int] = field(default_factory=dict)
    paused_until: dict[str, float] = field(default_factory=dict)

    def busy(self) -> int:
        """Deliveries running now."""
        return sum(self.running.values())

    def free(self) -> int:
        """Slots free in total."""
        return max(0, self.total - self.busy())

    def paused(self, host: str, now: float) -> bool:
        """Whether the host is backed off at `now`."""
        return self.paused_until.get(host, 0.0) > now

    def open(self, host: str, now: float) -> bool:
        """Whether a delivery to `host` may start now."""
        return (self.free() > 0 and self.running.get(host, 0) < self.per_host
                and not self.paused(host, now))

    def closed(self, hosts: set[str], now: float) -> set[str]:
        """Those of `hosts` that could take no new delivery now (full or paused)."""
        return {h for h in hosts if self.running.get(h, 0) >= self.per_host
                or self.paused(h, now)}

    def start(self, host: str) -> None:
        """A delivery to `host` begins."""
        self.running[host] = self.running.get(host, 0) + 1

    def finish(self, host: str, *, host_failed: bool, now: float) -> None:
        """A delivery to `host` ended; `host_failed` when the host did not answer in time
        (or refused the connection): twice in a row and it is paused, each pause twice
        the last, up to LONGEST_PAUSE. Any answer from it clears the count."""
        left = self.running.get(host, 1) - 1
        if left:
            self.running[host] = left
        else:
            self.running.pop(host, None)
        if not host_failed:
            self.failures.pop(host, None)
            self.paused_until.pop(host, None)
            return
        count = self.failures.get(host, 0) + 1
        self.failures[host] = count
        if count >= FAILURES_BEFORE_PAUSE:
            pause = min(LONGEST_PAUSE,
                        FIRST_PAUSE * 2 ** (count - FAILURES_BEFORE_PAUSE))
            self.paused_until[host] = max(self.paused_until.get(host, 0.0), now + pause)
