"""One total deadline per delivery attempt. A socket timeout bounds each read, not the
attempt: a receiver that sends a header line every few seconds never trips it. One
watchdog thread shuts down the socket of every attempt whose deadline has passed, so the
blocked read returns at once and the attempt reports its deadline."""

from __future__ import annotations

import heapq
import itertools
import socket
import threading
import time
from collections.abc import Callable


class Watch:
    """One attempt under watch: `fired` once its deadline passed and its socket was shut."""

    def __init__(self, deadline: float, sock: Callable[[], socket.socket | None]):
        self.deadline = deadline
        self.sock = sock
        self.fired = False
        self.over = False

    def remaining(self) -> float:
        """Seconds left before the deadline (never below a millisecond)."""
        return max(0.001, self.deadline - time.monotonic())


class Watchdog:
    """Shuts the sockets of attempts past their deadline (one thread for all)."""

    def __init__(self) -> None:
        self._heap: list[tuple[float, int, Watch]] = []
        self._order = itertools.count()
        self._cond = threading.Condition()
        self._thread: threading.Thread | None = None

    def add(self, seconds: float, sock: Callable[[], socket.socket | None]) -> Watch:
        """Watch an attempt that must be over in `seconds`."""
        w = Watch(time.monotonic() + seconds, sock)
        with self._cond:
            heapq.heappush(self._heap, (w.deadline, next(self._order), w))
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="deadlines",
                                                daemon=True)
                self._thread.start()
            self._cond.notify()
        return w

    def done(self, w: Watch) -> None:
        """The attempt is over: its socket (perhaps kept alive for the next) is left be."""
        with self._cond:
            w.over = True

    def _run(self) -> None:
        while True:
            with self._cond:
                while self._heap and self._heap[0][2].over:
                    heapq.heappop(self._heap)
                if not self._heap:
                    self._cond.wait(30.0)
                    continue
                wait = self._heap[0][0] - time.monotonic()
                if wait > 0:
                    self._cond.wait(wait)
                    continue
                w = heapq.heappop(self._heap)[2]
                # Under the lock: done() cannot slip in between, so a socket already
                # handed to the next attempt is never shut.
                self._shut(w)

    @staticmethod
    def _shut(w: Watch) -> None:
        w.fired = True
        sock = w.sock()
        if sock is None:
            return
        try:
            sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass  # already closed: the attempt is ending anyway


WATCHDOG = Watchdog()


def watch(seconds: float, sock: Callable[[], socket.socket | None]) -> Watch:
    """Watch an attempt with the process's watchdog."""
    return WATCHDOG.add(seconds, sock)
