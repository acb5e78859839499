"""The map page in Chromium at phone and desktop widths: the owner's photos with a place drawn as clusters and
photos over a plain graticule (no request leaves the server), a cluster's click zooms into it, a photo's opens
the viewer; with an operator's tile server configured (a small one of the test's own), its tiles are drawn
under the markers, with its attribution, and the page's Content-Security-Policy allows that server only."""

from __future__ import annotations

import io
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from PIL import Image
from playwright.sync_api import expect

from conftest import SHARED_SERVER_ENV, Accounts, Server, upload
from phonecloud.web.pages import CONTENT_SECURITY_POLICY

from .conftest import DESKTOP, PHONE
from .flows import wait_until_processed
from .map_places import PARIS, ROME, SYDNEY, add_rows, gps_jpeg

PHONE_390 = {"width": 390, "height": 844}


def traveller(accounts, browse, viewport):
    """A user with a real photo in Sydney, 30 stand-ins around Paris and 20 around Rome, signed in."""
    owner = accounts.create(name="traveller")
    visit = browse(viewport)
    visit.sign_in(owner)
    sydney = upload(owner, gps_jpeg(*SYDNEY, 1), filename="IMG_sydney.jpg").json()["id"]
    near = lambda place, number: (place[0] + number * 0.002, place[1] + number * 0.003)  # noqa: E731
    add_rows(accounts.services, owner.email, [near(PARIS, n) for n in range(30)] + [near(ROME, n) for n in range(20)])
    assert wait_until_processed(visit, [sydney])[sydney]["media"]["state"] == "ready"
    return owner, sydney, visit


def counts(page) -> list[int]:
    return sorted(int(count) for count in page.locator(".map-markers > *").evaluate_all(
        "nodes => nodes.map(node => node.dataset.count)"))


def until(page, expression: str, timeout: float = 15) -> None:
    """Waits for a condition on the page's map (`view`): polled from here, since the page's
    Content-Security-Policy refuses the eval that Playwright's wait_for_function needs."""
    deadline = time.monotonic() + timeout
    while not page.evaluate(f"(view => Boolean({expression}))(document.getElementById('map').mapView)"):
        assert time.monotonic() < deadline, (expression, page.url, page.evaluate(
            "(view => [view.zoom, view.clusterZoom, view.x, view.y])(document.getElementById('map').mapView)"))
        time.sleep(0.1)


def zoom_of(page) -> float:
    return page.evaluate("document.getElementById('map').mapView.zoom")


@pytest.mark.parametrize("viewport", [PHONE, DESKTOP], ids=["phone", "desktop"])
def test_clusters_zoom_in_on_a_click_and_a_photo_opens_the_viewer(accounts, browse, viewport):
    owner, sydney, visit = traveller(accounts, browse, viewport)
    page = visit.page
    away = []
    page.on("request", lambda request: request.url.startswith(visit.server.url) or away.append(request.url))
    response = page.goto("/map")
    assert response.headers["content-security-policy"] == CONTENT_SECURITY_POLICY
    expect(page.locator("nav a[aria-current=page]").first).to_have_text("Map")
    photo = page.locator(f".map-photo[data-id='{sydney}']")
    expect(photo).to_be_visible()
    expect(photo.locator("img")).to_have_js_property("complete", True)
    assert page.locator(".map-cluster").count() >= 1
    assert sum(counts(page)) == 51  # the whole library is in view: every photo counted once
    visit.screenshot(f"map-{viewport['width']}-world")

    biggest = max(page.locator(".map-cluster").all(), key=lambda node: int(node.get_attribute("data-count")))
    before, largest = zoom_of(page), int(biggest.get_attribute("data-count"))
    biggest.click()
    until(page, f"view.zoom > {before + 0.9}")
    # The clusters of the closer zoom: the one clicked is in view and split, or smaller for its neighbours gone.
    until(page, "view.clusterZoom === Math.round(view.zoom)")
    expect(page.locator(".map-markers > *:not([hidden])").first).to_be_visible()
    shown = [int(node.get_attribute("data-count")) for node in page.locator(".map-markers > *:not([hidden])").all()]
    assert shown and max(shown) <= largest and (len(shown) > 1 or max(shown) < 51), shown
    visit.screenshot(f"map-{viewport['width']}-zoomed")

    page.reload()  # the view is kept in the address: back where it was
    until(page, "view.zoom > 3")
    page.goto("/map#1/0/150")  # the same page: the address alone moves the map
    photo = page.locator(f".map-photo[data-id='{sydney}']")
    expect(photo).to_be_visible()
    photo.click()
    page.wait_for_url(f"**/photos/{sydney}")
    assert away == [] and visit.errors == []


def test_dragging_and_the_wheel_move_and_zoom_the_map(accounts, browse):
    owner, sydney, visit = traveller(accounts, browse, DESKTOP)
    page = visit.page
    page.goto("/map#3/45/5")
    expect(page.locator(".map-cluster").first).to_be_visible()
    box = page.locator("#map").bounding_box()
    x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    center = page.evaluate("[document.getElementById('map').mapView.x, document.getElementById('map').mapView.y]")
    page.mouse.move(x, y)
    page.mouse.down()
    page.mouse.move(x + 200, y + 100, steps=5)
    page.mouse.up()
    moved = page.evaluate("[document.getElementById('map').mapView.x, document.getElementById('map').mapView.y]")
    assert moved[0] < center[0] and moved[1] < center[1]  # the map follows the pointer: its centre goes west, north
    before = zoom_of(page)
    page.mouse.wheel(0, -400)
    until(page, f"view.zoom > {before + 0.5}")
    page.get_by_role("button", name="Zoom out").click()
    assert zoom_of(page) < before + 1.5
    assert visit.errors == []


def pixel(page, latitude: float, longitude: float) -> tuple[int, int, int]:
    """The colour of the map's canvas where a place is drawn (the nearest copy of it, as the markers)."""
    return tuple(page.evaluate("""([latitude, longitude]) => {
        const view = document.getElementById('map').mapView;
        const sin = Math.sin(latitude * Math.PI / 180);
        const [px, py] = view.toScreen((longitude + 180) / 360, 0.5 - Math.log((1 + sin) / (1 - sin)) / (4 * Math.PI));
        const ratio = view.canvas.width / view.width;
        const data = view.context.getImageData(Math.round(px * ratio), Math.round(py * ratio), 1, 1).data;
        return [data[0], data[1], data[2]];
    }""", [latitude, longitude]))


def drawn(page) -> None:
    """Until the land file is read and a frame is drawn with it."""
    until(page, "view.land && view.landTime !== undefined")
    page.evaluate("new Promise(done => requestAnimationFrame(() => requestAnimationFrame(done)))")


@pytest.mark.parametrize("viewport", [PHONE, DESKTOP], ids=["phone", "desktop"])
def test_the_worlds_land_is_drawn_from_the_server_without_a_tile_server(accounts, browse, viewport):
    visit = browse(viewport)
    owner = accounts.create(name="landlubber")
    visit.sign_in(owner)
    add_rows(accounts.services, owner.email, [PARIS, ROME])
    page = visit.page
    requested, away = [], []
    page.on("request", lambda request: requested.append(request.url))
    page.on("request", lambda request: request.url.startswith(visit.server.url) or away.append(request.url))
    page.goto("/map#3/40/-15")  # western Europe and the Atlantic, at 360 pixels too
    expect(page.locator(".map-cluster, .map-photo").first).to_be_visible()
    drawn(page)
    water = pixel(page, 35, -40)  # the mid-Atlantic: the map's background
    assert water == (0xdf, 0xe7, 0xee), water
    for land in [PARIS, (40.4, -3.7), (50.5, 10.5)]:  # Paris, Madrid, Germany
        colour = pixel(page, *land)
        assert colour == (0xf4, 0xf1, 0xe8), (land, colour)
    visit.screenshot(f"map-{viewport['width']}-land")
    land_file = visit.server.url + "/static/map/land.txt"  # once, from the server itself
    assert [url for url in requested if url.endswith("/static/map/land.txt")] == [land_file]

    # The whole world across the antimeridian: Australia and Chukotka (east of 180°, drawn from the ring of Russia
    # that goes on past 180°) on land, the Pacific not.
    page.goto("/map#0/20/-170")
    drawn(page)
    assert pixel(page, -25, 134) == (0xf4, 0xf1, 0xe8) and pixel(page, -5, -140) == (0xdf, 0xe7, 0xee)
    visit.screenshot(f"map-{viewport['width']}-land-world")
    page.goto("/map#5/66.5/-178")
    drawn(page)
    assert pixel(page, 66.3, -177) == (0xf4, 0xf1, 0xe8)
    visit.screenshot(f"map-{viewport['width']}-land-antimeridian")

    # Close in (Paris at street level): still land.
    page.goto("/map#16/48.8566/2.3522")
    drawn(page)
    assert pixel(page, *PARIS) == (0xf4, 0xf1, 0xe8)
    assert away == [] and visit.errors == []


def test_an_empty_library_says_so(accounts, browse):
    visit = browse(PHONE)
    visit.sign_in(accounts.create(name="nowhere"))
    visit.page.goto("/map")
    expect(visit.page.locator(".map-status")).to_contain_text("None of your photos has a place yet")
    assert visit.page.locator(".map-markers > *").count() == 0
    assert visit.errors == []


class TileServer:
    """An operator's tile server, as far as the map needs one: a 256-pixel PNG for every /{z}/{x}/{y}.png."""

    def __init__(self):
        picture = io.BytesIO()
        Image.new("RGB", (256, 256), (170, 211, 223)).save(picture, "PNG")
        tile = picture.getvalue()
        requested = self.requested = []

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                requested.append(self.path)
                self.send_response(200)
                self.send_header("Content-Type", "image/png")
                self.send_header("Content-Length", str(len(tile)))
                self.end_headers()
                self.wfile.write(tile)

            def log_message(self, *args):
                pass

        self.http = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.origin = f"http://127.0.0.1:{self.http.server_address[1]}"
        threading.Thread(target=self.http.serve_forever, daemon=True).start()

    def close(self):
        self.http.shutdown()
        self.http.server_close()


@pytest.fixture(scope="module")
def tiled(tmp_path_factory):
    tiles = TileServer()
    env = {**SHARED_SERVER_ENV, "PHONECLOUD_MAP_TILE_URL": tiles.origin + "/{z}/{x}/{y}.png",
           "PHONECLOUD_MAP_TILE_ATTRIBUTION": "© Test tiles contributors"}
    running = Server(tmp_path_factory.mktemp("map-tiles") / "data", env).start()
    made = Accounts(running)
    yield running, made, tiles
    made.close()
    running.stop()
    tiles.close()


@pytest.mark.parametrize("viewport", [PHONE, PHONE_390, DESKTOP], ids=["phone", "phone-390", "desktop"])
def test_an_operators_tile_server_is_drawn_under_the_markers(tiled, browse, viewport):
    running, made, tiles = tiled
    owner = made.create(name="tiled")
    add_rows(made.services, owner.email, [PARIS, ROME])
    visit = browse(viewport, on=running)
    visit.sign_in(owner)
    asked = len(tiles.requested)
    response = visit.page.goto("/map")
    policy = response.headers["content-security-policy"]
    assert f"img-src 'self' {tiles.origin};" in policy and policy.count("127.0.0.1") == 1
    expect(visit.page.locator(".map-attribution")).to_have_text("© Test tiles contributors")
    expect(visit.page.locator(".map-photo").first).to_be_visible()
    until(visit.page, "[...view.tiles.values()].some(image => image.naturalWidth)")
    assert len(tiles.requested) > asked
    assert all(path.endswith(".png") and path.count("/") == 3 for path in tiles.requested)
    assert visit.page.evaluate("document.getElementById('map').mapView.land") is None  # the tiles show the land
    visit.screenshot(f"map-{viewport['width']}-tiles")
    assert visit.errors == []
