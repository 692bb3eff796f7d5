"""`baton witness keygen|serve`: a c2sp.org/tlog-witness witness, independent of Baton's
database, for an organisation's audit team or a partner to run."""

from __future__ import annotations

import hashlib
import os
import sys
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import click

from api.cli_context import fail, info
from audit.errors import KeyFileError
from audit.log import witness

MAX_BODY = 64 * 1024  # a checkpoint, 63 proof lines and a few signatures fit many times
# Every read of a connection (the request line, headers, body, the next kept-alive request)
# must complete within this: a half-sent request does not hold a thread for ever.
READ_TIMEOUT = 10.0


@click.group("witness")
def witness_group() -> None:
    """Run a witness that cosigns checkpoints of the logs it knows (tlog-witness)."""


@witness_group.command("keygen")
@click.option("--key", "key_path", required=True, type=click.Path(dir_okay=False),
              help="Where to write the private key (mode 0600; never overwritten)")
@click.option("--name", required=True, help="The witness's name, e.g. audit.example.com/w1")
def keygen(key_path: str, name: str) -> None:
    """Make a witness key and print its verifier key (C2SP vkey) on stdout: the line to
    put in a witness policy (`witness NAME VKEY URL`)."""
    try:
        line, vkey = witness.new_key(name)
    except KeyFileError as exc:
        fail(str(exc), 2)
    try:
        fd = os.open(key_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        fail(f"{key_path} exists: a witness key is never overwritten")
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(line + "\n")
    click.echo(vkey)


class _Server(ThreadingHTTPServer):
    """The witness's HTTP server: a connection's failure (a client gone mid-answer, a
    timeout) is one line on stderr, never a traceback."""

    daemon_threads = True

    def handle_error(self, request: object, client_address: object) -> None:
        failure = sys.exc_info()[1]
        host = client_address[0] if isinstance(client_address, tuple) else client_address
        sys.stderr.write(f"witness: {host} connection failed: {type(failure).__name__}\n")


def _declared_length(declared: str) -> int:
    # Content-Length: abc, ², or a thousand digits is no length (-1), never an exception.
    ok = declared.isascii() and declared.isdigit() and len(declared) <= 9
    return int(declared) if ok else -1


def _read_within(handler: BaseHTTPRequestHandler, length: int, timeout: float) -> bytes:
    """The whole body within `timeout` seconds, however slowly it trickles in."""
    deadline = time.monotonic() + timeout
    chunks: list[bytes] = []
    left = length
    while left > 0:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError("the body took too long")
        handler.connection.settimeout(remaining)
        chunk = handler.rfile.read1(left)  # type: ignore[attr-defined]
        if not chunk:
            raise ConnectionError("the client closed before its body was sent")
        chunks.append(chunk)
        left -= len(chunk)
    handler.connection.settimeout(timeout)
    return b"".join(chunks)


def _handler(w: witness.Witness, read_timeout: float = READ_TIMEOUT
             ) -> type[BaseHTTPRequestHandler]:
    origins = {hashlib.sha256(o.encode()).hexdigest(): o for o in w.logs}

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, as the protocol recommends
        timeout = read_timeout  # socketserver sets it on the connection's socket

        def _answer(self, status: int, body: str, content_type: str) -> None:
            data = body.encode()
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_POST(self) -> None:  # noqa: N802 - http.server's name
            if self.path != "/add-checkpoint":
                self._answer(404, "not found\n", "text/plain; charset=utf-8")
                return
            length = _declared_length(self.headers.get("Content-Length") or "0")
            if not 0 < length <= MAX_BODY:
                self.close_connection = True  # the body, if any, is not read
                self._answer(400, "a body of 1 to 65536 bytes\n", "text/plain")
                return
            try:
                body = _read_within(self, length, read_timeout).decode("utf-8")
            except UnicodeDecodeError:
                self._answer(400, "not UTF-8\n", "text/plain")
                return
            except (TimeoutError, ConnectionError):
                self.close_connection = True  # too slow, or gone: nothing to answer
                return
            got = w.add_checkpoint(body)
            self._answer(got.status, got.body, got.content_type)

        def do_GET(self) -> None:  # noqa: N802
            parts = self.path.strip("/").split("/")
            origin = origins.get(parts[0]) if len(parts) == 2 else None
            latest = w.latest(origin) if origin and parts[1] == "checkpoint" else None
            if latest is None:
                self._answer(404, "not found\n", "text/plain; charset=utf-8")
                return
            self._answer(200, latest, "text/plain; charset=utf-8")

        def log_message(self, format: str, *args: object) -> None:  # noqa: A002
            sys.stderr.write(f"witness: {self.address_string()} {format % args}\n")

    return Handler


@witness_group.command("serve")
@click.option("--key", "key_path", required=True, type=click.Path(dir_okay=False),
              help="The witness key file (from `baton witness keygen`)")
@click.option("--state", "state_path", required=True, type=click.Path(dir_okay=False),
              help="The file holding the latest size and root cosigned per log")
@click.option("--log", "logs", required=True, multiple=True,
              help="A log's verifier key (or a file holding one); repeatable")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8100, show_default=True, type=click.IntRange(0, 65535))
@click.option("--read-timeout", default=READ_TIMEOUT, show_default=True,
              type=click.FloatRange(0.1, 3600), help="Seconds a connection may take to "
              "send each part of a request before it is closed")
def serve(key_path: str, state_path: str, logs: tuple[str, ...], host: str,
          port: int, read_timeout: float) -> None:
    """Serve POST /add-checkpoint and GET /<sha256(origin)>/checkpoint."""
    try:
        name, key = witness.load_key(key_path)
        vkeys = [Path(v).read_text(encoding="utf-8").strip() if os.path.isfile(v) else v
                 for v in logs]
        w = witness.Witness(name, key, vkeys, Path(state_path))
    except (KeyFileError, ValueError, OSError) as exc:
        fail(str(exc), 2)
    server = _Server((host, port), _handler(w, read_timeout))
    bound = server.server_address[1]
    info(f"witness {w.vkey}")
    info(f"logs: {', '.join(w.logs)}")
    click.echo(f"listening on http://{host}:{bound}", nl=True)
    sys.stdout.flush()
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
