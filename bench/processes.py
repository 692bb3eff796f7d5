"""Processes on this machine: a free loopback port for one to listen on, and what /proc
says about them (CPU times, children), for the benchmarks' CPU accounting and the
end-to-end tests."""

from __future__ import annotations

import os
import socket


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
