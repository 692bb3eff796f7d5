"""Browser tests: Debian's Chromium driven by Playwright against the app served by
Werkzeug in a thread, one fresh SQLite database per test.

Werkzeug in-process rather than `baton serve`: the tests move the app's clock (the
deadlines, countdown bands and breaches of real SLAs, without sleeping for them), run the
sweep use case at that time, and revoke a token, all on the server's own database; each
test starts its own server in a fraction of a second. That the session secret is the same
in every worker process is tested without a browser (test_sessions.py)."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import requests
from playwright.sync_api import Page, expect
from werkzeug.serving import make_server

from tests.availability import unavailable
from tests.initialised_app import OPEN, Client, Clock, make_client

CHROMIUM = Path("/usr/bin/chromium")
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]
AXE = Path(__file__).resolve().parents[2] / "api/static/vendor/axe-core-4.14.1/axe.min.js"
# Monday 23 November 2026, 10:00 UTC: the app's clock at the start of every test.
START = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)
SCREENSHOTS = os.environ.get("BATON_UI_SCREENSHOTS")



@dataclass
class Live:
    """A served app: its URL, tokens, clock and in-process handles."""

    url: str
    client: Client
    clock: Clock

    @property
    def tokens(self) -> dict[str, str]:
        return self.client.tokens

    @property
    def baton(self) -> Any:
        return self.client.app.extensions["baton"]

    def api(self, method: str, path: str, who: str, body: Any = None) -> Any:
        """A call to the served API over HTTP."""
        r = requests.request(method, f"{self.url}/api/v1{path}", json=body, timeout=10,
                             headers={"Authorization": f"Bearer {self.tokens[who]}"})
        assert r.status_code < 300, r.text
        return r.json()

    def open(self, who: str = "alice", **changes: Any) -> str:
        """Open an escalation through the API; its id."""
        return str(self.api("POST", "/escalations", who, {**OPEN, **changes})["id"])

    def act(self, eid: str, who: str, action: str, body: Any = None) -> Any:
        return self.api("POST", f"/escalations/{eid}/actions/{action}", who, body or {})


@pytest.fixture(scope="session")
def base_url() -> None:
    """No base URL: each test serves its own app (and pytest-base-url's own fixture is
    a deprecated instance-method fixture that pytest 9 warns about)."""
    return None


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict[str, Any]) -> dict[str, Any]:
    """Debian's Chromium, headless (Playwright cannot download its own browsers here)."""
    if not CHROMIUM.exists():
        unavailable(f"{CHROMIUM} is missing (.ci/test installs Debian's chromium package)",
                    "BATON_REQUIRE_CHROMIUM")
    return {**browser_type_launch_args, "executable_path": str(CHROMIUM), "args": ARGS,
            "headless": True}


@pytest.fixture
def live(tmp_path: Path) -> Iterator[Live]:
    """The app on a free loopback port, polling every second, on its own database."""
    clock = Clock(START)
    client = make_client(tmp_path, clock=clock)
    client.app.config["BATON_UI_REFRESH_SECONDS"] = 1
    server = make_server("127.0.0.1", 0, client.app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield Live(f"http://127.0.0.1:{server.server_port}", client, clock)
    finally:
        server.shutdown()
        thread.join(timeout=10)
        server.server_close()
        client.app.extensions["baton"].engine.dispose()


def sign_in(page: Page, live: Live, who: str) -> None:
    """Sign in through the form, as a person would."""
    page.goto(f"{live.url}/ui/login")
    page.get_by_label("Token").fill(live.tokens[who])
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_text(f"Signed in as {who}").first).to_be_visible()


def assert_accessible(page: Page) -> None:
    """axe-core finds no serious or critical violation on the page as it is."""
    # From the app's own vendored copy: the CSP refuses an inline script (issue 27).
    page.add_script_tag(url=f"/static/{AXE.relative_to(AXE.parents[2]).as_posix()}")
    result = page.evaluate("async () => await axe.run(document, {resultTypes: ['violations']})")
    bad = [f"{v['id']} ({v['impact']}): {v['help']} at "
           f"{[n['target'] for n in v['nodes']][:3]}"
           for v in result["violations"] if v["impact"] in ("serious", "critical")]
    assert not bad, "\n".join(bad)


def screenshot(page: Page, name: str) -> None:
    """Save a screenshot for the README when BATON_UI_SCREENSHOTS names a folder."""
    if SCREENSHOTS:
        page.screenshot(path=str(Path(SCREENSHOTS) / f"{name}.png"), full_page=True)
