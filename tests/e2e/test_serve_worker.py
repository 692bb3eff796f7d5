"""`baton serve` starts one `baton worker` beside gunicorn (in its session, ended with
it), and `--no-worker` leaves it out."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import time
from pathlib import Path

import pytest

from api.testbed import BATON, start
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


def test_a_burst_of_sigterms_ends_the_worker(tmp_path: Path) -> None:
    """Signals that come while the worker is already stopping (the test's killpg and the
    server's own, or an impatient operator) once left it waiting on its own lock for
    ever: a worker stops on the first and ignores the others."""
    env = {**os.environ, "BATON_DATABASE_URL": f"sqlite:///{tmp_path / 'baton.db'}",
           "BATON_SIGNING_KEY": str(tmp_path / "signing.key")}
    set_up(env, "init")
    proc = subprocess.Popen([*BATON, "worker", "--interval", "0.1"], cwd=tmp_path, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)
    try:
        deadline = time.monotonic() + 30
        while not _has_beaten(tmp_path / "baton.db"):  # its handlers are set by then
            assert proc.poll() is None and time.monotonic() < deadline, "no worker beat"
            time.sleep(0.1)
        for _ in range(300):
            try:
                os.kill(proc.pid, signal.SIGTERM)
            except ProcessLookupError:
                break
        assert proc.wait(timeout=30) == 0
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=30)


def _has_beaten(path: Path) -> bool:
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as conn:
        return bool(conn.execute("SELECT count(*) FROM worker_heartbeats").fetchone()[0])
