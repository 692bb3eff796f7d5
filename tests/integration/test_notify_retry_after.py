"""Retry-After, against the real receiver: 429, 502, 503 and 504 are tried again when the
receiver says, in delta-seconds or as an HTTP-date; other failures follow the schedule
(here 0 s, so a Retry-After that were wrongly honoured would show)."""

from __future__ import annotations

import time
from email.utils import formatdate

import pytest

from tests.integration.conftest import Ledger
from tests.integration.notifying import running, subscribe, worker_for
from tests.webhook_receiver import Received, Receiver

WAIT = 2  # seconds the receiver asks for


def _retry_after(form: str) -> str:
    # An HTTP-date has whole seconds: one more second, so that at least WAIT remain.
    return str(WAIT) if form == "delta" else formatdate(time.time() + WAIT + 1, usegmt=True)


def _gap(led: Ledger, receiver: Receiver, status: int, form: str) -> float:
    def script(r: Received, before: int) -> tuple[int, dict[str, str]]:
        return (status, {"Retry-After": _retry_after(form)}) if before == 0 else (200, {})

    receiver.script = script
    receiver.secrets.append(subscribe(led, receiver.url, ("escalation.open",))["secret"])
    led.open("e1")
    with running(worker_for(led, BATON_WEBHOOK_RETRY_SCHEDULE="0s,0s,0s")):
        receiver.wait(lambda: len(receiver.got) == 2, timeout=15)
    first, second = receiver.got
    assert (first.status, second.status) == (status, 200)
    assert first.msg_id == second.msg_id and first.body == second.body
    return second.at - first.at


@pytest.mark.parametrize("status,form", [(429, "delta"), (503, "date"), (502, "date"),
                                         (504, "delta")])
def test_retry_after_is_honoured_in_both_forms(sqlite_led: Ledger, receiver: Receiver,
                                               status: int, form: str) -> None:
    gap = _gap(sqlite_led, receiver, status, form)
    assert WAIT - 0.1 <= gap < WAIT + 2.5, f"came back after {gap:.2f} s"


def test_retry_after_on_other_statuses_is_not_honoured(sqlite_led: Ledger,
                                                       receiver: Receiver) -> None:
    gap = _gap(sqlite_led, receiver, 500, "delta")
    assert gap < 1.0, "a 500 follows the schedule (0 s), whatever it says"
