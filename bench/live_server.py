"""A real `baton serve` (gunicorn, several workers) on a free loopback port, and actors
with tokens to call it: what the HTTP benchmark measures and the end-to-end tests drive."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

import requests

from audit import actors, db
from bench.processes import free_port

BATON = [sys.executable, "-m", "api.cli"]


def start(cwd: Path, env: dict[str, str], workers: int | None = 2,
          baton: Sequence[str] = BATON, worker: bool = True
          ) -> tuple[subprocess.Popen[bytes], str]:
    """`baton serve` on a free port, once it answers; `workers=None` leaves the default,
    `baton` is the command to run (another environment's entry point), `worker=False`
    serves without the sweeping and delivering worker beside it."""
    port = free_port()
    count = [] if workers is None else ["--workers", str(workers)]
    alone = [] if worker else ["--no-worker"]
    proc = subprocess.Popen([*baton, "serve", "--port", str(port), *count, *alone],
                            cwd=cwd, env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            # A busy machine may take seconds to answer the first request of a worker
            # that is still importing: a slow answer is not a dead server.
            if requests.get(f"{url}/healthz", timeout=5).status_code == 200:
                return proc, url
        except requests.RequestException:
            pass
        if proc.poll() is not None:
            raise RuntimeError("baton serve exited at start")
        time.sleep(0.1)
    os.killpg(proc.pid, 9)
    proc.wait(timeout=30)
    raise RuntimeError("baton serve did not answer in 60 s")


def add_actors(env: dict[str, str], who: Sequence[tuple[str, list[str], str | None]]
               ) -> dict[str, str]:
    """Create actors directly in the database (the CLI's own path is tested elsewhere);
    returns their tokens by handle."""
    engine = db.make_engine(env["BATON_DATABASE_URL"])
    now = datetime.now(UTC)
    with engine.begin() as conn:
        tokens = {h: actors.add(conn, h, roles, team, now) for h, roles, team in who}
    engine.dispose()
    return tokens
