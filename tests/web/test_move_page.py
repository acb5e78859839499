"""The "Move my library to…" page in Chromium, at phone and desktop widths: reached from the Download
everything page, the target's fields shown for the target chosen, a move to another phonecloud account started,
followed to its report, and listed when the page is opened again; a refused target is said on the page."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from conftest import upload
from media_fixtures import jpeg

from .conftest import DESKTOP, PHONE


@pytest.mark.parametrize("viewport", [PHONE, DESKTOP], ids=["phone", "desktop"])
def test_a_library_moved_from_the_page_to_another_phonecloud_with_its_report(browse, accounts, server, viewport):
    leaving, arriving = accounts.create(name="move-web"), accounts.create(name="move-there")
    for number in range(2):
        assert upload(leaving, jpeg(9700 + number), filename=f"IMG_{number}.jpg").status_code == 201
    visit = browse(viewport)
    visit.sign_in(leaving)
    page = visit.page
    page.goto("/download")
    page.get_by_role("link", name="Move your photos and videos straight there").click()
    expect(page.locator("h1")).to_have_text("Move my library to another service")
    expect(page.locator("#move-form[data-ready]")).to_have_count(1)

    page.get_by_label("Move to").select_option("webdav")
    expect(page.get_by_label("User name")).to_be_visible()
    expect(page.get_by_label("API key of your account there")).to_be_hidden()
    page.get_by_label("Move to").select_option("phonecloud")
    expect(page.get_by_label("User name")).to_be_hidden()
    page.get_by_label("Address").fill("ftp://nowhere.example")
    page.get_by_label("API key of your account there").fill(arriving.key)
    page.get_by_role("button", name="Start moving").click()
    expect(page.locator("#move-error")).to_contain_text("url: give an http:// or https:// address")

    page.get_by_label("Address").fill(server.url)
    page.get_by_role("button", name="Start moving").click()
    move = page.locator(".moves li")
    expect(move).to_have_attribute("data-state", "done", timeout=60_000)
    expect(move.locator(".move-report")).to_have_text("2 sent and verified, 0 already there, 0 albums.")
    expect(move).to_contain_text(f"phonecloud at {server.url}")
    expect(move.get_by_role("button", name="Forget it")).to_be_visible()
    visit.screenshot(f"move-done-{viewport['width']}")
    assert not visit.errors
    assert len(arriving.http.get("/assets").json()["items"]) == 2

    move.get_by_role("button", name="Forget it").click()
    expect(page.locator(".moves li")).to_have_count(0)
