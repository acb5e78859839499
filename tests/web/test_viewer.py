"""The viewer beyond photos: a video plays from byte ranges of the original, swipes step through the
timeline on a touch screen, and the original downloads under its own name."""

from __future__ import annotations

import hashlib
import re

from playwright.sync_api import expect

from conftest import upload
from media_fixtures import jpeg, mp4

from .conftest import PHONE
from .flows import viewer_action, wait_until_processed


def test_a_video_plays_from_byte_ranges(browse, accounts):
    member = accounts.create(name="video")
    video = upload(member, mp4(frames=20), filename="VID_20230301_101500.mp4").json()["id"]
    visit = browse()
    visit.sign_in(member)
    wait_until_processed(visit, [video])
    ranges = []
    visit.page.on("request", lambda request: "/original" in request.url and ranges.append(request.headers.get("range")))
    with visit.page.expect_response(re.compile(f"/api/v1/assets/{video}/original")) as played:
        visit.page.goto(f"/photos/{video}")
    player = visit.page.locator("video")
    expect(player).to_have_attribute("src", f"/api/v1/assets/{video}/original")
    expect(player).to_have_attribute("poster", f"/api/v1/assets/{video}/preview")
    assert played.value.status == 206 and ranges[0].startswith("bytes=")
    expect(visit.page.locator('.info-row[data-field="duration"] dd')).to_have_text("0:02")


def test_swipes_step_through_the_timeline_and_the_original_downloads(browse, accounts):
    member = accounts.create(name="swipe")
    body = jpeg(7100)
    newer, older = (upload(member, content, filename=name, modified_at=moment).json()["id"]
                    for content, name, moment in ((body, "IMG_newer.jpg", "2023-05-02T10:00:00Z"),
                                                  (jpeg(7101), "IMG_older.jpg", "2023-05-01T10:00:00Z")))
    visit = browse(viewport=PHONE)
    visit.sign_in(member)
    wait_until_processed(visit, [newer, older])
    page = visit.page
    page.goto(f"/photos/{newer}")
    page.wait_for_load_state()

    def swipe(dx: int) -> None:
        for kind, x in (("pointerdown", 200), ("pointerup", 200 + dx)):
            page.dispatch_event("#stage", kind, {"pointerType": "touch", "clientX": x, "clientY": 300,
                                                 "bubbles": True})

    swipe(-150)  # right to left: the next, older photo
    expect(page).to_have_url(re.compile(f"/photos/{older}$"))
    page.wait_for_load_state()
    swipe(+150)
    expect(page).to_have_url(re.compile(f"/photos/{newer}$"))

    with page.expect_download() as downloading:
        viewer_action(page, "link", "Download").click()
    download = downloading.value
    assert download.suggested_filename == "IMG_newer.jpg"
    assert hashlib.sha1(open(download.path(), "rb").read()).hexdigest() == hashlib.sha1(body).hexdigest()
