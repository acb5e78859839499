"""The timeline in Chromium at 360 px and 390 px (phones) and 1280 px (desktop): justified rows that pack
several days into one row under their date labels and keep each photo's shape (a wide, a tall and an EXIF-turned
photo measured on the page), and the year and month scrubber beside it: dragged by mouse or finger (or moved with
the keys) it names the month under the pointer and jumps there, loading that month's page or scrolling to a month
already loaded; nothing wider than a phone."""

from __future__ import annotations

import datetime as dt
import io
import re
import time
from pathlib import Path

import pytest
from PIL import ExifTags, Image
from playwright.sync_api import expect

import phonecloud.web
from conftest import upload

from .conftest import DESKTOP, PHONE
from .library_rows import add_rows
from .photos import generated_jpeg

PHONE_390 = {"width": 390, "height": 844}
WIDTHS = pytest.mark.parametrize("viewport", [PHONE, PHONE_390, DESKTOP], ids=["360", "390", "1280"])

# Photos of six days of May 2024 (wall clock, as their EXIF says): name → (taken, stored size, EXIF orientation).
SHOTS = {
    "wide.jpg": (dt.datetime(2024, 5, 20, 10, 0), (1200, 400), 1),
    "normal-20.jpg": (dt.datetime(2024, 5, 20, 9, 0), (640, 480), 1),
    "tall.jpg": (dt.datetime(2024, 5, 19, 12, 0), (400, 900), 1),
    "normal-18.jpg": (dt.datetime(2024, 5, 18, 12, 0), (640, 480), 1),
    "turned.jpg": (dt.datetime(2024, 5, 17, 12, 0), (640, 480), 6),  # stored landscape, shown upright: 3:4
    "normal-16a.jpg": (dt.datetime(2024, 5, 16, 12, 0), (640, 480), 1),
    "normal-16b.jpg": (dt.datetime(2024, 5, 16, 11, 0), (480, 640), 1),
    "square.jpg": (dt.datetime(2024, 5, 15, 12, 0), (500, 500), 1),
}
SHOWN = {"wide.jpg": 3.0, "tall.jpg": 400 / 900, "turned.jpg": 0.75, "square.jpg": 1.0, "normal-16b.jpg": 0.75}


def photo(seed: int, taken: dt.datetime, size: tuple[int, int], orientation: int) -> bytes:
    body = generated_jpeg(seed, taken, size)
    if orientation == 1:
        return body
    image = Image.open(io.BytesIO(body))
    exif = image.getexif()
    exif[ExifTags.Base.Orientation] = orientation
    exif.get_ifd(ExifTags.IFD.Exif)[ExifTags.Base.DateTimeOriginal] = taken.strftime("%Y:%m:%d %H:%M:%S")
    turned = io.BytesIO()
    image.save(turned, "JPEG", exif=exif, quality=85)
    return turned.getvalue()


@pytest.fixture(scope="module")
def photographer(accounts):
    member = accounts.create(name="rows")
    ids = {name: upload(member, photo(8100 + number, *shot), filename=name).json()["id"]
           for number, (name, shot) in enumerate(SHOTS.items())}
    deadline = time.monotonic() + 90
    for asset_id in ids.values():
        while member.http.get(f"/assets/{asset_id}").json()["media"]["state"] == "pending":
            assert time.monotonic() < deadline, "the media pipeline did not read the photos"
            time.sleep(0.2)
    return member, ids


# Every tile and day label of the grid as the page lays them out, and the grid's own box.
LAID_OUT = """() => {
  const box = (element) => { const r = element.getBoundingClientRect();
    return { x: r.left, y: r.top, w: r.width, h: r.height, right: r.right, bottom: r.bottom }; };
  return {
    grid: box(document.getElementById("grid")),
    tiles: Array.from(document.querySelectorAll("#grid .tile")).map((tile) => ({
      id: tile.dataset.id, day: tile.closest(".day").dataset.day, ...box(tile) })),
    labels: Array.from(document.querySelectorAll("#grid .day-title")).map((label) => ({
      day: label.closest(".day").dataset.day, text: label.textContent, ...box(label) })),
  };
}"""


def rows_of(tiles: list[dict]) -> list[list[dict]]:
    rows: dict[int, list[dict]] = {}
    for each in tiles:
        rows.setdefault(round(each["y"]), []).append(each)
    return [sorted(row, key=lambda each: each["x"]) for _, row in sorted(rows.items())]


@WIDTHS
def test_days_share_justified_rows_that_keep_each_photos_shape(browse, photographer, viewport):
    member, ids = photographer
    names = {asset_id: name for name, asset_id in ids.items()}
    visit = browse(viewport=viewport)
    visit.sign_in(member)
    page = visit.page
    expect(page.locator("#grid.justified")).to_have_count(1)
    expect(page.locator(f"#t-{ids['turned.jpg']}")).to_have_attribute("data-w", "480")  # turned upright
    expect(page.locator(f"#t-{ids['turned.jpg']}")).to_have_attribute("data-h", "640")
    laid = page.evaluate(LAID_OUT)
    grid, tiles = laid["grid"], laid["tiles"]
    assert len(tiles) == len(SHOTS)
    rows = rows_of(tiles)

    # Each photo keeps its shape (within a pixel of rounding), and a row's photos share its height.
    for each in tiles:
        ratio = SHOWN.get(names[each["id"]], 4 / 3)
        assert abs(each["w"] - ratio * each["h"]) <= 1.5, (names[each["id"]], each, ratio)
    for row in rows:
        assert max(each["h"] for each in row) - min(each["h"] for each in row) <= 1
        assert abs(row[0]["x"] - grid["x"]) <= 1
        for left, right in zip(row, row[1:]):
            assert 2 <= right["x"] - left["right"] <= 5  # a small gap, never an overlap
    for row in rows[:-1]:  # every row but the month's last ends flush with the grid's right edge
        assert abs(row[-1]["right"] - grid["right"]) <= 1, row
    for upper, lower in zip(rows, rows[1:]):
        assert lower[0]["y"] >= upper[0]["bottom"] + 2
    # Days are packed: a row holds photos of several days, and the six days take fewer rows than days.
    assert any(len({each["day"] for each in row}) >= 2 for row in rows)
    assert len(rows) < 6

    # Each day's label sits over its first photo, in the band above that photo's row, and names the day.
    first = {}
    for each in tiles:
        first.setdefault(each["day"], each)
    assert [label["day"] for label in laid["labels"]] == list(first)
    for label in laid["labels"]:
        start = first[label["day"]]
        assert abs(label["x"] - start["x"]) <= 1 and label["bottom"] <= start["y"] + 1
        assert start["y"] - label["y"] <= 40 and label["w"] > 0
        day = dt.date.fromisoformat(label["day"])
        assert label["text"] == f"{day:%a %-d %b}"
        visible = page.locator(f'section.day[data-day="{label["day"]}"] .day-title')
        expect(visible).to_be_visible()
        assert visible.inner_text().startswith(f"{day:%a %-d}")
    assert page.evaluate("document.documentElement.scrollWidth") <= viewport["width"]
    visit.screenshot(f"timeline-rows-{viewport['width']}")

    # Selection and the viewer work on the justified grid as on the square one.
    page.wait_for_load_state()
    page.locator(f"#t-{ids['tall.jpg']} .thumb").click(modifiers=["Shift"])
    expect(page.locator("[data-count]")).to_have_text("1")
    page.keyboard.press("Escape")
    page.locator(f"#t-{ids['wide.jpg']} .thumb").click()
    expect(page).to_have_url(re.compile(rf"/photos/{ids['wide.jpg']}$"))
    page.wait_for_load_state()
    page.keyboard.press("Escape")  # back to the timeline at the photo, laid out in its row
    expect(page).to_have_url(re.compile(rf"/\?date=2024-05-20#t-{ids['wide.jpg']}$"))
    expect(page.locator(f"#t-{ids['wide.jpg']}")).to_be_in_viewport()
    assert visit.errors == []


@pytest.fixture(scope="module")
def years_of_photos(accounts):
    member = accounts.create(name="years")
    add_rows(accounts.services, member.email, 400, spacing=dt.timedelta(days=5))  # June 2024 back to 2019
    return member


def rail_ready(page):
    """The rail once its months are in, and their names as the API gives them."""
    expect(page.locator("#scrubber")).to_be_visible()
    expect(page.locator(".scrubber-year").first).to_be_visible()
    return page.locator(".scrubber-track")


def settled(page) -> None:
    """Two frames: pointer moves reach the page once a frame."""
    page.evaluate("new Promise((done) => requestAnimationFrame(() => requestAnimationFrame(done)))")


MONTH = re.compile(r"^(January|February|March|April|May|June|July|August|September|October|November|December) "
                   r"(\d{4})$")


def month_key(name: str) -> str:
    return dt.datetime.strptime(name, "%B %Y").strftime("%Y-%m")


def test_the_scrubber_counts_months_without_listing_the_library(browse, years_of_photos):
    visit = browse()
    visit.sign_in(years_of_photos)
    months = visit.context.request.get("/api/v1/timeline/months").json()["months"]
    assert months[0] == {"month": "2024-06", "count": 6} and months[-1]["month"].startswith("2019")
    assert sum(month["count"] for month in months) == 400
    assert [month["month"] for month in months] == sorted((month["month"] for month in months), reverse=True)
    track = rail_ready(visit.page)
    years = visit.page.locator(".scrubber-year").all_inner_texts()
    assert years[0] == "2024" and years == sorted(years, reverse=True) and "2019" in years
    assert track.get_attribute("aria-valuetext") == "June 2024"
    assert track.get_attribute("aria-valuemax") == str(len(months) - 1)


def test_dragging_the_scrubber_with_the_mouse_jumps_to_the_month_it_names(browse, years_of_photos):
    visit = browse()
    visit.sign_in(years_of_photos)
    page = visit.page
    track = rail_ready(page)
    box = track.bounding_box()
    x = box["x"] + box["width"] / 2
    page.mouse.move(x, box["y"] + box["height"] * 0.3)  # pointing shows the month there
    settled(page)
    bubble = page.locator(".scrubber-bubble")
    expect(bubble).to_be_visible()
    assert MONTH.match(bubble.inner_text())
    page.mouse.down()
    page.mouse.move(x, box["y"] + box["height"] * 0.7, steps=5)
    settled(page)
    name = bubble.inner_text()
    assert MONTH.match(name) and month_key(name) < "2022-01"
    visit.screenshot("scrubber-dragging-1280")
    page.mouse.up()
    expect(page).to_have_url(re.compile(rf"/\?date={month_key(name)}-\d\d$"))
    expect(page.locator(".month-title").first).to_have_text(name)
    expect(rail_ready(page)).to_have_attribute("aria-valuetext", name)
    assert visit.errors == []


def test_the_scrubber_scrolls_to_a_month_already_loaded_from_the_keyboard(browse, years_of_photos):
    visit = browse()
    visit.sign_in(years_of_photos)
    page = visit.page
    track = rail_ready(page)
    track.focus()
    for _ in range(2):
        page.keyboard.press("ArrowDown")
    expect(track).to_have_attribute("aria-valuetext", "April 2024")
    expect(page.locator(".scrubber-bubble")).to_have_text("April 2024")
    page.keyboard.press("Enter")
    april = page.locator('section.month[data-month="2024-04"]')
    expect(track).to_have_attribute("aria-valuetext", "April 2024")  # the mark follows the page
    assert abs(april.bounding_box()["y"]) <= 2
    assert page.url.endswith("/")  # scrolled, not loaded again
    page.keyboard.press("End")
    expect(track).to_have_attribute("aria-valuetext", re.compile(r" 2019$"))
    assert visit.errors == []


@pytest.mark.parametrize("viewport", [PHONE, PHONE_390], ids=["360", "390"])
def test_a_finger_dragged_along_the_scrubber_jumps_to_the_month_it_names(browse, years_of_photos, viewport):
    visit = browse(viewport=viewport)
    visit.sign_in(years_of_photos)
    page = visit.page
    track = rail_ready(page)
    box = track.bounding_box()
    assert box["width"] >= 30 and box["x"] + box["width"] <= viewport["width"]  # a finger's width, on screen
    grid = page.locator("#grid").bounding_box()
    assert grid["x"] + grid["width"] <= box["x"]  # beside the photos, not over them
    bar = page.get_by_role("navigation", name="Main").bounding_box()  # the bar at the bottom (the top one is hidden)
    assert box["y"] + box["height"] <= bar["y"]  # and above the navigation at the bottom of a phone's screen
    touch = visit.context.new_cdp_session(page)
    x = box["x"] + box["width"] / 2

    def finger(kind: str, fraction: float | None = None) -> None:
        points = [] if fraction is None else [{"x": x, "y": box["y"] + box["height"] * fraction}]
        touch.send("Input.dispatchTouchEvent", {"type": kind, "touchPoints": points})

    finger("touchStart", 0.05)
    for fraction in (0.2, 0.35, 0.5):
        finger("touchMove", fraction)
    settled(page)
    name = page.locator(".scrubber-bubble").inner_text()
    assert MONTH.match(name) and month_key(name) < "2023-01"
    assert page.evaluate("window.scrollY") == 0  # the drag moved the rail's pointer, not the page
    visit.screenshot(f"scrubber-touch-{viewport['width']}")
    finger("touchEnd")
    expect(page).to_have_url(re.compile(rf"/\?date={month_key(name)}-\d\d$"))
    expect(page.locator(".month-title").first).to_have_text(name)
    rail_ready(page)
    assert page.evaluate("document.documentElement.scrollWidth") <= viewport["width"]
    assert visit.errors == []


def test_pages_fetched_while_scrolling_join_the_rows(browse, years_of_photos):
    visit = browse(viewport=PHONE_390)
    visit.sign_in(years_of_photos)
    page = visit.page
    tiles = page.locator(".tile")
    expect(tiles).to_have_count(120)
    page.locator("#more").scroll_into_view_if_needed()
    expect(tiles).to_have_count(240)
    laid = page.evaluate(LAID_OUT)
    grid = laid["grid"]
    months = page.evaluate("""() => Array.from(document.querySelectorAll('#grid > .month')).map((month) => {
      const r = month.getBoundingClientRect(); return { key: month.dataset.month, top: r.top, bottom: r.bottom }; })""")
    for upper, lower in zip(months, months[1:]):
        assert lower["top"] >= upper["bottom"] - 1  # each month below the one before, fetched or not
    bounds = {month["key"]: month for month in months}
    for each in laid["tiles"]:
        month = bounds[each["day"][:7]]
        assert month["top"] <= each["y"] and each["bottom"] <= month["bottom"] + 1
        assert grid["x"] - 1 <= each["x"] and each["right"] <= grid["right"] + 1 and each["w"] > 20
    for row in rows_of(laid["tiles"]):
        assert len(row) <= 4
    assert visit.errors == []


def test_every_page_fetches_all_its_modules_at_once():
    """base.html preloads exactly the modules app.js imports, directly or not: none is fetched only once the
    module importing it has arrived (behind the first screen's thumbnails), and none is fetched for nothing."""
    web = Path(phonecloud.web.__file__).parent
    preloaded = re.findall(r'<link rel="modulepreload" href="/static/js/([\w-]+\.js)">',
                           (web / "templates" / "base.html").read_text())
    imported: set[str] = set()
    waiting = ["app.js"]
    while waiting:
        source = (web / "static" / "js" / waiting.pop()).read_text()
        for name in re.findall(r'^import .* from "\./([\w-]+\.js)";$', source, re.MULTILINE):
            if name not in imported:
                imported.add(name)
                waiting.append(name)
    assert sorted(preloaded) == sorted(imported), "base.html's modulepreload links should name app.js's imports"
    assert {"justify.js", "scrubber.js"} <= imported
