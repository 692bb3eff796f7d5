"""The sweeper's wake-up (issue 26, point 1): on PostgreSQL a write that moves the earliest
deadline sooner wakes a LISTENing sweeper at once; on SQLite it polls, at most TICK."""

from __future__ import annotations

import threading
import time
from pathlib import Path

from audit.store import timers
from tests.integration.conftest import make_ledger


def test_a_sooner_deadline_wakes_the_sweeper(database_url: str, tmp_path: Path) -> None:
    led = make_ledger(database_url, tmp_path)
    wake = timers.Wakeup(led.engine, poll=0.25)
    try:
        if wake.listening:
            wake.wait(0.01)  # LISTEN before the write
        woken: list[tuple[bool, float]] = []

        def sleeper() -> None:
            began = time.monotonic()
            woken.append((wake.wait(10.0), time.monotonic() - began))

        thread = threading.Thread(target=sleeper)
        thread.start()
        time.sleep(0.3)
        led.open("esc-1", severity="urgent")
        thread.join(15)
        heard, slept = woken[0]
        assert timers.earliest_due(led.engine) is not None
        if wake.listening:
            assert heard and slept < 2.0, woken  # a lost notice would sleep the full 10 s
        else:
            assert not heard and slept < 1.0, woken  # the bounded poll
    finally:
        wake.close()
        led.engine.dispose()
