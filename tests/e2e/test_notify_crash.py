"""kill -9 `baton worker` in the middle of its deliveries: another worker takes over once
the claims expire, and every message reaches the receiver (which dedupes on webhook-id)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from api.testbed import BATON
from audit.store import db
from audit.store.uow import SqlUnitOfWork
from tests.cli_here import set_up
from tests.unit.fakes import DEMO_ACTORS
from tests.unit.scenario import OPEN
from tests.webhook_receiver import Receiver
from workflow import services
from workflow.model import Actor


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver(delay=0.4)  # slow enough that the worker is killed mid-delivery
    yield r
    r.close()


def _worker(cwd: Path, env: dict[str, str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen([*BATON, "worker", "--interval", "3600"], cwd=cwd, env=env,
                            stdout=subprocess.DEVNULL, start_new_session=True)


def test_kill_9_mid_delivery_loses_nothing(tmp_path: Path, receiver: Receiver) -> None:
    url = f"sqlite:///{tmp_path / 'baton.db'}"
    env = {**os.environ, "BATON_DATABASE_URL": url,
           "BATON_SIGNING_KEY": str(tmp_path / "signing.key"),
           "BATON_WEBHOOK_ALLOW_INSECURE": "1", "BATON_WEBHOOK_ALLOW_PRIVATE": "1",
           "BATON_OUTBOX_LEASE": "1", "BATON_WEBHOOK_TIMEOUT": "3",
           "BATON_WORKER_POLL": "0.05", "BATON_WEBHOOK_RETRY_SCHEDULE": "0s,0.2s,0.5s,1s,2s"}
    set_up(env, "init")
    set_up(env, "actors", "add", "alice", "--role", "agent", "--team", "frontline")
    added = set_up(env, "webhooks", "add", receiver.url, "--events", "*")
    receiver.secrets.append(json.loads(added.stdout)["secret"])
    engine = db.make_engine(url)
    alice: Actor = DEMO_ACTORS["alice"]
    for i in range(6):
        with SqlUnitOfWork(engine) as uow:
            services.open_escalation(uow=uow, actor=alice, escalation_id=f"e{i}",
                                     payload=OPEN, policy=uow.policies.active_or_raise(),
                                     now=datetime.now(UTC))
            uow.commit()
    first = _worker(tmp_path, env)
    try:
        receiver.wait(lambda: len(receiver.got) >= 1)
    finally:
        os.killpg(first.pid, signal.SIGKILL)
        first.wait(10)
    killed_at = len(receiver.delivered())
    second = _worker(tmp_path, env)

    def statuses() -> list[str]:
        with engine.connect() as conn:
            return [r[0] for r in conn.exec_driver_sql("SELECT status FROM outbox").all()]

    try:
        receiver.wait(lambda: len(receiver.delivered()) == 6, timeout=20)
        receiver.wait(lambda: statuses() == ["delivered"] * 6, timeout=10)
    finally:
        os.killpg(second.pid, signal.SIGTERM)
        second.wait(10)
    assert killed_at < 6, "the first worker was killed before it had delivered everything"
    assert receiver.bad_signatures == 0
    engine.dispose()
