"""Configuration: environment variables with BATON_ prefix, overridable per app."""

from __future__ import annotations

import os
from typing import Any

DEFAULTS: dict[str, Any] = {
    "BATON_DATABASE_URL": "sqlite:///baton.db",
    "BATON_SIGNING_KEY": "baton-signing.key",
    "BATON_LOG_ORIGIN": "baton.local/ledger",
    "BATON_CHECKPOINT_EVERY": 1000,
    "BATON_CHECKPOINT_INTERVAL": 300,
}
INTEGERS = ("BATON_CHECKPOINT_EVERY", "BATON_CHECKPOINT_INTERVAL")


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
    return out
