"""Sharing in Chromium, at phone and desktop widths: a link opened without an account (the grid, the viewer with
its keys, each original and the zip of all; the password form first when the link has one), the owner's Share
on an album and on a selection, the list of links with the new one to copy and revoke, and an album shared with
another user of the server, who finds it under Albums and looks at it without changing anything."""

from __future__ import annotations

import re
import zipfile
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import expect

from conftest import upload
from route_table import settled

from .conftest import DESKTOP, PHONE
from .flows import nav, tile, viewer_action
from .photos import generated_photos

VIEWPORTS = pytest.mark.parametrize("viewport", [PHONE, DESKTOP], ids=["phone", "desktop"])


def _library(user, seed: int, count: int = 5) -> list[str]:
    """Generated photos (five days over two years), processed; their ids newest first."""
    made = []
    for photo in generated_photos(seed)[:count]:
        answer = upload(user, photo.body, filename=photo.name, modified_at=photo.taken.isoformat() + "Z")
        assert answer.status_code == 201, answer.text
        made.append(answer.json()["id"])
    for asset_id in made:
        settled(user, asset_id)
    return made


def _album(user, title: str, asset_ids: list[str]) -> str:
    album = user.http.post("/albums", json={"title": title}).json()["id"]
    user.http.put(f"/albums/{album}/assets", json={"asset_ids": asset_ids})
    return album


def _link(user, **body) -> str:
    answer = user.http.post("/shares", json=body)
    assert answer.status_code == 201, answer.text
    return urlsplit(answer.json()["url"]).path


@VIEWPORTS
def test_a_link_opens_without_an_account_and_its_photos_download(browse, accounts, viewport):
    owner = accounts.create(name="link-owner")
    assets = _library(owner, 9601, 4)
    path = _link(owner, album_id=_album(owner, "Summer in the hills", assets))
    visit = browse(viewport)  # nobody signed in
    page = visit.page
    answer = page.goto(path)
    assert answer.headers["referrer-policy"] == "no-referrer"
    expect(page.get_by_role("heading", name="Summer in the hills")).to_be_visible()
    expect(page.get_by_text("4 items")).to_be_visible()
    expect(page.get_by_role("navigation", name="Main")).to_have_count(0)  # no account, no app
    tiles = page.locator(".share-tile img")
    expect(tiles).to_have_count(4)
    page.wait_for_function("() => [...document.querySelectorAll('.share-tile img')].every(i => i.naturalWidth > 0)")
    visit.screenshot(f"share-link-grid-{viewport['width']}")

    page.locator(f"#t-{assets[1]} a").click()
    expect(page).to_have_url(re.compile(f"{path}/photos/{assets[1]}$"))
    expect(page.locator("#stage img")).to_be_visible()
    page.wait_for_function("() => document.querySelector('#stage img').naturalWidth > 0")
    visit.screenshot(f"share-link-viewer-{viewport['width']}")
    with page.expect_download() as downloading:
        page.get_by_role("link", name="Download", exact=True).click()
    assert downloading.value.suggested_filename == "IMG_20210704_103000.jpg"
    page.wait_for_load_state()
    page.keyboard.press("ArrowRight")  # the older one
    expect(page).to_have_url(re.compile(f"{path}/photos/{assets[2]}$"))
    page.wait_for_load_state()
    page.keyboard.press("Escape")
    expect(page).to_have_url(re.compile(f"{path}#t-{assets[2]}$"))

    with page.expect_download() as downloading:
        page.get_by_role("link", name="Download all").click()
    download = downloading.value
    assert download.suggested_filename == "Summer in the hills.zip"
    with zipfile.ZipFile(download.path()) as archive:
        assert sorted(archive.namelist()) == ["IMG_20210630_211500.jpg", "IMG_20210702_080000.jpg",
                                              "IMG_20210704_103000.jpg", "IMG_20210704_180500.jpg"]
        assert archive.testzip() is None
    assert visit.errors == []


def test_a_link_with_a_password_asks_for_it_first(browse, accounts):
    owner = accounts.create(name="link-password")
    assets = _library(owner, 9611, 2)
    path = _link(owner, asset_ids=assets, title="Only for family", password="grandma's garden")
    visit = browse(PHONE)
    page = visit.page
    page.goto(path)
    expect(page.get_by_role("heading", name="Shared link")).to_be_visible()
    expect(page.get_by_text("Only for family")).to_have_count(0)
    page.get_by_label("Password").fill("a guess")
    page.get_by_role("button", name="Open").click()
    expect(page.get_by_role("alert")).to_have_text("That is not the password of this link.")
    visit.screenshot("share-link-password-360")
    page.get_by_label("Password").fill("grandma's garden")
    page.get_by_role("button", name="Open").click()
    expect(page.get_by_role("heading", name="Only for family")).to_be_visible()
    expect(page.locator(".share-tile")).to_have_count(2)
    assert visit.errors == []


@VIEWPORTS
def test_sharing_an_album_by_link_then_revoking_it(browse, accounts, viewport):
    owner = accounts.create(name="album-link")
    assets = _library(owner, 9621, 3)
    album = _album(owner, "Garden party", assets)
    visit = browse(viewport)
    visit.sign_in(owner)
    page = visit.page
    nav(page, "Albums")
    page.get_by_role("link", name=re.compile("Garden party")).click()
    page.locator("#sharing > summary").click()
    expect(page.get_by_role("heading", name="By link")).to_be_visible()
    visit.screenshot(f"share-album-panel-{viewport['width']}")
    page.get_by_label("Expires").select_option(label="After a week")
    page.get_by_role("button", name="Create link").click()
    expect(page).to_have_url(re.compile("/shared$"))
    issued = page.locator("#new-link")
    expect(issued).to_contain_text("Link to “Garden party” — shown this once")
    url = page.get_by_label("Link", exact=True).input_value()
    assert re.fullmatch(r"http://127\.0\.0\.1:\d+/s/[A-Za-z0-9_-]{43}", url), url
    page.get_by_role("button", name="Copy link").click()
    expect(page.get_by_role("button", name=re.compile("Copied|Press Ctrl\\+C"))).to_be_visible()
    row = page.locator(".share-link")
    expect(row).to_have_count(1)
    expect(row).to_contain_text("Album · 3 items")
    expect(row.locator(".tag")).to_contain_text(["Until"])
    visit.screenshot(f"shared-links-{viewport['width']}")

    stranger = browse(viewport)
    stranger.page.goto(url)
    expect(stranger.page.locator(".share-tile")).to_have_count(3)
    page.get_by_role("button", name="Revoke the link to Garden party").click()
    expect(page.locator(".flash-ok")).to_have_text("Link revoked: it no longer opens, for anyone.")
    expect(page.locator(".share-link")).to_have_count(0)
    stranger.page.reload()
    expect(stranger.page.get_by_role("heading", name="Not found")).to_be_visible()
    assert owner.http.get("/shares").json() == [] and album
    assert visit.errors == [] and stranger.errors == []


@VIEWPORTS
def test_sharing_a_selection_from_the_timeline(browse, accounts, viewport):
    owner = accounts.create(name="selection-link")
    assets = _library(owner, 9631, 3)
    visit = browse(viewport)
    visit.sign_in(owner)
    page = visit.page
    page.wait_for_load_state()
    for asset_id in assets[:2]:
        page.locator(f"#pick-{asset_id}").check()
    expect(page.locator("[data-count]")).to_have_text("2")
    visit.screenshot(f"share-selection-bar-{viewport['width']}")
    page.locator("#selection").get_by_role("button", name="Share").click()
    expect(page.get_by_role("heading", name="Share 2 items by link")).to_be_visible()
    page.get_by_label("Title").fill("Two from July")
    visit.screenshot(f"share-selection-{viewport['width']}")
    page.get_by_role("button", name="Create link").click()
    url = page.get_by_label("Link", exact=True).input_value()
    expect(page.locator(".share-link")).to_contain_text("Selection · 2 items")
    viewer = browse(PHONE)
    viewer.page.goto(url)
    expect(viewer.page.get_by_role("heading", name="Two from July")).to_be_visible()
    expect(viewer.page.locator(".share-tile")).to_have_count(2)
    for asset_id in assets[:2]:
        expect(viewer.page.locator(f"#t-{asset_id}")).to_have_count(1)
    assert visit.errors == [] and viewer.errors == []


@VIEWPORTS
def test_an_album_shared_with_another_user_is_theirs_to_look_at(browse, accounts, viewport):
    owner, friend = accounts.create(name="sharing-owner"), accounts.create(name="sharing-friend")
    assets = _library(owner, 9641, 3)
    album = _album(owner, "Grandpa's 80th", assets)
    visit = browse(viewport)
    visit.sign_in(owner)
    page = visit.page
    page.goto(f"/albums/{album}")
    page.locator("#sharing > summary").click()
    page.get_by_label("Email").fill(friend.email)
    page.get_by_label("They").select_option(label="can view")
    page.get_by_role("button", name="Share with them").click()
    expect(page.locator(".flash-ok")).to_have_text(f"Shared with {friend.email}: can view.")
    expect(page.locator(".member")).to_contain_text(friend.email)
    visit.screenshot(f"share-album-people-{viewport['width']}")

    guest = browse(viewport)
    guest.sign_in(friend)
    guest_page = guest.page
    nav(guest_page, "Albums")
    expect(guest_page.get_by_role("heading", name="Shared with you")).to_be_visible()
    guest_page.wait_for_function("() => [...document.querySelectorAll('.album-card img')].every(i => i.naturalWidth)")
    guest.screenshot(f"albums-shared-with-you-{viewport['width']}")
    guest_page.get_by_role("link", name=re.compile("Grandpa's 80th")).click()
    expect(guest_page.get_by_text(f"shared with you by {owner.email}: you can view it")).to_be_visible()
    for asset_id in assets:
        expect(tile(guest_page, asset_id)).to_have_count(1)
    expect(guest_page.locator("#selection")).to_have_count(0)  # a viewer changes nothing
    guest.screenshot(f"shared-with-you-album-{viewport['width']}")
    tile(guest_page, assets[0]).locator("a.thumb").click()
    expect(guest_page.locator("#stage img")).to_be_visible()
    expect(guest_page.get_by_role("button", name="Trash")).to_have_count(0)
    expect(guest_page.get_by_role("button", name=re.compile("Favourite"))).to_have_count(0)
    expect(viewer_action(guest_page, "link", "Download")).to_be_visible()
    guest_page.get_by_role("link", name="← Back").click()
    guest_page.get_by_role("button", name="Leave album").click()
    expect(guest_page.locator(".flash-ok")).to_contain_text("You left the album")
    expect(guest_page.get_by_role("heading", name="Shared with you")).to_have_count(0)
    assert owner.http.get(f"/albums/{album}/members").json() == []
    assert visit.errors == [] and guest.errors == []
