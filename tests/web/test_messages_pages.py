"""The Messages pages in Chromium, at phone and desktop widths: a backup imported from the file chooser with
its progress and result (one stopped by a full quota tried again from the page), the conversation list, a thread of bubbles with an MMS photo shown inline as its
thumbnail (a tap opens the original) and one whose bytes are no image offered as a download, search, the call
log, and another user's conversation answering 404."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from media_fixtures import jpeg
from messages.backup_files import (CALLS, MESSAGES, MessageSpec, PartSpec, sbr_calls_xml, sbr_messages_xml,
                                   write_large_sbr)
from messages.server_helpers import imported

from .conftest import DESKTOP, PHONE

PHOTO = jpeg(9100)  # a real JPEG, so that the page can show it
MMS_WITH_PHOTO = MessageSpec(
    "mms", 1, 1700000500000, sbr_address="+4915199990000", contact_name="Clara Wolf", m_id="mid-web@mms.example",
    addresses=[("+4915199990000", 137), ("insert-address-token", 151)],
    parts=[PartSpec(0, "image/jpeg", data=PHOTO, name="beach.jpg", cl="beach.jpg"),
           PartSpec(1, "text/plain", text="Sonnenuntergang am Meer", cl="text_0.txt", chset="106")])


def _backup_files(tmp_path) -> list:
    messages = tmp_path / "sms-20231114.xml"
    messages.write_bytes(sbr_messages_xml([*MESSAGES, MMS_WITH_PHOTO]))
    calls = tmp_path / "calls-20231114.xml"
    calls.write_bytes(sbr_calls_xml(CALLS))
    return [messages, calls]


@pytest.mark.parametrize("viewport", [PHONE, DESKTOP], ids=["phone", "desktop"])
def test_a_backup_imported_in_the_browser_reads_like_a_phone(browse, accounts, tmp_path, viewport):
    member = accounts.create(name="texter")
    visit = browse(viewport)
    visit.sign_in(member)
    page = visit.page
    page.goto("/messages")
    expect(page.get_by_text("No messages yet")).to_be_visible()

    page.locator("#backup-files").set_input_files(_backup_files(tmp_path))
    results = page.locator(".imports li")
    expect(results).to_have_count(2)
    expect(results.nth(0).locator(".import-state")).to_have_text("imported", timeout=60_000)
    expect(results.nth(0).locator(".import-result")).to_contain_text(f"{len(MESSAGES) + 1} imported")
    expect(results.nth(1).locator(".import-state")).to_have_text("imported", timeout=60_000)
    expect(results.nth(1).locator(".import-result")).to_contain_text(f"{len(CALLS)} imported")

    page.get_by_role("link", name="Show the new conversations").click()
    conversation = page.locator(".conversations a", has_text="Clara Wolf")  # the name the backup gave
    expect(conversation).to_contain_text("Sonnenuntergang")
    conversation.click()
    expect(page.locator("h1")).to_have_text("Clara Wolf")
    expect(page.locator(".participants")).to_have_text("+4915199990000")
    bubble = page.locator(".bubble.incoming", has_text="Sonnenuntergang am Meer")
    photo = bubble.locator("img")
    expect(photo).to_be_visible()
    assert photo.evaluate("image => image.complete && image.naturalWidth > 0")  # the MMS's photo, decoded
    assert photo.get_attribute("src").endswith("/thumbnail")  # the pipeline's small WebP, not the original
    visit.screenshot(f"messages-thread-{viewport['width']}")
    with page.expect_response(lambda response: response.url.endswith("/data")) as opened:
        photo.click()  # a tap opens the original
    assert (opened.value.status, opened.value.headers["content-type"]) == (200, "image/jpeg")

    page.goto("/messages")
    page.get_by_role("link", name="Anna Schmidt").first.click()
    expect(page.locator(".bubble.outgoing", has_text="Ja 👍🏽")).to_be_visible()
    unreadable = page.locator(".bubble", has_text="Grüße vom Strand")  # its "photo" is random bytes
    unreadable.scroll_into_view_if_needed()
    download = unreadable.locator("a.attachment", has_text="IMG_20231114.jpg")
    expect(download).to_be_visible()  # offered as a download instead of a broken image
    assert download.get_attribute("download") == "IMG_20231114.jpg" and unreadable.locator("img").count() == 0
    expect(page.locator(".bubble.incoming").first).to_contain_text("Bist du da?")
    if viewport is PHONE:  # nothing wider than the phone's screen
        assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]

    page.goto("/messages")
    page.get_by_label("Search messages").fill("Paket")
    page.get_by_role("button", name="Search").click()
    expect(page.locator(".search-results li")).to_have_count(1)
    expect(page.locator(".search-results")).to_contain_text("zwischen 10 und 14 Uhr")
    visit.screenshot(f"messages-search-{viewport['width']}")

    page.get_by_role("link", name="Calls").click()
    expect(page.locator(".call")).to_have_count(len(CALLS))
    visit.screenshot(f"messages-calls-{viewport['width']}")
    assert not visit.errors


def test_a_large_backup_goes_over_tus_and_is_imported(browse, accounts, tmp_path):
    member = accounts.create(name="large")
    backup = tmp_path / "sms-large.xml"
    records = write_large_sbr(backup, 17 << 20)  # past the page's 16 MiB threshold for resumable uploads
    visit = browse(PHONE)
    visit.sign_in(member)
    tus = []
    visit.page.on("request", lambda request: "/api/v1/uploads/" in request.url and tus.append(request.method))
    visit.page.goto("/messages")
    visit.page.locator("#backup-files").set_input_files(backup)
    result = visit.page.locator(".imports li")
    expect(result.locator(".import-state")).to_have_text("imported", timeout=120_000)
    expect(result.locator(".import-result")).to_contain_text(f"{records} imported")
    assert tus[0] == "POST" and tus.count("PATCH") >= 3  # created, then sent in 8 MiB pieces
    assert not visit.errors


def test_an_import_stopped_by_a_full_quota_is_tried_again_from_the_page(browse, accounts, tmp_path):
    backup = tmp_path / "sms-quota.xml"
    backup.write_bytes(sbr_messages_xml([*MESSAGES, MMS_WITH_PHOTO]))
    member = accounts.create(quota_bytes=backup.stat().st_size + 4000, name="full")  # not the photos too
    visit = browse(PHONE)
    visit.sign_in(member)
    visit.page.goto("/messages")
    visit.page.locator("#backup-files").set_input_files(backup)
    result = visit.page.locator(".imports li")
    expect(result.locator(".import-state")).to_have_text("stopped", timeout=60_000)
    expect(result.locator(".import-result")).to_contain_text("quota exceeded")
    visit.screenshot("messages-import-stopped-360")
    accounts.services.accounts.set_quota(member.email, 50 << 20)  # room made, as the account's admin would
    result.get_by_role("button", name="Try again").click()
    expect(result.locator(".import-state")).to_have_text("imported", timeout=60_000)
    expect(result.locator(".import-result")).not_to_contain_text("quota")
    expect(result.get_by_role("button", name="Try again")).to_have_count(0)
    stored = member.http.get("/messages/imports").json()["items"][0]
    assert (stored["state"], stored["imported"] + stored["duplicates"]) == ("done", len(MESSAGES) + 1)
    assert not visit.errors


def test_another_users_conversation_is_not_found(browse, accounts):
    owner, stranger = accounts.create(name="owner"), accounts.create(name="stranger")
    imported(owner, sbr_messages_xml(MESSAGES), "sms.xml")
    conversation = owner.http.get("/messages/conversations").json()["items"][0]["id"]
    visit = browse()
    visit.sign_in(stranger)
    response = visit.page.goto(f"/messages/{conversation}")
    assert response.status == 404
    visit.page.goto("/messages")
    expect(visit.page.get_by_text("No messages yet")).to_be_visible()
