"""Schemathesis against the served OpenAPI document: no 5xx, no response off its schema."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.initialised_app import make_client

_DIR = Path(tempfile.mkdtemp(prefix="baton-schemathesis-"))
CLIENT = make_client(_DIR)
# Some real data so reads and actions reach past 404.
for _ in range(3):
    CLIENT.open()
HEADERS = {"Authorization": f"Bearer {CLIENT.tokens['sam']}"}
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance,
          response_schema_conformance, response_headers_conformance]

schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", CLIENT.app)


@pytest.fixture(scope="module", autouse=True)
def _cleanup():  # type: ignore[no-untyped-def]
    yield
    CLIENT.app.extensions["baton"].engine.dispose()
    shutil.rmtree(_DIR, ignore_errors=True)


@schema.parametrize()
@settings(max_examples=15, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much,
                                 HealthCheck.function_scoped_fixture])
def test_api_conforms_to_its_own_schema(case: schemathesis.Case) -> None:
    case.call_and_validate(headers=HEADERS, checks=CHECKS)
