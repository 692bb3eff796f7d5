"""A worker whose database goes away keeps running and resumes when it is back, instead
of leaving nobody to sweep and deliver until a restart (issue 20)."""

from __future__ import annotations

import threading
import time
from pathlib import Path

from sqlalchemy import text

from api.worker import Worker
from tests.initialised_app import make_client


def test_the_worker_survives_a_database_that_goes_away(tmp_path: Path) -> None:
    c = make_client(tmp_path)
    baton = c.app.extensions["baton"]
    worker = Worker(baton, interval=0.2)
    worker.poll = 0.05
    failures: list[BaseException] = []

    def run() -> None:
        try:
            worker.run()
        except BaseException as exc:  # noqa: BLE001 - the test reports what escaped
            failures.append(exc)

    thread = threading.Thread(target=run)
    thread.start()
    try:
        time.sleep(0.3)
        with baton.engine.begin() as conn:  # the worker's table is gone, as if the
            conn.execute(text("ALTER TABLE outbox RENAME TO outbox_away"))  # DB were
        time.sleep(1.5)
        assert thread.is_alive() and not failures, failures
        with baton.engine.begin() as conn:
            conn.execute(text("ALTER TABLE outbox_away RENAME TO outbox"))
        eid = c.open()  # the API writes again, and the worker goes on beside it
        assert c.act(eid, "alice", "acknowledge", {"note": "x"}).status_code == 200
        time.sleep(0.5)
        assert thread.is_alive() and not failures, failures
    finally:
        worker.stop.set()
        thread.join(timeout=30)
    assert not thread.is_alive() and not failures, failures
