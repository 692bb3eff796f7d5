"""The Content-Security-Policy and framing refusal in Chromium (issue 27, point 6): a page
elsewhere cannot frame the dashboard or the feedback page, and every page still works
under the policy (htmx refreshing the queue, acting from a form) with no violation
reported, and axe-core still finds nothing serious."""

from __future__ import annotations

from urllib.parse import urlsplit

from playwright.sync_api import ConsoleMessage, Page, expect

from tests.browser.conftest import Live, assert_accessible, sign_in


def _violations(page: Page) -> list[str]:
    found: list[str] = []

    def seen(message: ConsoleMessage) -> None:
        if "Content Security Policy" in message.text or "Refused to" in message.text:
            found.append(message.text)

    page.on("console", seen)
    page.on("pageerror", lambda error: found.append(str(error)))
    return found


def test_a_page_elsewhere_cannot_frame_the_dashboard(page: Page, live: Live) -> None:
    for path in ("/ui/login", "/ui/", "/feedback/anything"):
        page.set_content(f'<h1>Win a prize</h1><iframe title="prize" '
                         f'src="{live.url}{path}" width="600" height="400"></iframe>')
        frame = page.frame_locator("iframe")
        page.wait_for_timeout(500)
        expect(frame.get_by_label("Token")).to_have_count(0)
        expect(frame.get_by_role("button")).to_have_count(0)
        child = page.frames[1]
        assert not child.url.startswith(live.url) or child.content().count("<form") == 0


def test_the_pages_work_under_the_policy_without_a_violation(page: Page,
                                                              live: Live) -> None:
    violations = _violations(page)
    eid = live.open(title="Checkout down")
    sign_in(page, live, "alice")
    assert_accessible(page)
    page.evaluate("window.notReloaded = true")
    live.open(title="A second case, seen by htmx")
    expect(page.get_by_text("A second case, seen by htmx")).to_be_visible(timeout=10_000)
    assert page.evaluate("window.notReloaded") is True
    page.goto(f"{live.url}/ui/escalations/{eid}")
    form = page.get_by_role("form", name="Acknowledge")
    form.get_by_label("Note").fill("Calling the customer now")
    form.get_by_role("button", name="Acknowledge").click()
    expect(page.get_by_role("status")).to_contain_text("acknowledge done")
    expect(page.locator("#fact-owner")).to_have_text("alice")
    assert_accessible(page)
    page.goto(f"{live.url}/ui/metrics")
    assert_accessible(page)
    page.goto(f"{live.url}/api/v1/docs")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Baton API")
    colour = page.evaluate("getComputedStyle(document.body).fontFamily")
    assert "system-ui" in colour  # the stylesheet moved out of the page still applies
    assert not violations, violations


def test_the_feedback_page_is_styled_and_sends_no_referrer(page: Page, live: Live) -> None:
    violations = _violations(page)
    eid = live.open()
    live.act(eid, "alice", "acknowledge", {"note": "x"})
    live.act(eid, "alice", "resolve", {"summary": "s"})
    link = live.api("POST", f"/escalations/{eid}/feedback-link", "alice", {})["link"]
    answer = page.goto(f"{live.url}{urlsplit(link).path}")
    assert answer is not None and answer.headers["referrer-policy"] == "no-referrer"
    expect(page.get_by_text("Was your issue resolved?")).to_be_visible()
    assert page.evaluate("getComputedStyle(document.body).maxWidth") != "none"  # styled
    assert page.evaluate("document.referrer") == ""
    assert_accessible(page)
    assert not violations, violations
