"""The testbed the tests and the benchmarks both stand on: processes on this machine (a
free loopback port, CPU times and children from /proc), a throwaway PostgreSQL cluster on
a free loopback port (durable, fsync on), and a real `baton serve` (gunicorn) with actors
and tokens to call it. Started and stopped by whoever owns them: the test run or a
benchmark. Nothing in Baton itself imports this module."""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

import psycopg
import requests

from audit.store import actors, db
from audit.store.uow import SqlUnitOfWork

# Processes

def free_port() -> int:
    """A loopback TCP port nothing listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


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

# A throwaway PostgreSQL cluster

def find(name: str) -> str | None:
    """A PostgreSQL server binary: on PATH, or in Debian's versioned directory."""
    found = shutil.which(name)
    if found:
        return found
    candidates = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    return candidates[-1] if candidates else None


class Cluster:
    """initdb + pg_ctl on a free loopback port; as `postgres` when we are root."""

    def __init__(self, durable: bool = False) -> None:
        self.durable = durable
        initdb, pg_ctl = find("initdb"), find("pg_ctl")
        if not initdb or not pg_ctl:
            raise FileNotFoundError("PostgreSQL server binaries (initdb, pg_ctl) not found")
        self.initdb, self.pg_ctl = initdb, pg_ctl
        self.dir = Path(tempfile.mkdtemp(prefix="baton-pg-"))
        self.data = self.dir / "data"
        self.port = free_port()
        self.as_root = os.geteuid() == 0
        if self.as_root:
            shutil.chown(self.dir, "postgres", "postgres")

    def _run(self, *args: str) -> None:
        cmd = list(args)
        if self.as_root:
            cmd = ["runuser", "-u", "postgres", "--", *cmd]
        subprocess.run(cmd, check=True, capture_output=True, timeout=120)

    def start(self) -> None:
        self._run(self.initdb, "-D", str(self.data), "-A", "trust", "-U", "postgres",
                  "--no-sync", "-E", "UTF8")
        # Tests trade durability for speed; benchmarks (durable=True) keep fsync on.
        fsync = "on" if self.durable else "off"
        options = (f"-c listen_addresses=127.0.0.1 -p {self.port} "
                   f"-c unix_socket_directories={self.dir} -c fsync={fsync} "
                   "-c max_connections=200")
        self._run(self.pg_ctl, "-D", str(self.data), "-o", options, "-l",
                  str(self.dir / "log"), "-w", "-t", "60", "start")

    def stop(self) -> None:
        try:
            self._run(self.pg_ctl, "-D", str(self.data), "-m", "immediate", "-w", "stop")
        finally:
            shutil.rmtree(self.dir, ignore_errors=True)

    def pid(self) -> int:
        """The postmaster's process id (its children are the backends)."""
        return int((self.data / "postmaster.pid").read_text().split()[0])

    def admin(self) -> psycopg.Connection:
        return psycopg.connect(host="127.0.0.1", port=self.port, user="postgres",
                               dbname="postgres", autocommit=True)

    def new_database(self) -> str:
        """A fresh empty database; returns its SQLAlchemy URL."""
        name = f"t_{uuid.uuid4().hex[:12]}"
        with self.admin() as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{name}"

    def wait(self) -> None:
        deadline = time.monotonic() + 30
        while True:
            try:
                self.admin().close()
                return
            except psycopg.OperationalError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)

# A live baton serve


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
    # A writer's transaction (BEGIN IMMEDIATE and the writer lock on SQLite): a deferred
    # one read first, and a running server's write in between refused its INSERT at once.
    with SqlUnitOfWork(engine) as uow:
        tokens = {h: actors.add(uow.conn, h, roles, team, now) for h, roles, team in who}
        uow.commit()
    engine.dispose()
    return tokens


def worker_running(url: str, admin_token: str, timeout: float = 60.0) -> None:
    """Wait until the server's /healthz (as an operator) counts a live worker: a test of
    clocks starts them once the worker beside the server sweeps, not while it imports."""
    deadline = time.monotonic() + timeout
    headers = {"Authorization": f"Bearer {admin_token}"}
    while requests.get(f"{url}/healthz", headers=headers, timeout=10).json().get(
            "workers_alive", 0) < 1:
        if time.monotonic() > deadline:
            raise TimeoutError(f"no worker alive beside {url} after {timeout} s")
        time.sleep(0.1)
