"""gunicorn's access log without secrets in it: a customer's feedback link carries its
token in the path, and whoever reads the log must not be able to use it. The token is
taken out of every field logged (the request line, the path, the query, the Referer a
browser sends from the page, any header or variable a log format names)."""

from __future__ import annotations

import re
from typing import Any

from gunicorn.glogging import Logger

# The path segment after /feedback/ is a capability (a signed one-time link), also when
# percent-encoded inside another URL's query (…?next=%2Ffeedback%2FTOKEN).
_FEEDBACK = re.compile(r"(/feedback/|%2Ffeedback%2F)[^/?&#\s\"%]+", re.IGNORECASE)


def redact(text: str) -> str:
    """The text with every feedback token replaced by a placeholder."""
    return _FEEDBACK.sub(r"\1[token]", text)


# What gunicorn's own atoms read of the environ (the request line, the client, the user of
# a Basic authorization, Referer and User-Agent): all a format without {…} atoms logs.
_NAMED = ("REMOTE_ADDR", "RAW_URI", "REQUEST_METHOD", "SERVER_PROTOCOL", "PATH_INFO",
          "QUERY_STRING", "HTTP_REFERER", "HTTP_USER_AGENT", "HTTP_AUTHORIZATION")


class _Sent:
    """What gunicorn's atoms read of a response when no response header is logged."""

    __slots__ = ("status", "sent", "headers")

    def __init__(self, resp: Any):
        self.status = resp.status
        self.sent = getattr(resp, "sent", None)
        self.headers: tuple[()] = ()


class RedactingLogger(Logger):  # type: ignore[misc]
    """gunicorn's logger, with feedback tokens taken out of every field it logs."""

    def atoms(self, resp: Any, req: Any, environ: Any, request_time: Any) -> dict[str, Any]:
        if "{" not in self.cfg.access_log_format:
            # The format names no header or environ variable ({…}i, {…}o, {…}e), so none
            # is copied into the atoms: gunicorn's would hold every one of them (most of
            # the access log's cost per request), each also scanned for tokens below.
            resp, req = _Sent(resp), ()
            environ = {key: environ[key] for key in _NAMED if key in environ}
        found: dict[str, Any] = super().atoms(resp, req, environ, request_time)
        # One scan of every field's text at once (a match cannot span the separator, and
        # a field that matches alone matches there too); most requests carry no token.
        if _FEEDBACK.search("\n".join(v for v in found.values() if isinstance(v, str))):
            return {key: redact(value) if isinstance(value, str) else value
                    for key, value in found.items()}
        return found
