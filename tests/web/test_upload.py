"""Uploads from the browser: a large file goes over tus in chunks, a file that is no photo is refused
with the server's reason, and the same bytes again are reported as a duplicate."""

from __future__ import annotations

import datetime as dt
import hashlib

from playwright.sync_api import expect

from .flows import drop_files, nav
from .photos import Photo, generated_jpeg, large_photo


def test_a_large_file_goes_over_tus_and_again_is_a_duplicate(browse, accounts, tmp_path):
    user = accounts.create(name="large")
    visit = browse()
    visit.sign_in(user)
    nav(visit.page, "Upload")
    photo = large_photo()
    path = tmp_path / photo.name  # handed over by path: 17 MiB through the driver's pipe would take long
    path.write_bytes(photo.body)
    visit.page.get_by_label("Drop photos and videos here").set_input_files(path)
    item = visit.page.locator("#upload-list li").first
    expect(item).to_have_attribute("data-state", "done")
    assert item.get_attribute("data-method") == "tus"
    asset = user.http.get(f"/assets/{item.get_attribute('data-asset')}").json()
    assert (asset["size_bytes"], asset["sha1"]) == (len(photo.body), hashlib.sha1(photo.body).hexdigest())
    assert asset["original_filename"] == photo.name

    visit.page.get_by_label("Drop photos and videos here").set_input_files(path)
    again = visit.page.locator("#upload-list li").nth(1)
    expect(again).to_have_attribute("data-state", "duplicate")
    expect(again.locator(".state")).to_have_text("already in your library (duplicate)")
    assert again.get_attribute("data-asset") == asset["id"]
    assert visit.errors == []


def test_a_file_that_is_no_photo_is_refused_with_the_reason(browse, accounts):
    user = accounts.create(name="refused")
    visit = browse()
    visit.sign_in(user)
    nav(visit.page, "Upload")
    good = Photo("IMG_good.jpg", generated_jpeg(901, dt.datetime(2022, 1, 1, 9, 0)), dt.datetime(2022, 1, 1, 9, 0))
    drop_files(visit.page, [good, Photo("notes.jpg", b"not a photo at all\n" * 50, good.taken)])
    refused = visit.page.locator('#upload-list li[data-state="failed"]')
    expect(refused).to_contain_text("not a photo or video")
    expect(visit.page.locator('#upload-list li[data-state="done"]')).to_have_count(1)
    expect(visit.page.locator("#overall-text")).to_contain_text("2 of 2 files")
    expect(visit.page.locator("#overall-text")).to_contain_text("1 failed")
    assert user.http.get("/me").json()["asset_count"] == 1
