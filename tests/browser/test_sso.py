"""Single sign-on in Chromium: the sign-in page offers it beside the token form, and a
person goes to the provider, approves, and comes back signed in through their group."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect
from werkzeug.serving import make_server

from tests.browser.conftest import START, assert_accessible, screenshot
from tests.initialised_app import Clock
from tests.oidc_provider import Provider, provider, signing_on_app


@pytest.fixture
def idp() -> Iterator[Provider]:
    with provider() as served:
        yield served


@pytest.fixture
def served(tmp_path: Path, idp: Provider) -> Iterator[str]:
    client = signing_on_app(tmp_path, idp.url, clock=Clock(START))
    server = make_server("localhost", 0, client.app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://localhost:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(timeout=10)
        server.server_close()
        client.app.extensions["baton"].engine.dispose()


def test_a_person_signs_in_through_the_provider(page: Page, served: str,
                                                idp: Provider) -> None:
    idp.user("p-1", preferred_username="rosa", groups=["Support Tier 1"])
    page.goto(f"{served}/ui/login")
    button = page.get_by_role("link", name="Sign in with single sign-on")
    expect(button).to_be_visible()
    expect(page.get_by_label("Token")).to_be_visible()  # the token form stays
    assert_accessible(page)
    screenshot(page, "login-sso")
    button.click()
    page.get_by_placeholder("sub").fill("p-1")  # the provider's consent form
    page.get_by_role("button", name="Authorize").click()
    expect(page.get_by_text("Signed in as rosa (agent) through single sign-on.")).to_be_visible()
    expect(page.get_by_role("heading", level=1)).to_be_visible()
    authorize = idp.requests_to("/oauth2/authorize")[0]
    assert authorize["code_challenge_method"] == "S256" and authorize["nonce"]


def test_an_unmapped_person_is_told_so(page: Page, served: str, idp: Provider) -> None:
    idp.user("p-2", preferred_username="tom", groups=["Marketing"])
    page.goto(f"{served}/ui/login")
    page.get_by_role("link", name="Sign in with single sign-on").click()
    page.get_by_placeholder("sub").fill("p-2")
    page.get_by_role("button", name="Authorize").click()
    expect(page.get_by_role("heading", name="No access to Baton")).to_be_visible()
    expect(page.get_by_text("None of your groups is given a role in Baton")).to_be_visible()
    page.goto(f"{served}/ui/")
    expect(page.get_by_label("Token")).to_be_visible()  # no session: back to sign in
