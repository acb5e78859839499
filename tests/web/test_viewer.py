"""The viewer beyond photos: a video plays from byte ranges of the original, swipes step through the
timeline on a touch screen, and the original downloads under its own name; a photo zooms (issue 23) with two
fingers (CDP touches), a double-tap, ctrl+wheel and a double-click, pans within its edges while zoomed (where a
swipe does not change item), and is back at fit after Escape or on another item."""

from __future__ import annotations

import hashlib
import io
import re

import pytest
from PIL import Image, ImageDraw
from playwright.sync_api import Page, expect

from conftest import upload
from media_fixtures import jpeg, mp4

from .conftest import DESKTOP, PHONE
from .flows import viewer_action, wait_until_processed

PHONE_390 = {"width": 390, "height": 844}


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
    # Not zoomed by the viewer's script: the stage leaves the fingers to the browser
    assert visit.page.locator("#stage").evaluate("(stage) => getComputedStyle(stage).touchAction") == "pan-y pinch-zoom"
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
    page.wait_for_load_state()  # the script has folded the phone's "⋯" menu before the test opens it

    with page.expect_download() as downloading:
        viewer_action(page, "link", "Download").click()
    download = downloading.value
    assert download.suggested_filename == "IMG_newer.jpg"
    assert hashlib.sha1(open(download.path(), "rb").read()).hexdigest() == hashlib.sha1(body).hexdigest()


def checkerboard(seed: int) -> bytes:
    """An 800×600 JPEG of 50 px squares in a red frame: where its edges are shows in a screenshot."""
    image = Image.new("RGB", (800, 600), (240, 240, 240))
    draw = ImageDraw.Draw(image)
    for left in range(0, 800, 50):
        for top in range(0, 600, 50):
            if (left + top) // 50 % 2:
                draw.rectangle((left, top, left + 49, top + 49), fill=(30, 60 + seed % 100, 160))
    draw.rectangle((0, 0, 799, 599), outline=(220, 30, 30), width=12)
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=90)
    return buffer.getvalue()


def open_newer_of_two(browse, accounts, name: str, viewport: dict) -> tuple[Page, str, str, object]:
    """Two checkerboards a day apart; the newer one open in the viewer, its preview loaded."""
    member = accounts.create(name=name)
    newer, older = (upload(member, checkerboard(seed), filename=f"IMG_{seed}.jpg", modified_at=moment).json()["id"]
                    for seed, moment in ((1, "2023-05-02T10:00:00Z"), (2, "2023-05-01T10:00:00Z")))
    visit = browse(viewport=viewport)
    visit.sign_in(member)
    wait_until_processed(visit, [newer, older])
    visit.page.goto(f"/photos/{newer}")
    loaded(visit.page)
    return visit.page, newer, older, visit


def loaded(page: Page) -> None:
    page.wait_for_function("() => { const image = document.querySelector('#stage img');"
                           " return image && image.complete && image.naturalWidth > 0; }")


# The photo's zoom as the page shows it: the image's computed transform, and where the photo itself (the
# image's box less object-fit's bands) and the stage are on the screen.
ZOOM = """() => {
  const image = document.querySelector('#stage img');
  const stage = document.getElementById('stage').getBoundingClientRect();
  const matrix = new DOMMatrix(getComputedStyle(image).transform);
  const box = image.getBoundingClientRect();
  const fit = Math.min(image.clientWidth / image.naturalWidth, image.clientHeight / image.naturalHeight);
  const width = image.naturalWidth * fit * matrix.a, height = image.naturalHeight * fit * matrix.d;
  const x = box.left + box.width / 2, y = box.top + box.height / 2;
  return {scale: matrix.a, x: matrix.e, y: matrix.f,
          photo: {left: x - width / 2, top: y - height / 2, right: x + width / 2, bottom: y + height / 2,
                  width, height},
          stage: {left: stage.left, top: stage.top, right: stage.right, bottom: stage.bottom,
                  x: stage.left + stage.width / 2, y: stage.top + stage.height / 2}};
}"""


def zoom(page: Page) -> dict:
    """The zoom once any animation of it (a double-tap's, Escape's) has ended."""
    page.wait_for_function("() => document.querySelector('#stage img').getAnimations().length === 0")
    return page.evaluate(ZOOM)


def on_photo(state: dict, point: tuple[float, float]) -> tuple[float, float]:
    """Where on the photo (0..1 across, 0..1 down) a point of the screen is."""
    photo = state["photo"]
    return (point[0] - photo["left"]) / photo["width"], (point[1] - photo["top"]) / photo["height"]


def assert_fit(state: dict) -> None:
    """At 1×, the photo centred and whole in the stage (as wide as it, the checkerboard being wider than tall)."""
    photo, stage = state["photo"], state["stage"]
    assert state["scale"] == pytest.approx(1) and state["x"] == 0 and state["y"] == 0
    assert photo["left"] == pytest.approx(stage["left"], abs=1)
    assert photo["right"] == pytest.approx(stage["right"], abs=1)
    assert stage["top"] - 1 <= photo["top"] and photo["bottom"] <= stage["bottom"] + 1


def assert_covers(state: dict) -> None:
    """Zoomed, the photo covers the stage: no empty band beyond any of its edges."""
    photo, stage = state["photo"], state["stage"]
    assert photo["left"] <= stage["left"] + 1 and photo["top"] <= stage["top"] + 1
    assert photo["right"] >= stage["right"] - 1 and photo["bottom"] >= stage["bottom"] - 1


class Fingers:
    """Touches as a touch screen sends them, through the DevTools protocol (pointer events of type touch)."""

    def __init__(self, page: Page):
        self.cdp = page.context.new_cdp_session(page)

    def send(self, kind: str, *points: tuple[float, float]) -> None:
        self.cdp.send("Input.dispatchTouchEvent", {
            "type": kind, "touchPoints": [{"x": x, "y": y, "id": n} for n, (x, y) in enumerate(points)]})

    def pinch(self, centre: tuple[float, float], start: float, end: float, steps: int = 6) -> None:
        """Two fingers across from each other about centre, their distance apart going from start to end."""
        def apart(distance: float) -> list[tuple[float, float]]:
            return [(centre[0] - distance / 2, centre[1]), (centre[0] + distance / 2, centre[1])]
        self.send("touchStart", *apart(start))
        for step in range(1, steps + 1):
            self.send("touchMove", *apart(start + (end - start) * step / steps))
        self.send("touchEnd")

    def drag(self, start: tuple[float, float], end: tuple[float, float], steps: int = 5) -> None:
        self.send("touchStart", start)
        for step in range(1, steps + 1):
            self.send("touchMove", (start[0] + (end[0] - start[0]) * step / steps,
                                    start[1] + (end[1] - start[1]) * step / steps))
        self.send("touchEnd")

    def double_tap(self, point: tuple[float, float]) -> None:
        for _ in range(2):
            self.send("touchStart", point)
            self.send("touchEnd")


@pytest.mark.parametrize("viewport", [PHONE, PHONE_390], ids=["360", "390"])
def test_a_pinch_zooms_about_the_fingers_and_one_finger_then_pans_within_the_edges(browse, accounts, viewport,
                                                                                     tmp_path):
    page, newer, older, visit = open_newer_of_two(browse, accounts, f"pinch{viewport['width']}", viewport)
    fit = zoom(page)
    assert_fit(fit)
    assert page.locator("#stage").evaluate("(stage) => getComputedStyle(stage).touchAction") == "none"
    stage = fit["stage"]
    centre = (stage["x"], stage["y"])
    fingers = Fingers(page)

    between = (stage["x"] - 50, stage["y"] + 30)
    fingers.pinch(between, 40, 120)  # spread to three times as far apart
    zoomed = zoom(page)
    assert zoomed["scale"] == pytest.approx(3, rel=0.01)
    assert on_photo(zoomed, between) == pytest.approx(on_photo(fit, between), abs=0.005)  # zoomed about the fingers
    assert_covers(zoomed)
    assert page.evaluate("visualViewport.scale") == 1  # the photo zoomed, not the page
    shot = tmp_path / f"zoomed-{viewport['width']}.png"
    page.screenshot(path=str(shot))
    visit.screenshot(f"viewer-pinched-{viewport['width']}")

    # One finger pans the zoomed photo: dragged far, it stops with the photo's corner at the stage's
    fingers.drag(centre, (centre[0] + 900, centre[1] + 900))
    panned = zoom(page)
    assert panned["photo"]["left"] == pytest.approx(stage["left"], abs=1)
    assert panned["photo"]["top"] == pytest.approx(stage["top"], abs=1)
    assert panned["scale"] == pytest.approx(3, rel=0.01)
    page.screenshot(path=str(tmp_path / f"corner-{viewport['width']}.png"))

    # A swipe to the older item, while zoomed, pans instead
    fingers.drag((200, centre[1]), (50, centre[1]), steps=2)
    page.wait_for_timeout(500)
    assert page.url.endswith(f"/photos/{newer}")
    swiped = zoom(page)
    assert swiped["photo"]["left"] == pytest.approx(stage["left"] - 150, abs=1)
    assert swiped["photo"]["top"] == pytest.approx(stage["top"], abs=1)

    fingers.drag(centre, (centre[0] - 2000, centre[1] - 2000))
    other_corner = zoom(page)
    assert other_corner["photo"]["right"] == pytest.approx(stage["right"], abs=1)
    assert other_corner["photo"]["bottom"] == pytest.approx(stage["bottom"], abs=1)
    assert_covers(other_corner)

    # Pinched in beyond fit, it stops at fit, and a swipe steps to the older item again
    fingers.pinch(centre, 200, 20)
    assert_fit(zoom(page))
    fingers.drag((250, centre[1]), (80, centre[1]), steps=2)
    expect(page).to_have_url(re.compile(f"/photos/{older}$"))
    loaded(page)
    assert_fit(zoom(page))
    assert visit.errors == []


def test_a_double_tap_zooms_at_the_tapped_point_and_back_and_another_item_opens_at_fit(browse, accounts):
    page, newer, older, visit = open_newer_of_two(browse, accounts, "doubletap", PHONE)
    fit = zoom(page)
    stage = fit["stage"]
    tapped = (stage["x"] - 60, stage["y"] + 30)
    fingers = Fingers(page)

    fingers.double_tap(tapped)
    zoomed = zoom(page)
    assert zoomed["scale"] == pytest.approx(2.5)
    assert on_photo(zoomed, tapped) == pytest.approx(on_photo(fit, tapped), abs=0.005)
    assert_covers(zoomed)
    fingers.double_tap(tapped)
    assert_fit(zoom(page))

    fingers.send("touchStart", tapped)  # a single tap leaves it be
    fingers.send("touchEnd")
    page.wait_for_timeout(400)
    assert_fit(zoom(page))

    fingers.double_tap(tapped)
    assert zoom(page)["scale"] == pytest.approx(2.5)
    page.keyboard.press("Escape")  # leaves the zoom, on the same item
    assert_fit(zoom(page))
    assert page.url.endswith(f"/photos/{newer}")

    fingers.double_tap(tapped)
    assert zoom(page)["scale"] == pytest.approx(2.5)
    page.locator(".step-older").click()
    expect(page).to_have_url(re.compile(f"/photos/{older}$"))
    loaded(page)
    assert_fit(zoom(page))
    page.go_back()  # from the browser's back-forward cache or not, back at fit
    expect(page).to_have_url(re.compile(f"/photos/{newer}$"))
    loaded(page)
    assert_fit(zoom(page))
    assert visit.errors == []


def test_on_a_desktop_ctrl_wheel_and_a_double_click_zoom_and_the_mouse_pans(browse, accounts):
    page, newer, older, visit = open_newer_of_two(browse, accounts, "wheel", DESKTOP)
    fit = zoom(page)
    stage = fit["stage"]
    pointer = (stage["x"] + 120, stage["y"] - 80)
    page.mouse.move(*pointer)
    page.keyboard.down("Control")  # a trackpad's pinch reaches the page as wheel events with ctrlKey
    for _ in range(3):
        page.mouse.wheel(0, -100)
    page.keyboard.up("Control")
    zoomed = zoom(page)
    assert zoomed["scale"] == pytest.approx(2 ** 1.5, rel=0.01)
    assert on_photo(zoomed, pointer) == pytest.approx(on_photo(fit, pointer), abs=0.005)
    assert page.evaluate("visualViewport.scale") == 1 and page.evaluate("devicePixelRatio") == 1
    assert_covers(zoomed)

    page.mouse.wheel(0, 60)  # without ctrl, the wheel pans the zoomed photo
    wheeled = zoom(page)
    assert wheeled["y"] == pytest.approx(zoomed["y"] - 60, abs=1)

    page.mouse.move(stage["left"] + 30, pointer[1])  # so does a drag, on over the info panel, to the photo's edge
    page.mouse.down()
    page.mouse.move(1270, pointer[1], steps=4)
    page.mouse.up()
    dragged = zoom(page)
    assert dragged["photo"]["left"] == pytest.approx(stage["left"], abs=1)
    assert dragged["y"] == pytest.approx(wheeled["y"], abs=1)
    assert page.evaluate("String(getSelection())") == ""  # nothing on the page selected by the drag
    assert page.url.endswith(f"/photos/{newer}")

    page.mouse.dblclick(*pointer)
    assert_fit(zoom(page))
    page.mouse.dblclick(*pointer)
    clicked = zoom(page)
    assert clicked["scale"] == pytest.approx(2.5)
    assert on_photo(clicked, pointer) == pytest.approx(on_photo(fit, pointer), abs=0.005)

    page.keyboard.press("Escape")
    assert_fit(zoom(page))
    assert page.url.endswith(f"/photos/{newer}")
    page.mouse.dblclick(*pointer)
    assert zoom(page)["scale"] == pytest.approx(2.5)
    page.keyboard.press("ArrowRight")  # to the older item, at fit
    expect(page).to_have_url(re.compile(f"/photos/{older}$"))
    loaded(page)
    assert_fit(zoom(page))
    page.keyboard.press("Escape")  # at fit, Escape goes back to the timeline
    expect(page).not_to_have_url(re.compile("/photos/"))
    assert visit.errors == []
