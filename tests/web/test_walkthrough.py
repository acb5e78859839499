"""A user's whole visit in headless Chromium: sign in, upload five photos (the file picker with the real
corpus, drag and drop with generated ones), find them in the timeline under the days they were taken,
read the capture time in the viewer, favourite one, make an album of two, trash one and restore it,
create an API key for a phone, sign out."""

from __future__ import annotations

import re

import httpx
import pytest
from playwright.sync_api import expect

from .flows import drop_files, nav, pick_files, tile, uploaded_ids, wait_until_processed
from .photos import corpus_photos, generated_photos


def walk(browse, server, user, photos, put_files) -> None:
    visit = browse()
    page = visit.page
    visit.sign_in(user)
    expect(page.get_by_text("No photos yet")).to_be_visible()

    # Upload: five new files, then one of them again, which is reported as a duplicate.
    nav(page, "Upload")
    put_files(page, photos)
    ids = uploaded_ids(page, len(photos))
    assert sorted(ids) == sorted(photo.name for photo in photos)
    expect(page.locator("#overall-text")).to_contain_text(f"{len(photos)} of {len(photos)} files")
    put_files(page, photos[:1])
    duplicate = page.locator('#upload-list li[data-state="duplicate"]')
    expect(duplicate).to_contain_text("already in your library")
    assert duplicate.get_attribute("data-asset") == ids[photos[0].name]
    visit.screenshot("walk-upload")
    records = wait_until_processed(visit, list(ids.values()))

    # Timeline: newest first, each photo under the day it was taken, with its month's heading.
    nav(page, "Photos")
    for photo in photos:
        day = page.locator(f'section.day[data-day="{photo.day}"]')
        expect(day.locator(f"#t-{ids[photo.name]}")).to_have_count(1)
        expect(day.locator("xpath=..").locator(".month-title")).to_have_text(photo.taken.strftime("%B %Y"))
    order = [item.get_attribute("data-id") for item in page.locator(".tile").all()]
    assert order == [ids[photo.name] for photo in sorted(photos, key=lambda p: p.taken, reverse=True)]
    expect(page.locator(f"#t-{ids[photos[0].name]} img")).to_have_attribute("alt", re.compile(photos[0].name))
    visit.screenshot("walk-timeline")

    # Viewer: the capture time and where it came from; the arrow keys step through the timeline.
    first, second = photos[0], photos[1]
    tile(page, ids[first.name]).locator("a.thumb").click()
    expect(page).to_have_url(re.compile(f"/photos/{ids[first.name]}$"))
    taken = page.locator('.info-row[data-field="taken"] time')
    expect(taken).to_have_attribute("datetime", first.taken.isoformat(timespec="seconds"))
    expect(page.locator('.info-row[data-field="date-source"] dd')).to_have_text("camera (EXIF)")
    expect(page.locator('.info-row[data-field="filename"] dd')).to_have_text(first.name)
    assert records[ids[first.name]]["media"]["taken_at"].startswith(first.taken.isoformat())
    page.wait_for_load_state()
    page.keyboard.press("ArrowRight")
    expect(page).to_have_url(re.compile(f"/photos/{ids[second.name]}$"))
    page.wait_for_load_state()  # the page's script (and its keys) is there once the page has loaded
    page.keyboard.press("ArrowLeft")
    expect(page).to_have_url(re.compile(f"/photos/{ids[first.name]}$"))

    # Favourite it.
    page.get_by_role("button", name="☆ Favourite").click()
    expect(page.get_by_role("button", name="★ Favourite")).to_have_attribute("aria-pressed", "true")
    assert visit.context.request.get(f"/api/v1/assets/{ids[first.name]}").json()["is_favorite"] is True
    visit.screenshot("walk-viewer")

    # An album of two: check one, shift-click a third (a range of three), leave out the middle one.
    page.wait_for_load_state()
    page.keyboard.press("Escape")
    expect(page).to_have_url(re.compile(r"/\?date="))
    page.goto("/")
    tiles = [ids[photo.name] for photo in sorted(photos, key=lambda p: p.taken, reverse=True)]
    page.locator(f"#pick-{tiles[0]}").check()
    page.locator(f"#pick-{tiles[2]}").click(modifiers=["Shift"])
    expect(page.locator("[data-count]")).to_have_text("3")
    page.locator(f"#pick-{tiles[1]}").uncheck()
    expect(page.locator("[data-count]")).to_have_text("2")
    page.get_by_label("New album title").fill("Summer")
    page.get_by_role("button", name="Add to album").click()
    expect(page.locator(".flash-ok")).to_have_text("2 items added to “Summer”.")
    nav(page, "Albums")
    card = page.locator(".album-card", has_text="Summer")
    expect(card.locator(".album-count")).to_have_text("2 items")
    expect(card.locator("img")).to_have_attribute("src", f"/api/v1/assets/{tiles[0]}/thumbnail")
    card.get_by_role("link").click()
    expect(page.locator(".tile")).to_have_count(2)
    assert {item.get_attribute("data-id") for item in page.locator(".tile").all()} == {tiles[0], tiles[2]}

    # Trash one from the viewer, find it in the trash, restore it.
    page.goto(f"/photos/{tiles[3]}")
    page.get_by_role("button", name="Trash").click()
    expect(page.locator(".flash-ok")).to_contain_text("Moved to the trash")
    page.goto("/")
    expect(tile(page, tiles[3])).to_have_count(0)
    nav(page, "Trash")
    expect(page.locator(".tile")).to_have_count(1)
    expect(tile(page, tiles[3]).locator(".badge-left")).to_have_text("30 days left")
    page.locator(f"#pick-{tiles[3]}").check()
    page.get_by_role("button", name="Restore").click()
    expect(page.locator(".flash-ok")).to_have_text("1 item restored.")
    expect(page.get_by_text("The trash is empty.")).to_be_visible()
    nav(page, "Photos")
    expect(tile(page, tiles[3])).to_have_count(1)

    # An API key for a phone, with the command to paste; the key works.
    nav(page, "Account")
    expect(page.locator('#usage [data-kind="gallery"]')).to_contain_text(f"{len(photos)} items")
    page.get_by_label("New device").fill("Test phone")
    page.get_by_role("button", name="Create API key").click()
    command = page.locator("#sync-command").input_value()
    key = page.get_by_label("Key", exact=True).input_value()
    assert command == f"phonecloud sync ~/DCIM/Camera --server {server.url} --key {key}"
    me = httpx.get(f"{server.url}/api/v1/me", headers={"Authorization": f"Bearer {key}"})
    assert me.status_code == 200 and me.json()["email"] == user.email
    expect(page.locator("tr", has_text="Test phone")).to_contain_text("active")
    visit.screenshot("walk-account")

    # Sign out: the session is over, on the server too.
    page.get_by_role("button", name="Sign out").click()
    expect(page).to_have_url(re.compile("/signin$"))
    expect(page.locator(".flash-ok")).to_have_text("You are signed out.")
    page.goto("/")
    expect(page).to_have_url(re.compile(r"/signin\?next=/$"))
    assert visit.context.request.get("/api/v1/me").status == 401
    assert visit.errors == [], visit.errors  # no script error and no Content-Security-Policy violation


def test_walkthrough_with_generated_photos_by_drag_and_drop(browse, server, accounts):
    walk(browse, server, accounts.create(name="walker"), generated_photos(seed=100), drop_files)


@pytest.mark.skipif(not corpus_photos(), reason="../shared/corpus/exif-samples is not present")
def test_walkthrough_with_the_real_corpus_by_file_picker(browse, server, accounts):
    walk(browse, server, accounts.create(name="corpus-walker"), corpus_photos(), pick_files)
