"""The dashboard in Chromium: sign in, the queue refreshing itself, acting from an
escalation's page, refusals with their rule, breaches, the swimlane, the audit page,
CSRF, signing out; axe-core on every page."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from audit.store import actors
from tests.browser.conftest import Live, assert_accessible, screenshot, sign_in
from workflow import sla_sweep


def test_sign_in_page_is_accessible_and_signed_out_visits_go_there(page: Page,
                                                                   live: Live) -> None:
    page.goto(f"{live.url}/ui/metrics")
    expect(page).to_have_url(re.compile(r"/ui/login\?next=/ui/metrics"))
    assert_accessible(page)
    page.get_by_label("Token").fill("bt_not-a-token")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_contain_text("unknown or has been revoked")
    page.get_by_label("Token").fill(live.tokens["sam"])
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(re.compile(r"/ui/metrics$"))


def test_new_escalation_appears_in_the_queue_without_reloading(page: Page,
                                                                live: Live) -> None:
    for severity, category in (("normal", "technical"), ("high", "billing"),
                               ("low", "account")):
        live.open(severity=severity, category=category, title=f"A {severity} {category} case")
    acknowledged = live.open(severity="urgent", title="Checkout down for EU customers")
    live.act(acknowledged, "alice", "acknowledge", {"note": "on it"})
    sign_in(page, live, "sam")
    expect(page.get_by_role("heading", name="Open escalations")).to_be_visible()
    page.evaluate("window.notReloaded = true")
    expect(page.locator("#total-open")).to_have_text("4")
    live.open(severity="urgent", title="Payment page returns 500")
    expect(page.get_by_role("link", name="Payment page returns 500")).to_be_visible(
        timeout=8000)
    expect(page.locator("#total-open")).to_have_text("5")
    assert page.evaluate("window.notReloaded") is True
    # Soonest deadline first: the urgent, unacknowledged ones lead.
    first = page.locator("table.queue tbody tr").first
    expect(first.locator("td.due")).to_have_attribute("data-band", "under-30-min")
    expect(page.locator("[data-team=frontline]")).to_have_text("5")
    assert_accessible(page)
    screenshot(page, "queue")
    page.get_by_label("Owner").select_option("mine")
    page.get_by_role("button", name="Filter").click()
    expect(page.get_by_role("cell", name="No open escalation matches")).to_be_visible()


def test_acknowledge_from_the_page_changes_owner_and_clocks(page: Page, live: Live) -> None:
    eid = live.open(severity="urgent")
    sign_in(page, live, "alice")
    page.goto(f"{live.url}/ui/escalations/{eid}")
    expect(page.locator("#fact-owner")).to_have_text("nobody yet")
    expect(page.locator("[data-clock=acknowledge]")).to_have_text("in 10m")
    assert_accessible(page)
    live.clock.advance(minutes=2)
    form = page.get_by_role("form", name="Acknowledge")
    form.get_by_label("Note").fill("Calling the customer now")
    form.get_by_role("button", name="Acknowledge").click()
    expect(page.get_by_role("status")).to_contain_text("acknowledge done")
    expect(page.locator("#fact-owner")).to_have_text("alice")
    expect(page.locator("#fact-state")).to_have_text("acknowledged")
    expect(page.locator("[data-clock=acknowledge]")).to_have_count(0)
    expect(page.locator("[data-clock=update]")).to_have_text("in 30m")
    expect(page.get_by_role("cell", name="Calling the customer now")).to_be_visible()


def test_a_refused_action_shows_its_rule_and_sentence(page: Page, live: Live) -> None:
    eid = live.open()
    live.act(eid, "alice", "acknowledge", {"note": "mine"})
    sign_in(page, live, "alice")
    page.goto(f"{live.url}/ui/escalations/{eid}")
    form = page.get_by_role("form", name="Resolve")
    form.get_by_label("Summary").fill("Refund the duplicate charge")
    form.get_by_label("Kind").select_option("refund")
    form.get_by_label("Amount (USD)").fill("1200.00")
    form.get_by_role("button", name="Resolve").click()
    alert = page.get_by_role("alert")
    expect(alert).to_contain_text("resolve.limit")
    expect(alert).to_contain_text("agent may resolve amounts up to 500 USD")
    expect(page.locator("#fact-state")).to_have_text("acknowledged")
    # What the viewer may not do is listed with its rule too.
    expect(page.locator("ul.refused")).to_contain_text("reassign")


def test_a_recorded_breach_shows_the_acting_owner_and_the_red_band(page: Page,
                                                                   live: Live) -> None:
    eid = live.open(severity="urgent", title="Nobody took this one")
    live.clock.advance(minutes=15)
    swept = sla_sweep.sweep(uow_factory=live.baton.uow, now=live.clock.now)
    assert swept.events >= 1
    sign_in(page, live, "sam")
    page.get_by_label("Breached").select_option("yes")
    page.get_by_role("button", name="Filter").click()
    row = page.locator(f"tr[data-id='{eid}']")
    expect(row.locator("td.acting")).to_have_text("andy")
    expect(row.locator("td.due")).to_have_attribute("data-band", "breached")
    expect(row.locator("td.due")).to_have_text("acknowledge late by 5m")
    expect(row.locator("td.due")).to_have_css("background-color", "rgb(253, 226, 225)")
    expect(page.locator("#total-breached")).to_have_text("1")
    page.get_by_role("link", name="Nobody took this one").click()
    expect(page.locator("#fact-acting")).to_have_text("andy")
    expect(page.locator("svg.swimlane g.marker-breach")).to_have_count(1)


def test_the_swimlane_has_a_lane_per_owner_and_a_span_per_ownership(page: Page,
                                                                    live: Live) -> None:
    eid = live.open(title="Invoice shows the wrong VAT")
    steps = [("alice", "acknowledge", {"note": "mine"}),
             ("alice", "hand-off", {"to": "andy", "context": "Customer prefers email"}),
             ("andy", "accept-handoff", {"note": "taking it"}),
             ("sam", "reassign", {"to": "alice", "reason": "andy is off tomorrow"}),
             ("alice", "escalate", {"reason": "needs finance", "trigger": "authority"})]
    for minutes, (who, action, body) in enumerate(steps, start=1):
        live.clock.advance(minutes=7 * minutes)
        live.act(eid, who, action, body)
    live.clock.advance(minutes=20)
    sign_in(page, live, "sam")
    page.goto(f"{live.url}/ui/escalations/{eid}")
    lanes = page.locator("svg.swimlane g.lane")
    expect(lanes).to_have_count(2)
    expect(page.locator("svg.swimlane g.lane[data-owner=alice] rect.span")).to_have_count(2)
    expect(page.locator("svg.swimlane g.lane[data-owner=andy] rect.span")).to_have_count(1)
    expect(page.locator("svg.swimlane rect[data-began=accepted-handoff]")).to_have_count(1)
    expect(page.locator("svg.swimlane rect[data-began=reassigned]")).to_have_count(1)
    expect(page.locator("svg.swimlane g.marker-tier")).to_have_count(1)
    expect(page.get_by_role("img", name=re.compile("Ownership swimlane"))).to_be_visible()
    expect(page.locator("table.timeline tbody tr")).to_have_count(6)
    expect(page.locator("table.timeline")).to_contain_text("reassign.governance")
    assert_accessible(page)
    screenshot(page, "escalation")
    page.goto(f"{live.url}/ui/metrics")
    expect(page.locator("figure.chart")).to_have_count(11)
    expect(page.get_by_role("img", name="Reopen rate per team")).to_be_visible()
    assert_accessible(page)
    screenshot(page, "metrics")


def test_the_audit_page_is_for_auditors_not_agents(page: Page, live: Live) -> None:
    live.open()
    sign_in(page, live, "aud")
    expect(page.get_by_role("link", name="New escalation")).to_have_count(0)
    response = page.goto(f"{live.url}/ui/escalations/new")
    assert response is not None and response.status == 403
    expect(page.get_by_text(re.compile(r"refused by rule \S+"))).to_be_visible()
    page.get_by_role("link", name="Queue").click()
    page.get_by_role("link", name="Audit").click()
    expect(page.get_by_role("heading", name="Audit", exact=True)).to_be_visible()
    expect(page.locator("#log-size")).to_have_text(re.compile(r"^\d+ events$"))
    expect(page.locator("#verify-result")).to_contain_text("OK:")
    expect(page.locator("#public-key")).to_contain_text(live.baton.origin)
    with page.expect_download() as download:
        page.get_by_role("button", name="Download the export").click()
    assert download.value.suggested_filename == "baton-export.jsonl"
    assert_accessible(page)
    page.get_by_role("button", name="Sign out").click()
    sign_in(page, live, "alice")
    expect(page.get_by_role("link", name="Audit")).to_have_count(0)
    expect(page.get_by_role("link", name="New escalation")).to_have_count(1)
    response = page.goto(f"{live.url}/ui/audit")
    assert response is not None and response.status == 403
    expect(page.get_by_role("alert")).to_contain_text("permission.read-audit")


def test_form_posts_without_the_csrf_token_are_refused(page: Page, live: Live) -> None:
    eid = live.open()
    sign_in(page, live, "alice")
    url = f"{live.url}/ui/escalations/{eid}/actions/acknowledge"
    for form in ({"note": "forged"}, {"note": "forged", "csrf_token": "guessed"}):
        response = page.request.post(url, form=form, max_redirects=0)
        assert response.status == 400
        assert "CSRF" in response.text()
    assert live.api("GET", f"/escalations/{eid}", "alice")["state"] == "opened"


def test_sign_out_and_revoking_the_token_end_the_session(page: Page, live: Live) -> None:
    sign_in(page, live, "alice")
    # From a page without the queue's poll (every second here), which, answered just after
    # the sign-out, would send the tab to sign in over the signed-out page.
    page.goto(f"{live.url}/ui/metrics")
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("status")).to_contain_text("Signed out")
    page.goto(f"{live.url}/ui/")
    expect(page).to_have_url(re.compile(r"/ui/login"))
    sign_in(page, live, "bob")
    with live.baton.engine.begin() as conn:
        actors.revoke(conn, "bob", live.clock.now)
    page.goto(f"{live.url}/ui/")
    expect(page).to_have_url(re.compile(r"/ui/login"))
