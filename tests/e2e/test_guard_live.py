"""Against a real `baton serve` (gunicorn, 2 sync workers), issue 27: an anonymous or
oversized body is refused before it is read (milliseconds, no memory, the server answers
others meanwhile); X-Forwarded-Proto is not believed from loopback without
BATON_TRUST_PROXY; a signing key replaced by a directory (SIGHUP) is the 503 problem and a
503 page, with no traceback; feedback tokens are not in the access log, Referer included."""

from __future__ import annotations

import os
import signal
import socket
import statistics
import subprocess
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests

from api.cli import DEMO
from api.testbed import BATON, add_actors, children, free_port
from tests.cli_here import set_up
from tests.initialised_app import OPEN

FIFTY_MB = 50 * 1024 * 1024


@dataclass
class Live:
    url: str
    port: int
    proc: subprocess.Popen[bytes]
    tokens: dict[str, str]
    cwd: Path
    out: Path
    err: Path


def _serve(cwd: Path, env: dict[str, str]) -> tuple[subprocess.Popen[bytes], int]:
    port = free_port()
    with open(cwd / "out.log", "wb") as out, open(cwd / "err.log", "wb") as err:
        proc = subprocess.Popen([*BATON, "serve", "--port", str(port), "--workers", "2",
                                 "--no-worker"], cwd=cwd, env=env, stdout=out, stderr=err,
                                start_new_session=True)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if requests.get(f"http://127.0.0.1:{port}/healthz", timeout=5).ok:
                return proc, port
        except requests.RequestException:
            time.sleep(0.1)
    os.killpg(proc.pid, signal.SIGKILL)
    raise RuntimeError("baton serve did not answer")


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    cwd = tmp_path_factory.mktemp("guard")
    env = {**os.environ, "BATON_DATABASE_URL": f"sqlite:///{cwd / 'baton.db'}",
           "BATON_SIGNING_KEY": str(cwd / "signing.key")}
    env.pop("BATON_TRUST_PROXY", None)
    set_up(env, "init")
    tokens = add_actors(env, DEMO)
    proc, port = _serve(cwd, env)
    try:
        yield Live(f"http://127.0.0.1:{port}", port, proc, tokens, cwd, cwd / "out.log",
                   cwd / "err.log")
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=30)


def rss_kib(pids: list[int]) -> dict[int, int]:
    """Each process's resident set (VmRSS, KiB), from /proc."""
    out = {}
    for pid in pids:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                out[pid] = int(line.split()[1])
    return out


def refused_after(live: Live, token: str | None, size: int = FIFTY_MB) -> tuple[float, bytes]:
    """Send a request declaring `size` bytes of JSON and keep sending them from another
    thread; the seconds until the status line came back, and the answer's first bytes."""
    sock = socket.create_connection(("127.0.0.1", live.port))
    auth = f"Authorization: Bearer {token}\r\n" if token else ""
    head = (f"POST /api/v1/escalations HTTP/1.1\r\nHost: x\r\n{auth}"
            f"Content-Type: application/json\r\nContent-Length: {size}\r\n\r\n").encode()

    def pour() -> None:
        chunk = b"1," * 32768
        try:
            for _ in range(size // len(chunk)):
                sock.sendall(chunk)
        except OSError:
            pass  # the server closed: what it should do

    started = time.perf_counter()
    sock.sendall(head)
    sender = threading.Thread(target=pour, daemon=True)
    sender.start()
    answer = sock.recv(65536)
    took = time.perf_counter() - started
    sock.settimeout(2)
    try:
        while more := sock.recv(65536):  # the rest of the answer, until the server closes
            answer += more
    except OSError:
        pass
    sock.close()
    sender.join(timeout=10)
    return took, answer


def test_an_anonymous_50_mb_body_costs_milliseconds_and_no_memory(live: Live) -> None:
    workers = children(live.proc.pid)
    assert len(workers) == 2, workers
    requests.get(f"{live.url}/api/v1/escalations", timeout=10,
                 headers={"Authorization": f"Bearer {live.tokens['alice']}"})
    before = rss_kib(workers)
    took = []
    for _ in range(5):
        seconds, answer = refused_after(live, None)
        assert answer.startswith(b"HTTP/1.1 401"), answer[:100]
        took.append(seconds)
    after = rss_kib(workers)
    print(f"anonymous 50 MB: median {statistics.median(took) * 1000:.1f} ms, RSS KiB "
          f"{before} -> {after}")
    assert statistics.median(took) < 0.1, took
    for pid in workers:  # a 50 MB body read would show as tens of MB
        assert after[pid] - before[pid] < 4096, (before, after)


def test_an_authenticated_50_mb_body_is_413_unread(live: Live) -> None:
    took = []
    for _ in range(3):
        seconds, answer = refused_after(live, live.tokens["alice"])
        assert answer.startswith(b"HTTP/1.1 413"), answer[:100]
        assert b"application/problem+json" in answer and b"body-too-large" in answer
        took.append(seconds)
    assert statistics.median(took) < 0.1, took


def test_the_server_answers_others_while_bodies_pour_in(live: Live) -> None:
    pourers = [threading.Thread(target=refused_after, args=(live, None)) for _ in range(4)]
    for t in pourers:
        t.start()
    answers = []
    for _ in range(10):
        started = time.perf_counter()
        r = requests.get(f"{live.url}/healthz", timeout=10)
        answers.append((r.status_code, time.perf_counter() - started))
    for t in pourers:
        t.join(timeout=30)
    assert all(status == 200 for status, _ in answers), answers
    assert statistics.median(s for _, s in answers) < 0.5, answers


def test_x_forwarded_proto_from_loopback_is_not_believed(live: Live) -> None:
    r = requests.get(f"{live.url}/ui/login", timeout=10,
                     headers={"X-Forwarded-Proto": "https", "X-Forwarded-For": "1.2.3.4"})
    assert r.status_code == 200
    assert "Strict-Transport-Security" not in r.headers  # the request was not https
    assert "secure" not in r.headers.get("Set-Cookie", "").lower()


def test_feedback_tokens_are_in_no_field_of_the_access_log(live: Live) -> None:
    token = "eyJlIjoiZXNjLTEifQ.SeCrEtToKeN123"
    requests.get(f"{live.url}/favicon.ico", timeout=10,
                 headers={"Referer": f"{live.url}/feedback/{token}"})
    requests.get(f"{live.url}/feedback/{token}", timeout=10)
    requests.get(f"{live.url}/ui/login?next=%2Ffeedback%2F{token}", timeout=10)
    time.sleep(0.5)
    log = live.out.read_text()
    assert "/feedback/[token]" in log and "favicon.ico" in log
    assert "SeCrEtToKeN123" not in log


def test_a_signing_key_replaced_by_a_directory_is_503_never_500(live: Live) -> None:
    key = live.cwd / "signing.key"
    os.replace(key, live.cwd / "signing.key.saved")
    key.mkdir()
    try:
        os.kill(live.proc.pid, signal.SIGHUP)  # gunicorn reloads: new workers, new apps
        time.sleep(3)
        headers = {"Authorization": f"Bearer {live.tokens['alice']}"}
        r = requests.post(f"{live.url}/api/v1/escalations", json=OPEN,
                          headers=headers, timeout=10)
        assert r.status_code == 503, r.text
        assert r.json()["type"] == "urn:baton:problem:signing-unavailable"
        page = requests.get(f"{live.url}/ui/login", timeout=10)
        assert page.status_code == 503 and "text/html" in page.headers["Content-Type"]
        assert requests.get(f"{live.url}/healthz", timeout=10).status_code == 503
    finally:
        key.rmdir()
        os.replace(live.cwd / "signing.key.saved", key)
    assert "Traceback" not in live.err.read_text() + live.out.read_text()
