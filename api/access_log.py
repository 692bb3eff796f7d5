"""gunicorn's access log without secrets or addresses in it: a customer's feedback link
carries its token in the path, and whoever reads the log must not be able to use it; a
SCIM client names people by their userName (often their email address) in the path and in
its `filter=userName eq "…"` lookups, and handles provisioned that way are addresses too.
Each is taken out of every field logged (the request line, the path, the query, the
Referer a browser sends from the page, any header or variable a log format names)."""

from __future__ import annotations

import re
from typing import Any

from gunicorn.glogging import Logger

# The path segment after /feedback/ is a capability (a signed one-time link), also when
# percent-encoded inside another URL's query (…?next=%2Ffeedback%2FTOKEN).
_FEEDBACK = re.compile(r"(/feedback/|%2Ffeedback%2F)[^/?&#\s\"%]+", re.IGNORECASE)
# A SCIM user's id in the path (their userName), and a SCIM filter's value.
_SCIM_USER = re.compile(r"(/scim/v2/Users/)[^/?&#\s\"]+", re.IGNORECASE)
_SCIM_FILTER = re.compile(r"([?&]filter=)[^&#\s\"]*", re.IGNORECASE)
# An email address anywhere (a handle, a query value), also percent-encoded (%40, %2B).
_EMAIL = re.compile(r"(?:[\w.+-]|%[0-9a-f]{2})+?(?:@|%40)[\w-]+(?:\.[\w-]+)+", re.IGNORECASE)


def _may_hold(text: str) -> bool:
    # Substring tests first: the patterns run only on the few lines that could match.
    low = text.lower()
    return "/feedback/" in low or "%2ffeedback%2f" in low or "/scim/" in low \
        or "@" in low or "%40" in low


def redact(text: str) -> str:
    """The text with every feedback token, SCIM userName and filter, and email address
    replaced by a placeholder."""
    text = _FEEDBACK.sub(r"\1[token]", text)
    text = _SCIM_USER.sub(r"\1[user]", text)
    text = _SCIM_FILTER.sub(r"\1[filter]", text)
    return _EMAIL.sub("[email]", text)


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
    """gunicorn's logger, with feedback tokens, SCIM userNames and filters, and email
    addresses taken out of every field it logs."""

    def atoms(self, resp: Any, req: Any, environ: Any, request_time: Any) -> dict[str, Any]:
        if "{" not in self.cfg.access_log_format:
            # The format names no header or environ variable ({…}i, {…}o, {…}e), so none
            # is copied into the atoms: gunicorn's would hold every one of them (most of
            # the access log's cost per request), each also scanned for tokens below.
            resp, req = _Sent(resp), ()
            environ = {key: environ[key] for key in _NAMED if key in environ}
        found: dict[str, Any] = super().atoms(resp, req, environ, request_time)
        # One scan of every field's text at once (a match cannot span the separator, and
        # a field that matches alone matches there too); most requests carry none.
        if _may_hold("\n".join(v for v in found.values() if isinstance(v, str))):
            return {key: redact(value) if isinstance(value, str) else value
                    for key, value in found.items()}
        return found
