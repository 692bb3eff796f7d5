"""A real `baton witness serve` process for tests: its key made with `baton witness
keygen`, listening on a free loopback port."""

from __future__ import annotations

import subprocess
from pathlib import Path

from api.testbed import BATON
from tests.cli_here import set_up


def start_witness(cwd: Path, name: str, log_vkey: str, env: dict[str, str] | None = None
                  ) -> tuple[subprocess.Popen[str], str, str]:
    """(the process, its verifier key, its URL); the caller stops the process."""
    key = cwd / f"{name}.key"
    vkey = set_up(env, "witness", "keygen", "--key", str(key), "--name",
                  f"{name}.example").stdout.strip()
    proc = subprocess.Popen([*BATON, "witness", "serve", "--key", str(key), "--state",
                             str(cwd / f"{name}.state"), "--log", log_vkey, "--port", "0"],
                            env=env, text=True, stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL, start_new_session=True)
    assert proc.stdout is not None
    line = proc.stdout.readline()
    assert line.startswith("listening on "), line
    return proc, vkey, line.split()[-1]
