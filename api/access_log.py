"""gunicorn's access log without secrets in it: a customer's feedback link carries its
token in the path, and whoever reads the log must not be able to use it."""

from __future__ import annotations

import re
from typing import Any

from gunicorn.glogging import Logger

# The path segment after /feedback/ is a capability (a signed one-time link).
_FEEDBACK = re.compile(r"(/feedback/)[^/?\s\"]+")


def redact(text: str) -> str:
    """The text with every feedback token replaced by a placeholder."""
    return _FEEDBACK.sub(r"\1[token]", text)


class RedactingLogger(Logger):  # type: ignore[misc]
    """gunicorn's logger, with feedback tokens taken out of the request line and path."""

    def atoms(self, resp: Any, req: Any, environ: Any, request_time: Any) -> dict[str, Any]:
        found: dict[str, Any] = super().atoms(resp, req, environ, request_time)
        for key in ("r", "U", "{raw_uri}e"):
            if isinstance(found.get(key), str):
                found[key] = redact(found[key])
        return found
