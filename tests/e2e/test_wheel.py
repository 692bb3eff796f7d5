"""The wheel, installed in a fresh virtual environment away from the checkout, runs Baton."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import requests

from tests.e2e.conftest import start

ROOT = Path(__file__).resolve().parents[2]
# Variables that could let the checkout or the test's own environment stand in for the wheel.
LEAKS = ("PYTHONPATH", "PYTHONHOME", "PYTHONSTARTUP", "VIRTUAL_ENV")


def run(command: list[str], cwd: Path, env: dict[str, str] | None = None
        ) -> subprocess.CompletedProcess[str]:
    """Run a command to completion; a failure shows its output, not only its status."""
    done = subprocess.run(command, cwd=cwd, env=env, text=True, capture_output=True,
                          timeout=300)
    assert done.returncode == 0, f"{command} exited {done.returncode}:\n{done.stderr[-3000:]}"
    return done


def source_copy(into: Path) -> Path:
    """The checkout's files as git sees them (tracked or new, not ignored): setuptools builds
    in place, writing build/ and *.egg-info into the tree it is given, and a stale build/lib
    would ship modules that no longer exist."""
    listed = run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
                 cwd=ROOT).stdout
    for name in filter(None, listed.split("\0")):
        source = ROOT / name
        if source.is_file():  # a tracked file someone has just deleted is not there
            (into / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, into / name)
    return into


def test_installed_wheel_initialises_and_serves(tmp_path: Path) -> None:
    source = source_copy(tmp_path / "source")
    dist, venv, home = tmp_path / "dist", tmp_path / "venv", tmp_path / "home"
    home.mkdir()
    run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(dist),
         str(source)], cwd=tmp_path)
    (wheel,) = dist.glob("baton-*.whl")
    # No pip of its own (seeding one takes longer than the rest of the install): this pip
    # installs into it. Dependencies come from the configured index, as for any user.
    run([sys.executable, "-m", "venv", "--without-pip", str(venv)], cwd=tmp_path)
    python, baton = str(venv / "bin" / "python"), str(venv / "bin" / "baton")
    # --no-compile: the interpreter compiles what it imports, as a user's first run does;
    # byte-compiling every dependency up front was most of this test's CPU.
    run([sys.executable, "-m", "pip", "--python", python, "install", "-q", "--no-compile",
         "--disable-pip-version-check", str(wheel)], cwd=tmp_path)

    env = {k: v for k, v in os.environ.items() if k not in LEAKS and not k.startswith("BATON_")}
    env |= {"BATON_DATABASE_URL": f"sqlite:///{home / 'baton.db'}",
            "BATON_SIGNING_KEY": str(home / "signing.key"), "PYTHONNOUSERSITE": "1"}
    run([baton, "init"], cwd=home, env=env)
    where = run([python, "-c", "import api.views, audit.store.migrations, workflow; "
                 "print(api.views.__file__, audit.store.migrations.__file__, workflow.__file__)"],
                cwd=home, env=env).stdout.split()
    assert all(Path(p).is_relative_to(venv) for p in where), where
    shown = run([baton, "policy", "show"], cwd=home, env=env)
    header, text = shown.stdout.split("\n", 1)
    version = header.removeprefix("# version ")
    assert text == (ROOT / "workflow" / "default_policy.toml").read_text("utf-8")
    token = run([baton, "actors", "add", "aud", "--role", "auditor"], cwd=home,
                env=env).stdout.strip()

    proc, url = start(home, env, workers=1, baton=[baton])
    try:
        assert requests.get(f"{url}/healthz", timeout=5).json()["status"] == "ok"
        auth = {"Authorization": f"Bearer {token}"}
        policy = requests.get(f"{url}/api/v1/policy", headers=auth, timeout=5)
        assert policy.status_code == 200, policy.text
        assert (policy.json()["version"], policy.json()["text"]) == (version, text)
        assert requests.get(f"{url}/api/v1/policy", timeout=5).status_code == 401
        docs = requests.get(f"{url}/api/v1/docs", timeout=5)  # a template from the wheel
        assert docs.status_code == 200 and "/escalations" in docs.text, docs.text[:500]
    finally:
        os.killpg(proc.pid, 15)
        proc.wait(timeout=30)
