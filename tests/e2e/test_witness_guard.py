"""`baton witness serve` bounds its reads (issue 27, point 10): a Content-Length that is no
number is a 400 without a traceback, a body beyond 64 KiB is refused unread, and half-sent
requests are dropped after the read timeout instead of holding a thread each for ever."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from api.testbed import BATON
from audit.log import signed_note
from tests.cli_here import set_up


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[subprocess.Popen[str], int, Path]]:
    key = tmp_path / "w.key"
    set_up({}, "witness", "keygen", "--key", str(key), "--name", "w.example")
    log_vkey = signed_note.verifier_key("log.example/ledger",
                                        Ed25519PrivateKey.generate().public_key())
    err = tmp_path / "err.log"
    with open(err, "w") as stderr:
        proc = subprocess.Popen([*BATON, "witness", "serve", "--key", str(key), "--state",
                                 str(tmp_path / "state"), "--log", log_vkey, "--port", "0",
                                 "--read-timeout", "2"], text=True, stdout=subprocess.PIPE,
                                stderr=stderr, start_new_session=True)
    assert proc.stdout is not None
    line = proc.stdout.readline()
    assert line.startswith("listening on "), line
    try:
        yield proc, int(line.rsplit(":", 1)[1]), err
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=30)
        proc.stdout.close()


def ask(port: int, request: bytes) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(request)
        return sock.recv(4096)


def threads(pid: int) -> int:
    return len(os.listdir(f"/proc/{pid}/task"))


def test_a_content_length_that_is_no_number_is_400_without_a_traceback(
        served: tuple[subprocess.Popen[str], int, Path]) -> None:
    proc, port, err = served
    for length in ("abc", "²", "-5", "9" * 5000, "70000"):
        answer = ask(port, f"POST /add-checkpoint HTTP/1.1\r\nHost: w\r\n"
                           f"Content-Length: {length}\r\n\r\n".encode())
        assert answer.startswith(b"HTTP/1.1 400"), (length, answer[:80])
    time.sleep(0.2)
    assert "Traceback" not in err.read_text()


def test_half_sent_requests_are_dropped_after_the_read_timeout(
        served: tuple[subprocess.Popen[str], int, Path]) -> None:
    proc, port, err = served
    idle = threads(proc.pid)
    stalled, peak = [], idle
    for i in range(40):
        sock = socket.create_connection(("127.0.0.1", port), timeout=5)
        # Half the connections stop inside their headers, half inside their body.
        sock.sendall(b"POST /add-checkpoint HTTP/1.1\r\nHost: w\r\n" if i % 2 else
                     b"POST /add-checkpoint HTTP/1.1\r\nContent-Length: 100\r\n\r\nabc")
        stalled.append(sock)
    until = time.monotonic() + 1.8  # within the read timeout (2 s), on a loaded machine too
    while time.monotonic() < until and peak < idle + 2:
        peak = max(peak, threads(proc.pid))
        time.sleep(0.02)
    assert peak >= idle + 2, (idle, peak)  # a thread each while they stall
    deadline = time.monotonic() + 10
    while threads(proc.pid) > idle + 2 and time.monotonic() < deadline:
        time.sleep(0.2)
    assert threads(proc.pid) <= idle + 2, "stalled connections still hold threads"
    for sock in stalled:
        sock.close()
    # A slow trickle is bounded by the same time for the whole body.
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(b"POST /add-checkpoint HTTP/1.1\r\nContent-Length: 100\r\n\r\n")
        started = time.monotonic()
        try:
            for _ in range(40):
                sock.sendall(b"x")
                time.sleep(0.1)
        except OSError:
            pass
        assert sock.recv(100) == b"" or time.monotonic() - started < 3.5
    assert time.monotonic() - started < 3.5  # cut at the 2 s read timeout, not after 4 s
    assert "Traceback" not in err.read_text()
