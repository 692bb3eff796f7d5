"""For tests and benchmarks (like api/testbed.py; nothing in Baton imports it): webhook
receivers that misbehave, on raw loopback sockets: one that answers `200 OK`
and then drips a header line every `every` seconds, one that never answers, and one that
streams a 200 MB body. Each counts its requests, the most it served at once, and (the
huge one) the bytes it managed to send before Baton hung up."""

from __future__ import annotations

import socket
import threading
import time

KINDS = ("drip", "silent", "huge")


class Hostile:
    """A misbehaving receiver of one kind; close() when done."""

    def __init__(self, kind: str, every: float = 1.0, size: int = 200 * 2**20):
        assert kind in KINDS
        self.kind, self.every, self.size = kind, every, size
        self.requests = 0
        self.sent = 0
        self.most_at_once = 0
        self._now = 0
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._sock = socket.create_server(("127.0.0.1", 0), backlog=64)
        self._sock.settimeout(0.2)
        threading.Thread(target=self._accept, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._sock.getsockname()[1]}/hook"

    def close(self) -> None:
        self._stop.set()
        self._sock.close()

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._sock.accept()
            except OSError:
                continue
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn: socket.socket) -> None:
        conn.settimeout(0.2)
        with conn:
            while not self._stop.is_set() and self._read_request(conn):
                with self._lock:
                    self.requests += 1
                    self._now += 1
                    self.most_at_once = max(self.most_at_once, self._now)
                try:
                    getattr(self, f"_{self.kind}")(conn)
                except OSError:
                    return  # Baton hung up: the point
                finally:
                    with self._lock:
                        self._now -= 1

    def _read_request(self, conn: socket.socket) -> bool:
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = self._recv(conn)
            if not chunk:
                return False
            data += chunk
        head, _, body = data.partition(b"\r\n\r\n")
        length = next((int(line.split(b":")[1]) for line in head.split(b"\r\n")
                       if line.lower().startswith(b"content-length:")), 0)
        while len(body) < length:
            chunk = self._recv(conn)
            if not chunk:
                return False
            body += chunk
        return True

    def _recv(self, conn: socket.socket) -> bytes:
        while not self._stop.is_set():
            try:
                return conn.recv(65536)
            except TimeoutError:
                continue
        return b""

    def _gone(self, conn: socket.socket, seconds: float) -> bool:
        """Wait up to `seconds`; True once Baton has hung up (so the count is fair)."""
        end = time.monotonic() + seconds
        while time.monotonic() < end and not self._stop.is_set():
            try:
                if conn.recv(1) == b"":
                    return True
            except TimeoutError:
                continue
        return self._stop.is_set()

    def _silent(self, conn: socket.socket) -> None:
        while not self._gone(conn, 1.0):
            pass
        raise OSError("closed")

    def _drip(self, conn: socket.socket) -> None:
        conn.sendall(b"HTTP/1.1 200 OK\r\n")
        n = 0
        while not self._gone(conn, self.every):
            n += 1
            conn.sendall(f"X-Drip-{n}: {n}\r\n".encode())
        raise OSError("closed")

    def _huge(self, conn: socket.socket) -> None:
        conn.sendall(b"HTTP/1.1 200 OK\r\ncontent-length: %d\r\n\r\n" % self.size)
        chunk = b"x" * 65536
        conn.settimeout(5.0)
        while self.sent < self.size and not self._stop.is_set():
            conn.sendall(chunk)
            with self._lock:
                self.sent += len(chunk)
