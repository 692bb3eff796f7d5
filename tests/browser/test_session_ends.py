"""Server-side dashboard sessions in Chromium (issue 27, point 7): signing in and out, a
cookie copied into another browser refused once its session is signed out, and a session
unused for the idle timeout sent back to sign in, saying why."""

from __future__ import annotations

import re

from playwright.sync_api import Browser, Page, expect

from api.ui.session import COOKIE
from tests.browser.conftest import Live, assert_accessible, sign_in


def test_sign_in_sign_out_and_a_copied_cookie_refused(page: Page, browser: Browser,
                                                      live: Live) -> None:
    sign_in(page, live, "alice")
    expect(page.get_by_role("heading", level=1)).to_be_visible()
    [cookie] = [c for c in page.context.cookies() if c["name"] == COOKIE]
    assert cookie["httpOnly"] and cookie["path"] == "/ui"
    assert live.tokens["alice"] not in cookie["value"]
    thief = browser.new_context()
    try:
        stolen = thief.new_page()
        thief.add_cookies([{"name": COOKIE, "value": cookie["value"], "url": live.url + "/ui/"}])
        stolen.goto(f"{live.url}/ui/")
        expect(stolen).to_have_url(re.compile(r"/ui/$"))  # a copy works while it runs...
        # The queue polls (htmx) and, once signed out, is sent to sign in by itself: that
        # navigation would race (and abort) the explicit one below, so the tab leaves first.
        stolen.goto("about:blank")
        # So does this tab, for a page without the poll: a poll answered just after the
        # sign-out sent the tab to sign in (?next=the poll) over the signed-out page.
        page.goto(f"{live.url}/ui/metrics")
        page.get_by_role("button", name="Sign out").click()
        expect(page.get_by_role("status")).to_contain_text("Signed out")
        stolen.goto(f"{live.url}/ui/")
        expect(stolen).to_have_url(re.compile(r"/ui/login"))  # ...and not after sign-out
        expect(stolen.get_by_role("status")).to_contain_text("Signed out")
    finally:
        thief.close()
    page.goto(f"{live.url}/ui/")
    expect(page).to_have_url(re.compile(r"/ui/login"))


def test_an_idle_session_is_sent_back_to_sign_in(page: Page, live: Live) -> None:
    live.client.app.config.update(BATON_SESSION_IDLE="10m", BATON_SESSION_LIFETIME="8h")
    sign_in(page, live, "sam")
    live.clock.advance(minutes=9)
    page.goto(f"{live.url}/ui/metrics")
    expect(page).to_have_url(re.compile(r"/ui/metrics"))
    live.clock.advance(minutes=10, seconds=1)
    page.goto(f"{live.url}/ui/")
    expect(page).to_have_url(re.compile(r"/ui/login\?next=.*ended=idle"))
    expect(page.get_by_role("status")).to_contain_text("ended after a while unused")
    assert_accessible(page)
    sign_in(page, live, "sam")
    expect(page).to_have_url(re.compile(r"/ui/$"))
