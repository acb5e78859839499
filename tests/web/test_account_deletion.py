"""Deleting an account in the browser: a person from their account page (password typed again, the "download
everything first" link in view), an administrator from the console (the email typed to confirm); both end
on the receipt, and the account is gone."""

from __future__ import annotations

from playwright.sync_api import expect

from conftest import upload
from media_fixtures import jpeg
from web.conftest import PHONE
from web.test_admin import promote


def test_a_person_deletes_their_account_from_the_account_page(browse, accounts):
    person = accounts.create(name="goodbye")
    upload(person, jpeg(9601), filename="last.jpg")
    browsing = browse(PHONE)
    browsing.sign_in(person)
    page = browsing.page
    page.goto("/account")
    expect(page.locator('#usage [data-kind="gallery"]')).to_contain_text("Photos and videos: 1 item")
    section = page.locator("#delete-account")
    expect(page.get_by_role("link", name="Download everything first")).to_have_attribute("href", "/download")

    section.get_by_label("Your password, to confirm").fill("not my password")
    section.get_by_label("I have what I want to keep").check()
    section.get_by_role("button", name="Delete my account").click()
    expect(page.locator(".flash-error")).to_contain_text("the password is wrong")
    assert person.http.get("/me").status_code == 200  # nothing happened

    section.get_by_label("Your password, to confirm").fill(person.password)
    section.get_by_label("I have what I want to keep").check()
    section.get_by_role("button", name="Delete my account").click()
    page.wait_for_url("**/deletions/*")
    expect(page.locator("#deletion-state")).to_contain_text("Deleted.", timeout=60_000)  # the page refreshes
    expect(page.locator('#removed [data-removed="gallery"]')).to_contain_text("Photos and videos")
    assert person.email not in page.content()
    browsing.screenshot("account-deleted-phone")
    assert person.http.get("/me").status_code == 401
    page.goto("/account")
    page.wait_for_url("**/signin**")  # signed out for good
    assert not browsing.errors


def test_an_administrator_deletes_an_account_from_the_console(browse, accounts):
    admin, member = accounts.create(name="operator"), accounts.create(name="departing")
    promote(accounts, admin)
    upload(member, jpeg(9602), filename="theirs.jpg")
    browsing = browse()
    browsing.sign_in(admin)
    page = browsing.page
    page.goto("/admin")
    page.locator(f'tr[data-user="{member.email}"]').get_by_role("link", name="Delete…").click()
    expect(page.locator('#held [data-kind="gallery"]')).to_contain_text("1 item")
    page.get_by_label("Type").fill("someone-else@example.org")
    page.get_by_role("button", name="Delete this account").click()
    expect(page.locator(".flash-error")).to_contain_text("Type the account's email exactly")
    page.get_by_label("Type").fill(member.email)
    page.get_by_role("button", name="Delete this account").click()
    page.wait_for_url("**/deletions/*")
    expect(page.locator("#deletion-state")).to_contain_text("Deleted.", timeout=60_000)
    browsing.screenshot("account-deleted-by-admin")
    page.goto("/admin")
    expect(page.locator(f'tr[data-user="{member.email}"]')).to_have_count(0)
    assert member.http.get("/me").status_code == 401
    assert not browsing.errors
