"""A real `baton serve` (gunicorn, several workers) on a free loopback port, on each
backend (the server and its actors come from api.testbed, shared with bench.http)."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests

from api.cli import DEMO
from api.testbed import BATON, add_actors, start
from tests.cli_here import baton_here, set_up


@dataclass
class Server:
    url: str
    tokens: dict[str, str]
    env: dict[str, str]
    cwd: Path

    def baton(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        """`baton ARGS` as a process, on the server's database."""
        return subprocess.run([*BATON, *args], cwd=self.cwd, env=self.env, text=True,
                              capture_output=True, check=check, timeout=120)

    def baton_here(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        """`baton ARGS` in this process (baton_here), on the server's database."""
        done = baton_here(self.env, *args)
        if check:
            done.check_returncode()
        return done

    def session(self, who: str) -> requests.Session:
        s = requests.Session()
        s.headers["Authorization"] = f"Bearer {self.tokens[who]}"
        return s


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
    # A simulation: the tests sweep at times of their choosing (baton sla sweep --now).
    set_up(env, "init", "--simulation")
    tokens = add_actors(env, DEMO)
    proc, url = start(cwd, env)
    try:
        yield Server(url, tokens, env, cwd)
    finally:
        os.killpg(proc.pid, 15)
        proc.wait(timeout=30)


@contextmanager
def served_with(request: pytest.FixtureRequest, cwd: Path, policy: str,
                **settings: str) -> Iterator[tuple[str, dict[str, str], dict[str, str]]]:
    """A real `baton serve` (and its worker) under `policy` on the request's backend:
    (its URL, the demo actors' tokens, its environment)."""
    env = {**prepare(request, cwd), **settings}
    (cwd / "policy.toml").write_text(policy)
    set_up(env, "init", "--policy", str(cwd / "policy.toml"))
    tokens = add_actors(env, DEMO)
    proc, url = start(cwd, env, workers=2)
    try:
        yield url, tokens, env
    finally:
        os.killpg(proc.pid, 15)
        proc.wait(timeout=30)
