"""A throwaway PostgreSQL cluster on a free loopback port, started and stopped by whoever
owns it: the test run (tests/conftest.py) or a benchmark (durable, fsync on)."""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import tempfile
import time
import uuid
from pathlib import Path

import psycopg

from bench.processes import free_port


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
