"""A real OpenID Connect provider for the tests (oidc-provider-mock: Flask and Authlib)
served by Werkzeug in a thread on a free loopback port, recording every request it is
sent (it does not check PKCE, so the tests check what Baton sent); and a Baton app
configured to sign on through it, with the policy's claim mapping."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import oidc_provider_mock
import requests
from flask import Flask, request
from werkzeug.serving import make_server

from tests.initialised_app import Client, make_client
from workflow import policy_loader

CLIENT_ID = "baton-dashboard"
CLIENT_SECRET = "s3cret-for-tests"
# The policy's group mapping the tests sign on under, beside the default policy's own
# groups (its "Baton Auditors" grants the auditor role).
MAPPING = """
[identity.groups."Support Tier 1"]
role = "agent"
team = "frontline"

[identity.groups."Finance"]
role = "finance"
team = "finance"
"""


@dataclass
class Provider:
    """A served provider: its issuer URL and the requests it was sent."""

    url: str
    seen: list[tuple[str, dict[str, str], dict[str, str]]] = field(default_factory=list)

    def user(self, sub: str, **claims: Any) -> None:
        """Set a user's claims (the provider's own API)."""
        r = requests.put(f"{self.url}/users/{sub}", json=claims, timeout=10)
        assert r.status_code == 204, r.text

    def requests_to(self, path: str) -> list[dict[str, str]]:
        """The query (GET) or form (POST) of every request sent to `path`."""
        return [{**query, **form} for p, query, form in self.seen if p == path]

    def authorize(self, url: str, sub: str) -> str:
        """Approve an authorization request as `sub` (the provider's consent form); the
        redirect back to Baton it answers."""
        r = requests.post(url, data={"sub": sub}, allow_redirects=False, timeout=10)
        assert r.status_code == 302, r.text
        return str(r.headers["Location"])


def _recording(app: Flask, seen: list[tuple[str, dict[str, str], dict[str, str]]]) -> Flask:
    @app.before_request
    def record() -> None:
        seen.append((request.path, request.args.to_dict(), request.form.to_dict()))
    return app


@contextmanager
def provider() -> Iterator[Provider]:
    """The provider on a free port, stopped afterwards."""
    seen: list[tuple[str, dict[str, str], dict[str, str]]] = []
    app = _recording(oidc_provider_mock.app(require_nonce=True), seen)
    server = make_server("localhost", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield Provider(f"http://localhost:{server.server_port}", seen)
    finally:
        server.shutdown()
        thread.join(timeout=10)
        server.server_close()


def signing_on_app(tmp_path: Path, issuer: str, *, clock: Any = None,
                   mapping: str = MAPPING, **config: Any) -> Client:
    """An initialised Baton (SQLite, key, default policy with `mapping`, demo actors)
    configured to sign on through `issuer`."""
    return make_client(tmp_path, clock=clock, policy_text=policy_loader.default_text() + mapping,
                       BATON_OIDC_ISSUER=issuer, BATON_OIDC_CLIENT_ID=CLIENT_ID,
                       BATON_OIDC_CLIENT_SECRET=CLIENT_SECRET, **config)


def query_of(url: str) -> dict[str, str]:
    """A URL's query parameters (the first of each)."""
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}
