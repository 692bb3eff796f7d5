"""What gunicorn refuses before Baton sees a request, and how it says so: a request line
longer than 4,094 bytes (414), more than 100 header fields or one longer than 8,190 bytes
(431), a line gunicorn cannot parse (400). gunicorn answers those itself, with an HTML
page; here they become problem+json like every other answer of Baton's."""

from __future__ import annotations

import json
import os
from typing import Any

from gunicorn import util

# gunicorn's own defaults, stated so that the README and the tests hold the same figures.
OPTIONS: dict[str, Any] = {
    "limit_request_line": 4094,
    "limit_request_fields": 100,
    "limit_request_field_size": 8190,
}


def gunicorn_options(trust_proxy: bool) -> dict[str, Any]:
    """The limits above, and whose X-Forwarded-Proto gunicorn believes: nobody's unless
    BATON_TRUST_PROXY is set (gunicorn's own default believes any loopback client, so a
    local process could make a plain-http request look https), then the proxy's."""
    return {**OPTIONS, "forwarded_allow_ips": "*" if trust_proxy else ""}


def trust_proxy(settings: dict[str, Any]) -> bool:
    """Whether BATON_TRUST_PROXY (settings, then the environment) says a proxy is in front."""
    value = settings.get("BATON_TRUST_PROXY", os.environ.get("BATON_TRUST_PROXY", ""))
    return str(value).strip().lower() in ("1", "true", "yes", "on")


_SLUGS = {400: "malformed", 414: "uri-too-long", 431: "header-fields-too-large",
          500: "internal"}


def problem_bytes(status: int, reason: str, detail: str) -> bytes:
    """A complete HTTP/1.1 response carrying a problem+json body; the connection closes."""
    slug = _SLUGS.get(status)
    body = json.dumps({"type": f"urn:baton:problem:{slug}" if slug else "about:blank",
                       "title": reason, "status": status,
                       "detail": detail or reason}).encode()
    head = (f"HTTP/1.1 {status} {reason}\r\nConnection: close\r\n"
            f"Content-Type: application/problem+json\r\n"
            f"Content-Length: {len(body)}\r\n\r\n")
    return head.encode("latin-1") + body


def _write_problem(sock: Any, status_int: int, reason: str, mesg: str) -> None:
    # The same signature as gunicorn.util.write_error, which gunicorn's workers call for
    # every error they answer themselves (unparsable requests, limits, a crashed app).
    util.write_nonblock(sock, problem_bytes(status_int, reason, mesg))


def answer_as_problems() -> None:
    """Make gunicorn's own error answers problem+json (in this process and the workers
    it forks)."""
    util.write_error = _write_problem
