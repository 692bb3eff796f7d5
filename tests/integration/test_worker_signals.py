"""The worker's signal handler (issue 29's suite found workers left running for ever): a
second SIGTERM or SIGINT, arriving while the first handler holds the stop event's lock
(or while the main thread holds it inside its wait), must not wait on that lock."""

from __future__ import annotations

import signal
import threading

import pytest

from api import cli_webhooks


def test_the_handler_never_waits_on_a_lock_its_thread_holds(
        monkeypatch: pytest.MonkeyPatch) -> None:
    wound: list[threading.Event] = []
    # The real wind-down ends the process 15 s later (os._exit): recorded here instead.
    monkeypatch.setattr(cli_webhooks, "_wind_down", lambda stop: (wound.append(stop),
                                                                  stop.set()))
    stop = threading.Event()
    handler = cli_webhooks._stop_on_request(stop)
    returned = threading.Event()

    def interrupted() -> None:
        # As the main thread is when a signal's handler runs inside Event.wait or set.
        with stop._cond:  # type: ignore[attr-defined]
            handler(signal.SIGTERM, None)
            handler(signal.SIGTERM, None)
            handler(signal.SIGINT, None)
            returned.set()

    threading.Thread(target=interrupted, daemon=True).start()
    assert returned.wait(5), "the handler waited on a lock its own thread holds"
    assert stop.wait(5) and wound == [stop]  # wound down once, after the lock was let go
