"""Shared fixtures."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.availability import unavailable
from tests.mail_sink import MailSink
from tests.webhook_receiver import Receiver
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
    from api.testbed import Cluster

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


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    """A real HTTP receiver on loopback that verifies nothing itself (tests check the
    signatures); afterwards the Batons the notification helpers made are disposed of."""
    from tests.integration.notifying import dispose_all

    r = Receiver()
    yield r
    r.close()
    dispose_all()


@pytest.fixture
def sink() -> Iterator[MailSink]:
    """A real SMTP server (aiosmtpd) on loopback, keeping what it receives."""
    s = MailSink().start()
    yield s
    s.stop()
