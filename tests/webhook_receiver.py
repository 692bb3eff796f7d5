"""A real HTTP receiver on loopback that verifies every Standard Webhooks signature with
the `standardwebhooks` library, answers as scripted, and dedupes on webhook-id."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from standardwebhooks.webhooks import Webhook, WebhookVerificationError


@dataclass
class Received:
    """One request as it arrived."""

    at: float
    headers: dict[str, str]
    body: bytes
    status: int
    verified_with: list[int]  # indexes into Receiver.secrets that verify it

    @property
    def json(self) -> Any:
        return json.loads(self.body)

    @property
    def msg_id(self) -> str:
        return self.headers["webhook-id"]


# A script: given the request (and how many came before with its id), (status, headers).
Script = Callable[["Received", int], tuple[int, dict[str, str]]]


def ok(_r: Received, _n: int) -> tuple[int, dict[str, str]]:
    return 200, {}


@dataclass
class Receiver:
    script: Script = ok
    delay: float = 0.0
    secrets: list[str] = field(default_factory=list)
    got: list[Received] = field(default_factory=list)
    bad_signatures: int = 0

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:  # noqa: N802 (http.server's name)
                length = int(self.headers.get("content-length", 0))
                body = self.rfile.read(length)
                if len(body) < length:  # the sender died mid-request (kill -9): no request
                    self.close_connection = True
                    return
                if receiver.delay:
                    time.sleep(receiver.delay)
                status, extra = receiver.take(dict(self.headers.items()), body)
                self.send_response(status)
                for key, value in extra.items():
                    self.send_header(key, value)
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, *_args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/hook"

    def take(self, headers: dict[str, str], body: bytes) -> tuple[int, dict[str, str]]:
        headers = {k.lower(): v for k, v in headers.items()}
        verified = []
        for i, secret in enumerate(self.secrets):
            try:
                Webhook(secret).verify(body, headers)
                verified.append(i)
            except WebhookVerificationError:
                pass
        with self._lock:
            before = sum(1 for r in self.got if r.headers.get("webhook-id")
                         == headers.get("webhook-id"))
            entry = Received(time.monotonic(), headers, body, 0, verified)
            if not verified:
                self.bad_signatures += 1
            status, extra = self.script(entry, before)
            entry.status = status
            self.got.append(entry)
        return status, extra

    def delivered(self) -> dict[str, Received]:
        """The first 2xx request of each webhook-id (a receiver's dedupe)."""
        out: dict[str, Received] = {}
        for r in self.got:
            if 200 <= r.status < 300:
                out.setdefault(r.msg_id, r)
        return out

    def wait(self, condition: Callable[[], bool], timeout: float = 10.0) -> None:
        deadline = time.monotonic() + timeout
        while not condition():
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out; got {len(self.got)} requests")
            time.sleep(0.02)

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
