"""Shared fixtures."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.availability import unavailable
from tests.mail_sink import MailSink
from tests.webhook_receiver import Receiver
from workflow import policy_loader
from workflow.policy import Policy

# The modules whose tests take longest (real servers, subprocesses, builds), slowest first,
# then the rest of e2e/. A parallel run (`-n 4`) hands out whole modules in this order
# (--dist loadscope in pyproject.toml, so a module's servers start once), so these run
# beside the many short tests instead of after them, alone.
SLOW_FIRST = (
    "tests/e2e/test_wheel.py", "tests/unit/test_tooling.py", "tests/e2e/test_crash.py",
    "tests/e2e/test_schemathesis.py", "tests/e2e/test_http_lifecycle.py",
    "tests/e2e/test_witness_rounds.py", "tests/integration/test_bench_scale.py",
    "tests/integration/test_fuzz_routes.py", "tests/e2e/test_witnesses.py",
    "tests/e2e/test_many_processes.py", "tests/unit/test_properties.py",
    "tests/e2e/test_notify_crash.py", "tests/e2e/",
    "tests/integration/test_fresh_checkpoint.py", "tests/integration/test_properties_ledger.py",
    "tests/integration/test_event_proof.py", "tests/integration/test_read_costs.py",
    "tests/integration/test_request_guard.py",
)


def _slowness(item: pytest.Item) -> int:
    return next((i for i, p in enumerate(SLOW_FIRST) if item.nodeid.startswith(p)),
                len(SLOW_FIRST))


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Slow modules first; a stable sort, so each module keeps its own order."""
    items.sort(key=_slowness)


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
