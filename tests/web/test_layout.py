"""Layout and access: every page fits a 360 px wide phone, the grid loads page after page while scrolling
(keyset pages merged into their days), jumping to a date, and using the timeline with the keyboard alone."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from conftest import upload
from media_fixtures import jpeg

from .conftest import PHONE
from .flows import wait_until_processed
from .library_rows import add_rows


@pytest.fixture
def member_with_photos(accounts):
    member = accounts.create(name="layout")
    ids = [upload(member, jpeg(6000 + seed), filename=f"IMG_{seed}.jpg",
                  modified_at=f"2023-0{seed + 1}-1{seed}T10:00:00Z").json()["id"] for seed in range(3)]
    album = member.http.post("/albums", json={"title": "A rather long album title for a small phone screen"}).json()
    member.http.put(f"/albums/{album['id']}/assets", json={"asset_ids": ids[:2]})
    member.http.post(f"/assets/{ids[2]}/trash")
    return member, ids, album["id"]


def test_every_page_fits_a_phone(browse, member_with_photos):
    member, ids, album = member_with_photos
    visit = browse(viewport=PHONE)
    visit.sign_in(member)
    wait_until_processed(visit, ids)
    for path in ("/", "/albums", f"/albums/{album}", f"/photos/{ids[0]}", "/upload", "/trash", "/account"):
        visit.page.goto(path)
        width = visit.page.evaluate("document.documentElement.scrollWidth")
        assert width <= PHONE["width"], (path, width)
        if path in ("/", f"/photos/{ids[0]}"):
            visit.screenshot("phone-timeline" if path == "/" else "phone-viewer")
    assert visit.errors == []


def test_the_grid_loads_page_after_page_and_jumps_to_a_date(browse, accounts):
    member = accounts.create(name="pages")
    add_rows(accounts.services, member.email, 300)
    visit = browse()
    visit.sign_in(member)
    page = visit.page
    tiles = page.locator(".tile")
    expect(tiles).to_have_count(120)
    for loaded in (240, 300):
        page.locator("#more").scroll_into_view_if_needed()
        expect(tiles).to_have_count(loaded)
    expect(page.locator("#more")).to_have_count(0)
    names = [tile.locator("img").get_attribute("alt").split(",")[0] for tile in tiles.all()]
    assert names == [f"Photo ROW_{number:06d}.jpg" for number in range(300)]  # newest first, none twice
    days = [section.get_attribute("data-day") for section in page.locator("section.day").all()]
    assert len(days) == len(set(days)) and days == sorted(days, reverse=True)  # a day cut by a page is one
    months = [section.get_attribute("data-month") for section in page.locator("section.month").all()]
    assert len(months) == len(set(months))

    page.get_by_label("Jump to").fill("2024-05-01")
    page.get_by_role("button", name="Go").click()
    expect(page).to_have_url(re.compile(r"\?date=2024-05-01$"))
    first_day = page.locator("section.day").first.get_attribute("data-day")
    assert first_day == "2024-05-01"
    expect(page.locator(".month-title").first).to_have_text("May 2024")
    page.get_by_role("link", name="Newest").click()
    expect(page.locator("section.day").first).to_have_attribute("data-day", "2024-06-30")


def test_the_timeline_works_with_the_keyboard_alone(browse, member_with_photos):
    member, ids, _ = member_with_photos
    visit = browse()
    visit.sign_in(member)
    page = visit.page
    page.keyboard.press("Tab")
    expect(page.get_by_role("link", name="Skip to content")).to_be_focused()
    for _ in range(30):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.classList.contains('pick')"):
            break
    first = page.locator(".pick").first
    expect(first).to_be_focused()
    page.keyboard.press("Space")
    expect(page.locator("#selection")).to_have_class(re.compile("active"))
    expect(page.locator("[data-count]")).to_have_text("1")
    page.keyboard.press("Escape")
    expect(page.locator("[data-count]")).to_have_text("0")
    page.keyboard.press("Tab")  # from the checkbox to its photo
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"/photos/"))
    expect(page.get_by_role("complementary", name="Information")).to_be_visible()
    page.wait_for_load_state()
    page.keyboard.press("i")
    expect(page.get_by_role("complementary", name="Information")).to_be_hidden()
    page.keyboard.press("i")
    expect(page.get_by_role("button", name="Info")).to_have_attribute("aria-expanded", "true")
