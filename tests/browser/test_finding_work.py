"""Starting and finding work in the dashboard (issue 25, points 2, 5, 6, 9-12) in
Chromium, axe-core on every page: the New escalation page, search, offers to the viewer,
clocks named, the customer's side of the metrics, times in the viewer's zone, and the
escalation page leading with what the state invites."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from tests.browser.conftest import Live, assert_accessible, screenshot, sign_in

TIME = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d \S+$")


def test_new_escalation_shows_errors_beside_fields_then_opens_it(page: Page,
                                                                 live: Live) -> None:
    sign_in(page, live, "alice")
    page.get_by_role("link", name="New escalation").click()
    expect(page.get_by_role("heading", name="New escalation")).to_be_visible()
    assert_accessible(page)
    page.get_by_label("Title (required)").fill("Card charged twice")
    page.get_by_label("Description").fill("March invoice charged twice")
    page.get_by_label("Amount at stake (USD)").fill("12,5")
    page.get_by_role("button", name="Open the escalation").click()
    expect(page.get_by_role("alert")).to_contain_text("not opened")
    # Each error beside its field, announced with it; what was typed is kept.
    expect(page.get_by_label("Category (required)")).to_have_accessible_description(
        re.compile("required|Missing", re.I))
    expect(page.get_by_label("Customer id", exact=False)).to_have_attribute(
        "aria-invalid", "true")
    expect(page.locator("#amount-error")).to_be_visible()
    expect(page.get_by_label("Title (required)")).to_have_value("Card charged twice")
    assert_accessible(page)
    screenshot(page, "new-escalation-errors")
    page.get_by_label("Category (required)").select_option("billing")
    page.get_by_label("Severity (required)").select_option("high")
    page.get_by_label("Customer id", exact=False).fill("cust-42")
    page.get_by_label("Name").fill("Ada Lovelace")
    page.get_by_label("Value").select_option("strategic")
    page.get_by_label("Amount at stake (USD)").fill("1200.00")
    page.get_by_role("button", name="Open the escalation").click()
    expect(page.get_by_role("heading", name="Card charged twice")).to_be_visible()
    expect(page.get_by_role("status")).to_contain_text("Opened (rule")
    expect(page.locator("#fact-state")).to_have_text("opened")
    items = live.api("GET", "/escalations?q=lovelace", "sam")["items"]
    assert [i["title"] for i in items] == ["Card charged twice"]
    assert items[0]["amount"] == {"value": "1200.00", "currency": "USD"}


def test_search_box_combines_with_filters_and_names_the_next_clock(page: Page,
                                                                   live: Live) -> None:
    live.open(title="Invoice shows the wrong VAT", severity="normal")
    live.open(title="Checkout down for EU customers", severity="urgent",
              category="technical", description="Payments time out",
              customer={"id": "cust-7", "name": "Grace Hopper"})
    live.open(title="Invoice never arrived", severity="urgent")
    sign_in(page, live, "sam")
    page.get_by_label("Search").fill("invoice")
    page.get_by_role("button", name="Filter").click()
    expect(page.locator("table.queue tbody tr")).to_have_count(2)
    page.get_by_label("Severity").select_option("urgent")
    page.get_by_role("button", name="Filter").click()
    rows = page.locator("table.queue tbody tr")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("Invoice never arrived")
    expect(rows.first.locator("td.due")).to_have_attribute("data-clock", "acknowledge")
    expect(rows.first.locator("td.due")).to_contain_text("acknowledge in 10m")
    expect(page.get_by_label("Search")).to_have_value("invoice")
    page.get_by_label("Search").fill("hopper")
    page.get_by_label("Severity").select_option("")
    page.get_by_role("button", name="Filter").click()
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("Checkout down")
    assert_accessible(page)


def test_an_offer_shows_in_the_header_the_queue_and_leads_the_page(page: Page,
                                                                   live: Live) -> None:
    eid = live.open(title="Invoice shows the wrong VAT")
    live.act(eid, "alice", "acknowledge", {"note": "mine"})
    live.clock.advance(minutes=3)
    live.act(eid, "alice", "hand-off", {"to": "andy", "context": "Customer prefers email"})
    sign_in(page, live, "andy")
    expect(page.locator("#offered-count")).to_have_text("1")
    page.get_by_role("link", name=re.compile("Offered to me")).first.click()
    row = page.locator(f"tr[data-id='{eid}']")
    expect(row.locator("td.handoff")).to_contain_text("offered to andy by alice")
    expect(row.locator("td.handoff")).to_contain_text("Customer prefers email")
    expect(row.locator("td.handoff")).to_contain_text("answer in")
    assert_accessible(page)
    screenshot(page, "queue-offered")
    page.get_by_role("link", name="Invoice shows the wrong VAT").click()
    expect(page.get_by_role("heading", name="Hand-off waiting on your answer")).to_be_visible()
    expect(page.locator("#handoff")).to_contain_text("by alice")
    expect(page.locator("#handoff")).to_contain_text("answer due")
    expect(page.locator("#handoff-context")).to_have_text("Customer prefers email")
    # What the state invites leads: accept or decline; nothing else is in the way.
    primary = page.locator(".actions.primary form")
    expect(primary).to_have_count(2)
    expect(page.get_by_role("form", name="Accept handoff")).to_be_visible()
    expect(page.get_by_role("form", name="Decline handoff")).to_be_visible()
    assert_accessible(page)
    screenshot(page, "escalation-offered")
    page.get_by_role("form", name="Accept handoff").get_by_role(
        "button", name="Accept handoff").click()
    expect(page.get_by_role("status")).to_contain_text("accept-handoff done")
    expect(page.locator("#offered-count")).to_have_text("0")
    expect(page.locator("#fact-owner")).to_have_text("andy")


def test_other_forms_wait_behind_a_disclosure_usable_without_javascript(
        page: Page, live: Live, browser: object) -> None:
    eid = live.open(severity="urgent")
    live.act(eid, "alice", "acknowledge", {"note": "mine"})
    context = browser.new_context(java_script_enabled=False)  # type: ignore[attr-defined]
    bare = context.new_page()
    sign_in(bare, live, "alice")
    bare.goto(f"{live.url}/ui/escalations/{eid}")
    more = bare.locator("details#more-actions")
    expect(more).not_to_have_attribute("open", "")
    watch = bare.get_by_role("form", name="Watch")
    expect(watch).to_be_hidden()
    expect(bare.get_by_role("form", name="Resolve")).to_be_visible()
    bare.get_by_text("Other actions open to you").click()
    expect(watch).to_be_visible()
    watch.get_by_label("Handle").fill("sam")
    watch.get_by_role("button", name="Watch").click()
    expect(bare.get_by_role("status")).to_contain_text("add-watcher done")
    context.close()


def test_times_read_to_the_second_in_the_viewers_zone(page: Page, live: Live) -> None:
    eid = live.open(severity="urgent")
    live.clock.advance(seconds=75)
    live.act(eid, "alice", "acknowledge", {"note": "mine"})
    sign_in(page, live, "alice")
    page.goto(f"{live.url}/ui/escalations/{eid}")
    first = page.locator("table.timeline tbody tr").first.locator("time")
    expect(first).to_have_text("2026-11-23 10:00:00 UTC")
    ticks = page.locator("svg.swimlane text.tick").all_text_contents()
    assert len(set(ticks)) == len(ticks) == 5, ticks
    page.get_by_role("link", name="Times in UTC").click()
    page.get_by_label(re.compile("Time zone")).fill("Not/AZone")
    page.get_by_role("button", name="Use this time zone").click()
    expect(page.locator("#zone-error")).to_contain_text("no time zone name")
    assert_accessible(page)
    page.get_by_label(re.compile("Time zone")).fill("Europe/Paris")
    page.get_by_role("button", name="Use this time zone").click()
    expect(page).to_have_url(re.compile(f"/ui/escalations/{eid}$"))
    expect(first).to_have_text("2026-11-23 11:00:00 CET")
    for text in page.locator("table.timeline time, table.clocks time").all_text_contents():
        assert TIME.match(text), text
    assert "." not in page.locator("table.timeline").inner_text().split("Text")[0]


def test_metrics_show_the_customer_side_and_missed_promises(page: Page,
                                                            live: Live) -> None:
    eid = live.open(severity="high")
    live.act(eid, "alice", "acknowledge", {"note": "mine", "promise_made": {
        "kind": "callback", "within": "1h"}})
    live.clock.advance(hours=2)
    sign_in(page, live, "sam")
    row = page.locator(f"tr[data-id='{eid}']")
    expect(row.locator("td.breached")).to_contain_text("callback promise")
    page.goto(f"{live.url}/ui/escalations/{eid}")
    expect(page.locator("#fact-promises")).to_contain_text(
        re.compile(r"callback due \d\d:\d\d · missed"))
    expect(page.locator("[data-clock='callback promise']")).to_have_attribute(
        "data-band", "breached")
    page.goto(f"{live.url}/ui/metrics")
    expect(page.locator("#m-promises")).to_contain_text("0% of 1 (1 missed)")
    expect(page.locator("#m-csat")).to_contain_text("no answer yet")
    expect(page.locator("#m-actions")).to_contain_text("0 open")
    expect(page.get_by_role("img", name=re.compile("Breaches per clock"))).to_contain_text(
        "customer promises")
    expect(page.get_by_role("img", name="Promise-kept rate per team")).to_be_visible()
    assert_accessible(page)
    screenshot(page, "metrics-customer-side")
