"""No receiver can stall the others: beside a receiver that drips a header line every
second, one that never answers and one that sends 200 MB, a healthy receiver still gets
each message within a second or so of its commit; each attempt ends at its one total
deadline; a host takes at most its lane's slots; a body is read to 64 KiB only; a host
that keeps timing out is paused, its messages left waiting (not failed)."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from api.testbed_hostile import KINDS, Hostile
from audit.store import webhooks
from tests.integration.conftest import Ledger
from tests.integration.notifying import dispose_all, running, subscribe, worker_for
from tests.webhook_receiver import Receiver

DEADLINE = 3.0
OPENED = 12


@pytest.fixture
def hostile() -> Iterator[dict[str, Hostile]]:
    found = {kind: Hostile(kind) for kind in KINDS}
    yield found
    for h in found.values():
        h.close()


def test_hostile_receivers_do_not_delay_a_healthy_one(led: Ledger, receiver: Receiver,
                                                      hostile: dict[str, Hostile]) -> None:
    healthy = subscribe(led, receiver.url, ("escalation.open",))
    receiver.secrets.append(healthy["secret"])
    ids = {kind: subscribe(led, h.url, ("escalation.open",))["id"]
           for kind, h in hostile.items()}
    worker = worker_for(led, BATON_WEBHOOK_TIMEOUT=DEADLINE,
                        BATON_WEBHOOK_RETRY_SCHEDULE="0s,30s")
    committed: dict[str, float] = {}
    with running(worker):
        for i in range(OPENED):
            led.open(f"e{i}")
            committed[f"e{i}"] = time.monotonic()
            time.sleep(0.25)
        receiver.wait(lambda: len(receiver.delivered()) == OPENED, timeout=15)
        arrived = {r.json["data"]["escalation_id"]: r.at for r in receiver.delivered().values()}
        lags = sorted(arrived[e] - t for e, t in committed.items())
        # A stalled worker would show the hostile ones' 3 s deadline (or 120 s of drip).
        assert lags[-1] < 2.0, lags
        time.sleep(DEADLINE + 0.5)  # the attempts under way end at their deadline
    assert receiver.bad_signatures == 0
    with led.engine.connect() as conn:
        logs = {kind: webhooks.message_log(conn, ids[kind]) for kind in KINDS}
    for kind in ("drip", "silent"):
        attempts = [a for m in logs[kind] for a in m["attempts"]]
        assert attempts, kind
        for a in attempts:
            assert a["error"] == f"timeout after {DEADLINE:g} s", (kind, a)
            assert a["duration_ms"] < (DEADLINE + 1.0) * 1000, (kind, a)
        # Two timeouts in a row pause the host: most messages were never tried, and
        # they wait in the outbox (pending, attempts untouched), not failed.
        assert len(attempts) < OPENED, (kind, len(attempts))
        assert [m for m in logs[kind] if m["status"] == "failed"] == []
    for h in hostile.values():
        assert h.most_at_once <= 2, "at most the per-host lane's slots"
    big = [a for m in logs["huge"] for a in m["attempts"]]
    assert big and {a["outcome"] for a in big} == {"delivered"}, big
    # Baton read 64 KiB of each answer and hung up; what the receiver got into the
    # socket buffers before that is far below one 200 MB body.
    assert hostile["huge"].sent < 50 * 2**20, hostile["huge"].sent
    dispose_all()
