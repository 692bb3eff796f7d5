"""A real `baton serve` (gunicorn, several workers) on a free loopback port."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest
import requests

from api.cli import DEMO
from audit import actors, db

BATON = [sys.executable, "-m", "api.cli"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Server:
    url: str
    tokens: dict[str, str]
    env: dict[str, str]
    cwd: Path

    def baton(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        return subprocess.run([*BATON, *args], cwd=self.cwd, env=self.env, text=True,
                              capture_output=True, check=check, timeout=120)

    def session(self, who: str) -> requests.Session:
        s = requests.Session()
        s.headers["Authorization"] = f"Bearer {self.tokens[who]}"
        return s


def proc_stat(pid: int) -> list[str] | None:
    """/proc/PID/stat's fields after the command name (field 3 onwards), or None."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()
    except (FileNotFoundError, ProcessLookupError):
        return None


def children(parent: int) -> list[int]:
    """The processes whose parent is `parent` (gunicorn's workers, PostgreSQL's backends)."""
    return [int(e) for e in os.listdir("/proc")
            if e.isdigit() and (fields := proc_stat(int(e))) is not None
            and int(fields[1]) == parent]


def start(cwd: Path, env: dict[str, str], workers: int | None = 2,
          baton: Sequence[str] = BATON) -> tuple[subprocess.Popen, str]:
    """`baton serve` on a free port, once it answers; `workers=None` leaves the default,
    `baton` is the command to run (another environment's entry point)."""
    port = free_port()
    count = [] if workers is None else ["--workers", str(workers)]
    proc = subprocess.Popen([*baton, "serve", "--port", str(port), *count],
                            cwd=cwd, env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if requests.get(f"{url}/healthz", timeout=1).status_code == 200:
                return proc, url
        except requests.ConnectionError:
            pass
        if proc.poll() is not None:
            raise RuntimeError("baton serve exited at start")
        time.sleep(0.1)
    proc.kill()
    raise RuntimeError("baton serve did not answer in 30 s")


def add_actors(env: dict[str, str], who: list[tuple[str, list[str], str | None]]
               ) -> dict[str, str]:
    """Create actors directly in the database (the CLI's own path is tested elsewhere)."""
    engine = db.make_engine(env["BATON_DATABASE_URL"])
    now = datetime.now(UTC)
    with engine.begin() as conn:
        tokens = {h: actors.add(conn, h, roles, team, now) for h, roles, team in who}
    engine.dispose()
    return tokens


def prepare(request: pytest.FixtureRequest, cwd: Path) -> dict[str, str]:
    """Environment for a server on the backend the test is parametrized with."""
    if request.param == "postgresql":
        url = request.getfixturevalue("pg_cluster").new_database()
    else:
        url = f"sqlite:///{cwd / 'baton.db'}"
    return {**os.environ, "BATON_DATABASE_URL": url,
            "BATON_SIGNING_KEY": str(cwd / "signing.key"), "BATON_CHECKPOINT_EVERY": "5"}


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def server(request: pytest.FixtureRequest,
           tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    cwd = tmp_path_factory.mktemp("e2e")
    env = prepare(request, cwd)
    subprocess.run([*BATON, "init"], cwd=cwd, env=env, check=True, capture_output=True)
    tokens = add_actors(env, DEMO)
    proc, url = start(cwd, env)
    try:
        yield Server(url, tokens, env, cwd)
    finally:
        os.killpg(proc.pid, 15)
        proc.wait(timeout=30)
