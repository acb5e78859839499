"""The account page tells a person their plan and what they may not add now (and why), and lets them choose
their name, the language of emails and whether notice emails come."""

from __future__ import annotations

import uuid

from playwright.sync_api import expect

from web.conftest import PHONE


def test_a_person_sets_name_language_and_notice_emails(browse, accounts):
    person = accounts.create(name="profile")
    browsing = browse(PHONE)
    browsing.sign_in(person)
    page = browsing.page
    page.goto("/account")
    expect(page.locator("#plans")).to_have_text("Plan: Free")
    page.get_by_label("Your name").fill("  Eva   Example ")
    page.get_by_label("Language of emails").fill("de")
    page.get_by_label("Email me notices").uncheck()
    page.get_by_role("button", name="Save").click()
    expect(page.locator(".flash-ok")).to_contain_text("Only notices we are required to send")
    me = person.http.get("/me").json()
    assert (me["display_name"], me["locale"], me["notice_emails"]) == ("Eva Example", "de", False)
    expect(page.get_by_label("Your name")).to_have_value("Eva Example")
    expect(page.get_by_label("Email me notices")).not_to_be_checked()

    page.get_by_label("Language of emails").fill("not a language!")
    page.get_by_role("button", name="Save").click()
    expect(page.locator(".flash-error")).to_contain_text("not a language tag: 'not a language!'")
    assert person.http.get("/me").json()["locale"] == "de"  # nothing changed
    browsing.screenshot("account-profile-phone")
    assert not browsing.errors


def test_the_account_page_says_which_kinds_the_region_takes_no_more_of(browse, accounts):
    person, services = accounts.create(name="closed"), accounts.services
    services.regions.set_region(person.email, "NR")  # a country no other test's users live in
    group = f"page-{uuid.uuid4().hex[:8]}"
    services.regions.add_group(group, ["NR"])
    services.regions.set_kind(group, "messages", enabled=False)
    try:
        browsing = browse()
        browsing.sign_in(person)
        browsing.page.goto("/account")
        expect(browsing.page.locator('[data-closed="messages"]')).to_contain_text(
            f"cannot be added in your region (NR, region group {group})")
        expect(browsing.page.locator('[data-closed="gallery"]')).to_have_count(0)
        assert person.http.get("/me").json()["intake"]["gallery"] is None
    finally:
        services.regions.delete_group(group)
