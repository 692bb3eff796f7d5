"""Issue 25, point 4, in Chromium: the escalation page shows the refusal the API answers
(one decision), and a refused form keeps what was typed."""

from __future__ import annotations

from typing import Any

import requests
from playwright.sync_api import Page, expect

from tests.browser.conftest import Live, assert_accessible, sign_in


def _refusal(live: Live, eid: str, who: str, action: str, body: dict[str, Any]) -> Any:
    r = requests.post(f"{live.url}/api/v1/escalations/{eid}/actions/{action}", json=body,
                      headers={"Authorization": f"Bearer {live.tokens[who]}"}, timeout=10)
    assert r.status_code in (403, 409), r.text
    return r.json()


def test_the_page_lists_the_refusal_the_api_answers(page: Page, live: Live) -> None:
    eid = live.open()
    live.act(eid, "alice", "acknowledge", {"note": "mine"})
    sign_in(page, live, "lee")
    page.goto(f"{live.url}/ui/escalations/{eid}")
    shown = page.locator("ul.refused li", has_text="release-hold")
    api = _refusal(live, eid, "lee", "release-hold", {"reason": "case closed"})
    assert api["rule"] == "hold.none"
    expect(shown).to_contain_text(api["rule"])
    expect(shown).to_contain_text(api["detail"])
    expect(shown).not_to_contain_text("role.actions")
    # And the form for it is not offered: what the page offers, the API takes.
    expect(page.get_by_role("form", name="Release hold")).to_have_count(0)
    assert_accessible(page)


def test_a_refused_form_keeps_what_was_typed_and_says_what_the_api_says(
        page: Page, live: Live) -> None:
    eid = live.open()
    live.act(eid, "alice", "acknowledge", {"note": "mine"})
    body = {"summary": "Refund the duplicate charge",
            "grant": {"kind": "refund", "amount": {"value": "1200.00", "currency": "USD"}}}
    api = _refusal(live, eid, "alice", "resolve", body)
    sign_in(page, live, "alice")
    page.goto(f"{live.url}/ui/escalations/{eid}")
    form = page.get_by_role("form", name="Resolve")
    form.get_by_label("Summary").fill(body["summary"])
    form.get_by_label("Kind").select_option("refund")
    form.get_by_label("Amount (USD)").fill("1200.00")
    form.get_by_label("A workaround was given").check()
    form.get_by_role("button", name="Resolve").click()
    alert = page.get_by_role("alert")
    expect(alert).to_contain_text(api["rule"])
    expect(alert).to_contain_text(api["detail"])
    form = page.get_by_role("form", name="Resolve")
    expect(form.get_by_label("Summary")).to_have_value(body["summary"])
    expect(form.get_by_label("Kind")).to_have_value("refund")
    expect(form.get_by_label("Amount (USD)")).to_have_value("1200.00")
    expect(form.get_by_label("A workaround was given")).to_be_checked()
    # Only the refused form is filled in; the others are as they were.
    expect(page.get_by_role("form", name="Update").get_by_label("Note")).to_have_value("")
    assert_accessible(page)


def test_a_form_with_errors_keeps_what_was_typed(page: Page, live: Live) -> None:
    eid = live.open()
    live.act(eid, "alice", "acknowledge", {"note": "mine"})
    sign_in(page, live, "alice")
    page.goto(f"{live.url}/ui/escalations/{eid}")
    page.locator("summary", has_text="Other actions open to you").click()  # the disclosure
    form = page.get_by_role("form", name="Promise")
    form.get_by_label("Kind").select_option("callback")
    form.get_by_label("Within").fill("1 hour")
    form.get_by_label("Note").fill("call back after lunch")
    form.get_by_role("button", name="Promise").click()
    expect(page.get_by_role("alert")).to_contain_text("1h30m")
    form = page.get_by_role("form", name="Promise")
    expect(form.get_by_label("Within")).to_have_value("1 hour")
    expect(form.get_by_label("Note")).to_have_value("call back after lunch")
    expect(form.get_by_label("Kind")).to_have_value("callback")
