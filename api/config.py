"""Configuration: environment variables with BATON_ prefix, overridable per app."""

from __future__ import annotations

import os
from typing import Any
from urllib.parse import urlsplit

DEFAULTS: dict[str, Any] = {
    "BATON_DATABASE_URL": "sqlite:///baton.db",
    "BATON_SIGNING_KEY": "baton-signing.key",
    "BATON_LOG_ORIGIN": "baton.local/ledger",
    "BATON_CHECKPOINT_EVERY": 1000,
    "BATON_CHECKPOINT_INTERVAL": 300,
    # Notifications (README, "Notifications").
    "BATON_PUBLIC_URL": "http://127.0.0.1:8000",
    "BATON_WEBHOOK_ALLOW_INSECURE": "0",
    "BATON_WEBHOOK_ALLOW_PRIVATE": "0",
    "BATON_WEBHOOK_RETRY_SCHEDULE": "",
    # One attempt's total deadline (connect, send, headers, body), webhooks and mail.
    "BATON_WEBHOOK_TIMEOUT": 10.0,
    "BATON_WEBHOOK_ROTATION_GRACE": 86400.0,
    "BATON_SMTP_URL": "",
    "BATON_MAIL_FROM": "baton@localhost",
    "BATON_DELIVERY_LOG_DAYS": 90.0,
    "BATON_OUTBOX_LEASE": 60.0,
    "BATON_WORKER_POLL": 0.2,
    # Deliveries at once per worker, in total and to one host (mail: one lane).
    "BATON_DELIVERY_CONCURRENCY": 8,
    "BATON_DELIVERY_PER_HOST": 2,
    # /healthz is degraded once the oldest unrecorded deadline is this many seconds past.
    "BATON_HEALTH_MAX_LAG": 5.0,
    # The log as tiles and its witnesses (README, "The log as tiles").
    "BATON_LOG_PUBLIC": "0",
    "BATON_LOG_RATE": 100.0,
    "BATON_WITNESS_POLICY": "",
    # Single sign-on and machines' JWTs from an OpenID Connect provider (docs/identity.md).
    "BATON_OIDC_ISSUER": "",
    "BATON_OIDC_CLIENT_ID": "",
    "BATON_OIDC_CLIENT_SECRET": "",
    "BATON_OIDC_AUDIENCE": "",
}
INTEGERS = ("BATON_CHECKPOINT_EVERY", "BATON_CHECKPOINT_INTERVAL",
            "BATON_DELIVERY_CONCURRENCY", "BATON_DELIVERY_PER_HOST")
FLOATS = ("BATON_WEBHOOK_TIMEOUT", "BATON_WEBHOOK_ROTATION_GRACE", "BATON_DELIVERY_LOG_DAYS",
          "BATON_OUTBOX_LEASE", "BATON_WORKER_POLL", "BATON_LOG_RATE",
          "BATON_HEALTH_MAX_LAG")
FLAGS = ("BATON_WEBHOOK_ALLOW_INSECURE", "BATON_WEBHOOK_ALLOW_PRIVATE", "BATON_LOG_PUBLIC")


def settings(overrides: dict[str, Any] | None = None) -> dict[str, Any]:
    """Defaults, then the environment, then explicit overrides."""
    out = dict(DEFAULTS)
    for key in DEFAULTS:
        if key in os.environ:
            out[key] = os.environ[key]
    out.update({k: v for k, v in (overrides or {}).items() if v is not None})
    for key in INTEGERS:
        try:
            out[key] = int(out[key])
        except (TypeError, ValueError):
            raise ValueError(f"{key} must be an integer, not {out[key]!r}") from None
    for key in FLOATS:
        try:
            out[key] = float(out[key])
        except (TypeError, ValueError):
            raise ValueError(f"{key} must be a number, not {out[key]!r}") from None
    for key in FLAGS:
        out[key] = str(out[key]).strip().lower() in ("1", "true", "yes", "on")
    _check_smtp_url(str(out["BATON_SMTP_URL"]))
    _check_oidc(out)
    return out


def _check_oidc(out: dict[str, Any]) -> None:
    """Refuse a provider Baton could not trust: an issuer reached in clear (but on the
    loopback), or one without the client id its tokens' audience defaults to."""
    issuer = str(out["BATON_OIDC_ISSUER"]).strip().rstrip("/")
    out["BATON_OIDC_ISSUER"] = issuer
    if not issuer:
        return
    parts = urlsplit(issuer)
    loopback = parts.hostname in ("localhost", "127.0.0.1", "::1")
    if parts.scheme != "https" and not (parts.scheme == "http" and loopback):
        raise ValueError("BATON_OIDC_ISSUER must be an https:// URL")
    if not str(out["BATON_OIDC_CLIENT_ID"]).strip():
        raise ValueError("BATON_OIDC_ISSUER is set: set BATON_OIDC_CLIENT_ID too")


def _check_smtp_url(url: str) -> None:
    """Refuse a mail server address Baton could not use safely: an unknown scheme, or a
    login that would cross the network in clear (smtp:// with a password, no STARTTLS)."""
    if not url:
        return
    parts = urlsplit(url)
    if parts.scheme not in ("smtp", "smtps") or not parts.hostname:
        raise ValueError("BATON_SMTP_URL must be smtp://host:port or smtps://host:port")
    if parts.scheme == "smtp" and parts.password and "starttls=1" not in parts.query:
        raise ValueError("BATON_SMTP_URL would send its password in clear: add ?starttls=1 "
                         "or use smtps://")
