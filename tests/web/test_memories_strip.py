"""On this day on the timeline: a card per earlier year with photos of today's date (its cover, how long ago,
how many), opening the timeline at that day; shown on the first page only; at phone and desktop widths."""

from __future__ import annotations

import datetime as dt

import pytest
from playwright.sync_api import expect

from conftest import upload
from media_fixtures import jpeg

from .conftest import DESKTOP, PHONE
from .flows import wait_until_processed


@pytest.mark.parametrize("viewport", [PHONE, DESKTOP], ids=["phone", "desktop"])
def test_on_this_day_cards_open_the_timeline_at_that_day(browse, accounts, viewport):
    member = accounts.create(name="memories")
    today = dt.datetime.now(dt.UTC).date()
    then = today.replace(year=today.year - 2) if not (today.month == 2 and today.day == 29) else today
    taken = [upload(member, jpeg(8200 + number), filename=f"IMG_then_{number}.jpg",
                    modified_at=f"{then.isoformat()}T12:0{number}:00Z").json()["id"] for number in range(3)]
    upload(member, jpeg(8210), filename="IMG_other_day.jpg",
           modified_at=f"{(then - dt.timedelta(days=3)).isoformat()}T12:00:00Z")
    visit = browse(viewport)
    visit.sign_in(member)
    wait_until_processed(visit, taken)
    page = visit.page
    page.goto("/")
    if then == today:
        expect(page.locator(".memories")).to_have_count(0)  # 29 February: no earlier year has one here
        return
    card = page.locator(".memories .memory")
    expect(card).to_have_count(1)
    expect(card).to_contain_text("2 years ago")
    expect(card).to_contain_text("3 items")
    expect(card.locator("img")).to_have_attribute("src", f"/api/v1/assets/{taken[0]}/thumbnail")
    assert card.locator("img").evaluate("image => image.complete && image.naturalWidth > 0")
    assert page.evaluate("document.documentElement.scrollWidth") <= viewport["width"]
    visit.screenshot(f"memories-{viewport['width']}")
    card.locator("a").click()
    page.wait_for_url(f"**/?date={then.isoformat()}")
    expect(page.locator(f"#t-{taken[2]}")).to_be_visible()
    expect(page.locator(".memories")).to_have_count(0)  # a page jumped to shows the days, not the memories
