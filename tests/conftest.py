"""Shared fixtures."""

from __future__ import annotations

import pytest

from workflow import policy as policy_module
from workflow.policy import Policy


@pytest.fixture(scope="session")
def policy() -> Policy:
    return policy_module.default()
