"""The headers every answer carries, page or API: a strict Content-Security-Policy
(scripts and styles only from Baton itself, nothing inline, never framed), the same
refusal to be framed for older browsers, no MIME sniffing, no Referer (a feedback page's
URL is a capability), and HSTS over https."""

from __future__ import annotations

from flask import Flask, Response, request

CSP = "; ".join((
    "default-src 'none'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data:",
    "connect-src 'self'",
    "form-action 'self'",
    "frame-ancestors 'none'",
    "base-uri 'none'",
))
HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cross-Origin-Opener-Policy": "same-origin",
}
HSTS = "max-age=31536000"


def _add(response: Response) -> Response:
    # One pass over the headers already set (a view may have set its own), not one each.
    headers = response.headers
    have = {name.lower() for name, _ in headers}
    for name, value in HEADERS.items():
        if name.lower() not in have:
            headers.add(name, value)
    if request.is_secure and "strict-transport-security" not in have:
        headers.add("Strict-Transport-Security", HSTS)
    return response


def init_app(app: Flask) -> None:
    """Add the headers to every response of the app (errors included)."""
    app.after_request(_add)
