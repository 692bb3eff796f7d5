"""The checkpoint an auditor is told to keep covers every event committed before they
asked, and a flood of requests signs at most one a second, across processes (issue 15)."""

from __future__ import annotations

import multiprocessing
import threading
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import func, select

from audit.log import fresh_checkpoint, ledger, signed_note
from audit.log.ledger import Signer
from audit.store import db
from audit.store.schema import checkpoints
from tests.integration.conftest import Ledger
from tests.threads import run_together


def signed(led: Ledger) -> int:
    with led.engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(checkpoints)).scalar_one()


def log_size(led: Ledger) -> int:
    with led.engine.connect() as conn:
        return ledger.read_head(conn, lock=False).size


def size_of(led: Ledger, note: str) -> int:
    return signed_note.open_note(note, led.signer.vkey).size


class Clock:
    """A clock that sleeping moves on, and a record of every sleep."""

    def __init__(self, now: datetime):
        self.now = now
        self.slept: list[float] = []

    def __call__(self) -> datetime:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(round(seconds, 6))
        self.now += timedelta(seconds=seconds)


def covering(led: Ledger, clock: Clock) -> str:
    return fresh_checkpoint.covering(led.engine, lambda: led.signer, clock, sleep=clock.sleep)


def test_the_checkpoint_covers_every_event_committed_before_the_request(led: Ledger) -> None:
    led.lifecycle("esc-a")  # 9 events; signed every 5: the newest checkpoint is at 6
    with led.engine.connect() as conn:
        assert size_of(led, ledger.latest_checkpoint(conn)) == 6
    before = signed(led)
    clock = Clock(led.now)
    note = covering(led, clock)
    assert size_of(led, note) == log_size(led) == 9
    assert signed(led) == before + 1
    assert covering(led, clock) == note and signed(led) == before + 1  # nothing new: no new
    assert clock.slept == []


def test_a_request_within_a_second_of_a_signing_waits_for_that_second(led: Ledger) -> None:
    led.lifecycle("esc-a")
    clock = Clock(led.now)
    covering(led, clock)
    led.open("esc-b")  # one more event, under no checkpoint yet
    clock.now += timedelta(seconds=0.25)
    before = signed(led)
    note = covering(led, clock)
    assert clock.slept == [0.75]
    assert size_of(led, note) == log_size(led) and signed(led) == before + 1


def test_a_flood_of_requests_signs_once(led: Ledger) -> None:
    led.lifecycle("esc-a")
    led.lifecycle("esc-b")
    clock = Clock(led.now + timedelta(seconds=5))
    before, wanted = signed(led), log_size(led)
    got: list[int] = []
    lock = threading.Lock()
    gate = threading.Barrier(12)

    def ask() -> None:
        gate.wait()
        note = fresh_checkpoint.covering(led.engine, lambda: led.signer, clock)
        with lock:
            got.append(size_of(led, note))

    run_together([ask] * 12)
    assert got == [wanted] * 12
    assert signed(led) == before + 1


def _ask_in_a_process(url: str, key: bytes, origin: str, now: str, gate: Any,
                      out: Any) -> None:
    engine = db.make_engine(url)
    signer = Signer(Ed25519PrivateKey.from_private_bytes(key), origin)
    at = datetime.fromisoformat(now)
    gate.wait()  # all four ask at once, as gunicorn workers under a flood would
    note = fresh_checkpoint.covering(engine, lambda: signer, lambda: at)
    out.put(signed_note.open_note(note, signer.vkey).size)
    engine.dispose()


def test_workers_in_other_processes_coalesce_too(sqlite_led: Ledger, tmp_path: Path) -> None:
    led = sqlite_led
    led.lifecycle("esc-a")
    before, wanted = signed(led), log_size(led)
    key = led.signer.key.private_bytes(serialization.Encoding.Raw,
                                       serialization.PrivateFormat.Raw,
                                       serialization.NoEncryption())
    spawn = multiprocessing.get_context("spawn")
    out, gate = spawn.Queue(), spawn.Barrier(4)
    now = (led.now + timedelta(seconds=5)).isoformat()
    workers = [spawn.Process(target=_ask_in_a_process,
                             args=(str(led.engine.url), key, led.signer.origin, now, gate,
                                   out))
               for _ in range(4)]
    for w in workers:
        w.start()
    sizes = [out.get(timeout=60) for _ in workers]
    for w in workers:
        w.join(timeout=60)
        assert w.exitcode == 0
    assert sizes == [wanted] * 4
    assert signed(led) == before + 1
