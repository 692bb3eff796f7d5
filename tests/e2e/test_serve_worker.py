"""`baton serve` starts one `baton worker` beside gunicorn (in its session, ended with
it), and `--no-worker` leaves it out."""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

import pytest

from api.testbed import start
from tests.cli_here import set_up


def _workers_of(session: int) -> list[str]:
    found = subprocess.run(["pgrep", "-s", str(session), "-f", "api.cli worker"],
                           capture_output=True, text=True)
    return found.stdout.split()


@pytest.mark.parametrize("worker", [True, False], ids=["default", "no-worker"])
def test_serve_runs_one_worker_unless_told_not_to(tmp_path: Path, worker: bool) -> None:
    env = {**os.environ, "BATON_DATABASE_URL": f"sqlite:///{tmp_path / 'baton.db'}",
           "BATON_SIGNING_KEY": str(tmp_path / "signing.key")}
    set_up(env, "init")
    proc, _url = start(tmp_path, env, workers=1, worker=worker)
    try:
        time.sleep(1)  # the worker is launched before gunicorn answers; let it settle
        assert len(_workers_of(proc.pid)) == (1 if worker else 0)
    finally:
        os.killpg(proc.pid, 15)
        proc.wait(timeout=30)
    # It ends with the server: within seconds, but a loaded CI machine (4 test processes
    # on 2 cores) once took over 10 s to wind a worker's threads down.
    deadline = time.monotonic() + 30
    while _workers_of(proc.pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert _workers_of(proc.pid) == []


def test_the_worker_ends_when_its_server_is_killed_outright(tmp_path: Path) -> None:
    env = {**os.environ, "BATON_DATABASE_URL": f"sqlite:///{tmp_path / 'baton.db'}",
           "BATON_SIGNING_KEY": str(tmp_path / "signing.key")}
    set_up(env, "init")
    proc, _url = start(tmp_path, env, workers=1)
    try:
        deadline = time.monotonic() + 10
        while not _workers_of(proc.pid) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert len(_workers_of(proc.pid)) == 1
        os.kill(proc.pid, 9)  # the server alone, no chance to stop its worker
        proc.wait(timeout=30)
        deadline = time.monotonic() + 15
        while _workers_of(proc.pid) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert _workers_of(proc.pid) == [], "the worker outlived its server"
    finally:
        try:
            os.killpg(proc.pid, 9)
        except ProcessLookupError:
            pass
