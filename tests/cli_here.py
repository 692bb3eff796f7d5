"""`baton ARGS` run in the test's own process (click's CliRunner), for the commands that
set a test up (init, public-key, witness keygen, ...) rather than being its subject: the
same code as the command, without a Python process that imports Baton again for it (a
second of CPU on a loaded machine, and about 30 such commands in a run). The commands a
test is about, and the servers and workers, stay real processes."""

from __future__ import annotations

import subprocess

from click.testing import CliRunner

from api.cli import main
from api.testbed import BATON


def baton_here(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    """`baton ARGS` run in this process with `env`'s BATON_ settings: its exit status and
    what it printed, as from a process. An exception other than an exit is raised here,
    where the real command would have printed a traceback. Paths given to it must be
    absolute (the command runs in this process's directory)."""
    done = CliRunner().invoke(main, list(args), catch_exceptions=False,
                              env={k: v for k, v in env.items() if k.startswith("BATON_")})
    return subprocess.CompletedProcess([*BATON, *args], done.exit_code, done.stdout,
                                       done.stderr)


def set_up(env: dict[str, str] | None, *args: str) -> subprocess.CompletedProcess[str]:
    """baton_here for a command that must succeed (its message shown when it does not)."""
    done = baton_here(env or {}, *args)
    assert done.returncode == 0, f"baton {' '.join(args)} exited {done.returncode}: " \
                                 f"{done.stderr}"
    return done
