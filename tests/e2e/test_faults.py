"""Real faults under `baton serve` (issue 20): PostgreSQL stopped and started during a
write load, SQLite on a disk filled to the brim, the database files made read-only, and
a server started without its signing key. Every answer is problem+json (never gunicorn's
HTML), 503 with Retry-After while the fault lasts, /healthz says which part is down, no
acknowledged write is lost, and writes resume without a restart."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import requests
from sqlalchemy import text

from api.cli import DEMO
from api.testbed import BATON, Cluster, add_actors, start
from audit.store import db
from tests.availability import unavailable
from tests.cli_here import set_up
from tests.initialised_app import OPEN

# Root ignores file modes; without these capabilities it obeys them (setpriv, util-linux).
NO_DAC = ["setpriv", "--bounding-set", "-dac_override,-dac_read_search,-fowner"]


@dataclass
class Load:
    """Writers posting escalations (each with its own Idempotency-Key) until stopped."""

    url: str
    token: str
    acknowledged: list[str] = field(default_factory=list)
    answers: list[tuple[int, str, str, dict[str, Any] | None]] = field(default_factory=list)
    stop: threading.Event = field(default_factory=threading.Event)

    def run(self, name: str) -> None:
        s = requests.Session()
        s.headers["Authorization"] = f"Bearer {self.token}"
        n = 0
        while not self.stop.is_set():
            n += 1
            try:
                r = s.post(f"{self.url}/api/v1/escalations", json=OPEN, timeout=10,
                           headers={"Idempotency-Key": f"{name}-{n}"})
            except requests.RequestException:
                time.sleep(0.05)
                continue
            ctype = r.headers.get("Content-Type", "")
            body = r.json() if "json" in ctype else None
            self.answers.append((r.status_code, ctype, r.headers.get("Retry-After", ""), body))
            if r.status_code == 201:
                self.acknowledged.append(r.json()["id"])
            else:
                time.sleep(0.05)

    def statuses_since(self, mark: int) -> set[int]:
        return {a[0] for a in self.answers[mark:]}


@contextmanager
def loaded(url: str, token: str, writers: int = 2) -> Iterator[Load]:
    load = Load(url, token)
    threads = [threading.Thread(target=load.run, args=(f"w{i}",)) for i in range(writers)]
    for t in threads:
        t.start()
    try:
        yield load
    finally:
        load.stop.set()
        for t in threads:
            t.join(30)


def served(cwd: Path, url: str, baton: list[str] | None = None,
           ) -> tuple[subprocess.Popen[bytes], str, dict[str, str], str]:
    env = {**os.environ, "BATON_DATABASE_URL": url,
           "BATON_SIGNING_KEY": str(cwd / "signing.key"), "BATON_CHECKPOINT_EVERY": "50"}
    set_up(env, "init")
    token = add_actors(env, [a for a in DEMO if a[0] == "alice"])["alice"]
    proc, server = start(cwd, env, baton=baton or BATON)
    return proc, server, env, token


def stopped(proc: subprocess.Popen[bytes]) -> None:
    os.killpg(proc.pid, 15)
    proc.wait(timeout=30)


def wait_for(check: Any, seconds: float = 20) -> float:
    started = time.monotonic()
    while not check():
        assert time.monotonic() - started < seconds, "did not happen in time"
        time.sleep(0.05)
    return time.monotonic() - started


def ids_in(url: str) -> set[str]:
    engine = db.make_engine(url)
    try:
        with engine.connect() as conn:
            return set(conn.execute(text("SELECT id FROM escalations")).scalars())
    finally:
        engine.dispose()


def assert_all_problem_json(load: Load) -> None:
    for status, ctype, retry, body in load.answers:
        if status == 201:
            continue
        assert ctype.startswith("application/problem+json"), (status, ctype)
        assert status == 503 and int(retry) > 0, (status, body)


def healthz(server: str) -> tuple[int, dict[str, Any]]:
    r = requests.get(f"{server}/healthz", timeout=10)
    return r.status_code, r.json()


def test_serve_refuses_to_start_without_a_signing_key(tmp_path: Path) -> None:
    env = {**os.environ, "BATON_DATABASE_URL": f"sqlite:///{tmp_path / 'baton.db'}",
           "BATON_SIGNING_KEY": str(tmp_path / "signing.key")}
    set_up(env, "init")
    (tmp_path / "signing.key").unlink()
    done = subprocess.run([*BATON, "serve", "--port", "1"], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode != 0
    assert len(done.stderr.strip().splitlines()) == 1 and "sign" in done.stderr


@pytest.mark.parametrize("command", [["serve", "--port", "1"], ["worker", "--once"]])
def test_serve_and_worker_refuse_a_database_whose_schema_is_behind(
        tmp_path: Path, command: list[str]) -> None:
    """Newer code on an older schema would write rows the older layout misreads: neither
    the server nor a worker started on its own (a sweep writes too) starts there."""
    from audit.store import db, migrate

    env = {**os.environ, "BATON_DATABASE_URL": f"sqlite:///{tmp_path / 'baton.db'}",
           "BATON_SIGNING_KEY": str(tmp_path / "signing.key")}
    set_up(env, "init")
    engine = db.make_engine(env["BATON_DATABASE_URL"])
    migrate.downgrade(engine, "0017")
    engine.dispose()
    done = subprocess.run([*BATON, *command], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 1
    assert done.stderr.strip() == (f"error: the database's schema is 0017 and this Baton "
                                   f"writes {migrate.head()}: run `baton db upgrade` first")
    upgraded = subprocess.run([*BATON, "db", "upgrade"], cwd=tmp_path, env=env, text=True,
                              capture_output=True, timeout=60)
    assert upgraded.returncode == 0 and "0017 -> 0018" in upgraded.stderr + upgraded.stdout


def test_postgres_stopped_and_started_under_a_write_load(tmp_path: Path) -> None:
    try:
        cluster = Cluster()  # its own: this test stops it
    except FileNotFoundError as exc:
        unavailable(f"PostgreSQL is not on this machine: {exc}", "BATON_REQUIRE_POSTGRES")
    cluster.start()
    cluster.wait()
    proc = None
    try:
        url = cluster.new_database()
        proc, server, _env, token = served(tmp_path, url)
        with loaded(server, token) as load:
            wait_for(lambda: len(load.acknowledged) >= 20)
            cluster._run(cluster.pg_ctl, "-D", str(cluster.data), "-m", "fast", "-w", "stop")
            mark = len(load.answers)
            wait_for(lambda: 503 in load.statuses_since(mark))
            time.sleep(1.0)
            assert healthz(server)[0] == 503
            assert healthz(server)[1]["database"] == "unreachable"
            cluster._run(cluster.pg_ctl, "-D", str(cluster.data), "-l",
                         str(cluster.dir / "log"), "-w", "-t", "60", "-o",
                         f"-c listen_addresses=127.0.0.1 -p {cluster.port} "
                         f"-c unix_socket_directories={cluster.dir} -c fsync=off", "start")
            done = len(load.acknowledged)
            recovered = wait_for(lambda: len(load.acknowledged) > done + 5)
            print(f"writes acknowledged again {recovered:.2f} s after PostgreSQL started")
        assert_all_problem_json(load)
        types = {a[3]["type"] for a in load.answers if a[0] == 503 and a[3]}
        assert "urn:baton:problem:database-unavailable" in types, types
        assert set(load.acknowledged) <= ids_in(url)  # no acknowledged write lost
        assert healthz(server)[0] == 200
    finally:
        if proc is not None:
            stopped(proc)
        cluster.stop()


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    if os.geteuid() != 0:
        unavailable("mounting a tmpfs needs root (CI runs as root)")
    disk = tmp_path / "disk"
    disk.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=16m", "tmpfs", str(disk)], check=True)
    try:
        yield disk
    finally:
        subprocess.run(["umount", "-l", str(disk)], check=False)


def test_sqlite_on_a_full_disk_is_storage_full_and_recovers(small_disk: Path,
                                                            tmp_path: Path) -> None:
    url = f"sqlite:///{small_disk / 'baton.db'}"
    proc, server, _env, token = served(tmp_path, url)
    filler = small_disk / "filler"
    try:
        with loaded(server, token, writers=1) as load:
            wait_for(lambda: len(load.acknowledged) >= 10)
            fd = os.open(filler, os.O_WRONLY | os.O_CREAT, 0o600)
            for size in (65536, 512, 1):  # to the brim
                try:
                    while True:
                        os.write(fd, b"\0" * size)
                except OSError:
                    pass
            os.close(fd)
            mark = len(load.answers)
            wait_for(lambda: 503 in load.statuses_since(mark))
            status, body = healthz(server)
            assert status == 503 and body["database"] == "storage-full"
            filler.unlink()
            done = len(load.acknowledged)
            wait_for(lambda: len(load.acknowledged) > done + 5)
        assert_all_problem_json(load)
        types = {a[3]["type"] for a in load.answers if a[0] == 503 and a[3]}
        assert types == {"urn:baton:problem:storage-full"}, types
        with sqlite3.connect(small_disk / "baton.db") as check:
            assert check.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        assert set(load.acknowledged) <= ids_in(url)
        health = healthz(server)
        assert health[0] == 200, health
    finally:
        stopped(proc)


def test_read_only_files_are_503_and_writable_again_without_a_restart(
        tmp_path: Path) -> None:
    if os.geteuid() != 0:
        unavailable("dropping CAP_DAC_OVERRIDE needs root (CI runs as root)")
    database = tmp_path / "baton.db"
    proc, server, _env, token = served(tmp_path, f"sqlite:///{database}", NO_DAC + BATON)
    files = [p for p in (database, Path(f"{database}-wal"), Path(f"{database}-shm"),
                         Path(f"{database}-writer.lock")) if p.exists()]
    try:
        with loaded(server, token, writers=1) as load:
            wait_for(lambda: len(load.acknowledged) >= 10)
            for p in files:
                p.chmod(0o444)
            mark = len(load.answers)
            wait_for(lambda: 503 in load.statuses_since(mark))
            status, body = healthz(server)
            assert status == 503 and body["database"] == "read-only"
            for p in files:
                p.chmod(0o644)
            done = len(load.acknowledged)
            wait_for(lambda: len(load.acknowledged) > done + 5)
        assert_all_problem_json(load)
        types = {a[3]["type"] for a in load.answers if a[0] == 503 and a[3]}
        assert types == {"urn:baton:problem:database-read-only"}, types
        assert set(load.acknowledged) <= ids_in(f"sqlite:///{database}")
        assert healthz(server)[0] == 200
    finally:
        stopped(proc)
