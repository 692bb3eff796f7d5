"""What a test needs from the machine (PostgreSQL, Chromium, root): on a developer's
machine without it the test is skipped with the reason; where the run must cover it
(CI, or .ci/test that could install it and says so), its absence fails the run."""

from __future__ import annotations

import os
from typing import NoReturn

import pytest


def unavailable(reason: str, required_by: str | None = None) -> NoReturn:
    """Skip with `reason`, or fail under CI or when the `required_by` variable is set."""
    if os.environ.get("CI") or (required_by and os.environ.get(required_by)):
        pytest.fail(f"required for this run but not available: {reason}")
    pytest.skip(reason)
