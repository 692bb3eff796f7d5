"""Shared fixtures."""

from __future__ import annotations

import pytest

from tests.availability import unavailable
from workflow import policy_loader
from workflow.policy import Policy


@pytest.fixture(scope="session")
def policy() -> Policy:
    return policy_loader.default()


@pytest.fixture(scope="session")
def pg_cluster():  # type: ignore[no-untyped-def]
    """The run's PostgreSQL cluster. A developer's machine without the server binaries
    reports the PostgreSQL tests as skipped, with the reason; under CI, or when .ci/test
    could install PostgreSQL (BATON_REQUIRE_POSTGRES), their absence fails the run."""
    from bench.postgres_cluster import Cluster

    try:
        cluster = Cluster()
    except FileNotFoundError as exc:
        unavailable(f"PostgreSQL is not on this machine: {exc} (run .ci/test to install "
                    "it)", "BATON_REQUIRE_POSTGRES")
    cluster.start()
    cluster.wait()
    yield cluster
    cluster.stop()


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request, tmp_path):  # type: ignore[no-untyped-def]
    """A fresh empty database on each backend."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'baton.db'}"
    return request.getfixturevalue("pg_cluster").new_database()
