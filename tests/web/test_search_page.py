"""The search page in Chromium, at phone (360 and 390 px) and desktop widths: words in the search box, the
filters (days, place and camera with the owner's own names suggested, album, favourites, photos or videos),
results as the timeline's tiles (the viewer and the selection work as there), the "no results" state, and a
wrong filter said beside the form."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from conftest import upload
from gallery.test_search import AREZZO, PARIS, TIMES_SQUARE, gps_jpeg
from media.test_media_pipeline import wait_ready

from .conftest import DESKTOP, PHONE
from .flows import nav, tile

PHONE_390 = {"width": 390, "height": 844}
VIEWPORTS = pytest.mark.parametrize("viewport", [PHONE, PHONE_390, DESKTOP], ids=["360", "390", "desktop"])


def _library(accounts, name: str, seed: int) -> tuple[object, dict[str, str], str]:
    user = accounts.create(name=name)
    ids = {}
    for label, body, filename in (
            ("paris", gps_jpeg(seed, PARIS, "Google", "Pixel 7", "2023:07:14 10:00:00", "+02:00"), "IMG_2041.JPG"),
            ("new_york", gps_jpeg(seed + 1, TIMES_SQUARE, "Canon", "Canon EOS 40D", "2023:07:20 18:00:00", "-04:00"),
             "DSC_0001.JPG"),
            ("arezzo", gps_jpeg(seed + 2, AREZZO, "Google", "Pixel 7", "2022:05:01 12:00:00"), "beach.jpg")):
        ids[label] = upload(user, body, filename=filename).json()["id"]
    for asset_id in ids.values():
        wait_ready(user, asset_id)
    album = user.http.post("/albums", json={"title": "Summer in Europe"}).json()["id"]
    user.http.put(f"/albums/{album}/assets", json={"asset_ids": [ids["paris"], ids["arezzo"]]})
    return user, ids, album


def _fits(page) -> None:
    """Nothing wider than the window (no sideways scrolling on a phone)."""
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth"), "the page scrolls sideways"


@VIEWPORTS
def test_words_then_filters_narrow_the_results_to_the_right_tiles(browse, accounts, viewport):
    user, ids, album = _library(accounts, f"search-{viewport['width']}", 9400 + viewport["width"])
    visit = browse(viewport)
    visit.sign_in(user)
    page = visit.page
    nav(page, "Search")
    expect(page.get_by_role("heading", name="Search")).to_be_visible()
    expect(page.locator(".search-hint")).to_be_visible()
    _fits(page)

    box = page.get_by_role("searchbox", name="Words")
    box.fill("pixel")
    box.press("Enter")
    page.wait_for_url("**/search?q=pixel*")
    expect(page.locator(".tile")).to_have_count(2)
    expect(tile(page, ids["paris"])).to_be_visible()
    expect(tile(page, ids["arezzo"])).to_be_visible()
    _fits(page)
    visit.screenshot(f"search-words-{viewport['width']}")

    # The filters: the place suggested from the owner's own, days on the camera's clock, the album.
    page.locator(".search-filters > summary").click()
    places = page.locator("#search-places option")
    assert {option.get_attribute("value") for option in places.all()} >= {"Paris", "France", "Arezzo", "Italy",
                                                                           "New York City", "New York", "United States"}
    cameras = {option.get_attribute("value") for option in page.locator("#search-cameras option").all()}
    assert cameras == {"Google Pixel 7", "Canon EOS 40D"}
    page.get_by_label("Place", exact=True).fill("Italy")
    page.locator("#search").get_by_role("button", name="Search").first.click()
    page.wait_for_url("**place=Italy*")
    expect(page.locator(".tile")).to_have_count(1)
    expect(tile(page, ids["arezzo"])).to_be_visible()
    expect(page.locator(".search-filters")).to_have_attribute("open", "")  # a filter is set: they stay open
    _fits(page)
    visit.screenshot(f"search-filters-{viewport['width']}")

    page.goto("/search")
    page.locator(".search-filters > summary").click()
    page.get_by_label("From", exact=True).fill("2023-07-01")
    page.get_by_label("To", exact=True).fill("2023-07-31")
    page.get_by_label("Album", exact=True).select_option(label="Summer in Europe")
    page.locator(".search-actions").get_by_role("button", name="Search").click()
    expect(page.locator(".tile")).to_have_count(1)
    expect(tile(page, ids["paris"])).to_be_visible()

    # A tile opens the viewer, as on the timeline.
    tile(page, ids["paris"]).locator(".thumb").click()
    page.wait_for_url(f"**/photos/{ids['paris']}*")
    assert not visit.errors, visit.errors


@pytest.mark.parametrize("viewport", [PHONE, DESKTOP], ids=["phone", "desktop"])
def test_no_results_and_a_wrong_filter_are_said_plainly(browse, accounts, viewport):
    user, ids, _ = _library(accounts, f"search-none-{viewport['width']}", 9500 + viewport["width"])
    visit = browse(viewport)
    visit.sign_in(user)
    page = visit.page
    page.goto("/search?q=zurich")
    expect(page.locator(".search-none")).to_have_text("No photos or videos match this search.")
    expect(page.locator(".tile")).to_have_count(0)
    page.goto("/search?q=pixel&place=Rome&kind=photo")
    expect(page.locator(".search-none")).to_contain_text("Try fewer filters")
    page.locator(".search-none").get_by_role("link", name="clear them").click()
    page.wait_for_url("**/search?q=pixel")
    expect(page.locator(".tile")).to_have_count(2)
    visit.screenshot(f"search-none-{viewport['width']}")
    page.goto("/search?from=2023-07-20&to=2023-07-01&q=canon")
    expect(page.get_by_role("alert")).to_have_text("to (2023-07-01) is before from (2023-07-20)")
    expect(page.get_by_role("searchbox", name="Words")).to_have_value("canon")  # what was typed stays
    expect(page.get_by_label("From", exact=True)).to_have_value("2023-07-20")
    _fits(page)
    assert not visit.errors, visit.errors


def test_a_selection_of_results_acts_as_on_the_timeline_and_comes_back(browse, accounts):
    user, ids, _ = _library(accounts, "search-select", 9600)
    visit = browse(DESKTOP)
    visit.sign_in(user)
    page = visit.page
    page.goto("/search?camera=Google+Pixel+7")
    expect(page.locator(".tile")).to_have_count(2)
    page.locator(f"#pick-{ids['arezzo']}").check()
    expect(page.locator("#selection")).to_have_class("selection active")
    page.locator("#selection").get_by_role("button", name="★ Favourite").click()
    page.wait_for_url("**/search?camera=Google+Pixel+7")
    expect(tile(page, ids["arezzo"])).to_have_class("tile is-favorite")
    page.goto("/search?favorite=true")
    expect(page.locator(".tile")).to_have_count(1)
    # The next page of results comes as HTML to append, with the search it continues.
    listed = user.http.get("/search", params={"camera": "Google Pixel 7", "limit": 1}).json()
    more = page.request.get(f"/search/grid?camera=Google+Pixel+7&cursor={listed['next_cursor']}")
    assert more.ok and f'id="t-{ids["arezzo"]}"' in more.text() and f't-{ids["paris"]}' not in more.text()
    assert not visit.errors, visit.errors


def test_another_users_album_is_not_found(browse, accounts):
    user, _, _ = _library(accounts, "search-mine", 9700)
    other, _, their_album = _library(accounts, "search-theirs", 9710)
    visit = browse(DESKTOP)
    visit.sign_in(user)
    answer = visit.page.goto(f"/search?album={their_album}")
    assert answer.status == 404
    visit.page.goto("/search")
    expect(visit.page.locator("#search-album option")).to_have_count(2)  # "Any album" and the user's own
