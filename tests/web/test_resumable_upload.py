"""A large upload from the browser survives interruptions: after a reload the same file picked again
resumes from the server's offset, and a dropped connection or an answer lost on the way back is retried
from what the server says it holds (HEAD), never from the start. The asset is bit-identical each time."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

from playwright.sync_api import Page, Route, expect

from .conftest import Browsing
from .flows import nav
from .photos import Photo, large_photo

CHUNK = 8 << 20  # the page's tus chunk (static/js/tus.js)
UPLOADS = "**/api/v1/uploads/**"


@dataclass(frozen=True)
class Exchange:
    method: str
    sent: int | None  # the Upload-Offset the browser sent (PATCH)
    answered: int | None  # the Upload-Offset the server answered; None when the request failed


def _offset(headers: dict[str, str]) -> int | None:
    value = headers.get("upload-offset")
    return int(value) if value is not None else None


class TusTraffic:
    """The page's tus requests in the order they ended, as the browser saw them."""

    def __init__(self, page: Page):
        self.exchanges: list[Exchange] = []
        page.on("response", lambda response: self._record(response.request, _offset(response.headers)))
        page.on("requestfailed", lambda request: self._record(request, None))

    def _record(self, request, answered: int | None) -> None:
        if "/api/v1/uploads/" in request.url and request.method in ("POST", "HEAD", "PATCH"):
            self.exchanges.append(Exchange(request.method, _offset(request.headers), answered))

    def patched_from(self) -> list[int]:
        return [exchange.sent for exchange in self.exchanges if exchange.method == "PATCH"]

    def assert_each_patch_starts_where_the_server_said(self) -> None:
        """Every PATCH starts at the offset of the server's last answer (creation, HEAD or PATCH)."""
        known = None
        for exchange in self.exchanges:
            if exchange.method == "PATCH":
                assert exchange.sent == known, self.exchanges
            if exchange.answered is not None:
                known = exchange.answered
            elif exchange.method == "PATCH":
                known = None  # unknown until the next HEAD: the bytes may or may not have arrived


def start(browse, accounts, tmp_path: Path, name: str, seed: int) -> tuple[Browsing, object, Photo, Path]:
    user = accounts.create(name=name)
    visit = browse()
    visit.sign_in(user)
    nav(visit.page, "Upload")
    photo = large_photo(seed, f"PXL_{name}.jpg")
    path = tmp_path / photo.name  # by path: 17 MiB through the driver's pipe would take long
    path.write_bytes(photo.body)
    return visit, user, photo, path


def pick(page: Page, path: Path) -> None:
    page.get_by_label("Drop photos and videos here").set_input_files(path)


def stored_uploads(page: Page) -> list[str]:
    return page.evaluate("""() => Object.keys(localStorage).filter((key) => key.startsWith("phonecloud.tus:"))
        .map((key) => localStorage.getItem(key))""")


def assert_uploaded(visit: Browsing, user, photo: Photo) -> None:
    item = visit.page.locator("#upload-list li").first
    expect(item).to_have_attribute("data-state", "done", timeout=60_000)
    assert item.get_attribute("data-method") == "tus"
    asset = user.http.get(f"/assets/{item.get_attribute('data-asset')}").json()
    assert (asset["size_bytes"], asset["sha1"]) == (len(photo.body), hashlib.sha1(photo.body).hexdigest())
    assert stored_uploads(visit.page) == []  # finished: nothing left to resume
    assert visit.errors == []


def test_after_a_reload_the_same_file_resumes_from_the_servers_offset(browse, accounts, tmp_path):
    visit, user, photo, path = start(browse, accounts, tmp_path, "reload", 910)
    page = visit.page

    def first_chunk_only(route: Route) -> None:  # from the second chunk on, the network is gone
        if route.request.method == "PATCH" and route.request.headers.get("upload-offset") != "0":
            route.abort("connectionreset")
        else:
            route.continue_()

    page.route(UPLOADS, first_chunk_only)
    with page.expect_response(lambda response: response.request.method == "PATCH") as first:
        pick(page, path)
    assert first.value.status == 204
    page.reload()
    page.unroute(UPLOADS)

    [location] = stored_uploads(page)
    held = user.http.head(location, headers={"Tus-Resumable": "1.0.0"})
    assert held.status_code == 200 and int(held.headers["Upload-Offset"]) == CHUNK

    traffic = TusTraffic(page)
    pick(page, path)
    assert_uploaded(visit, user, photo)
    assert traffic.exchanges[0] == Exchange("HEAD", None, CHUNK)  # asked the server, did not create anew
    assert traffic.patched_from() == [CHUNK, 2 * CHUNK]  # the first chunk was not sent again
    traffic.assert_each_patch_starts_where_the_server_said()
    sent = CHUNK + sum(min(CHUNK, len(photo.body) - offset) for offset in traffic.patched_from())
    assert sent == len(photo.body) < 2 * len(photo.body)


def test_an_answer_lost_on_the_way_back_resumes_from_the_servers_offset(browse, accounts, tmp_path):
    """The server stored the second chunk but the connection dropped before the browser heard it: the
    browser must learn the new offset from HEAD rather than send that chunk again."""
    visit, user, photo, path = start(browse, accounts, tmp_path, "lost", 911)
    page = visit.page
    lost: list[int] = []

    def lose_the_second_answer(route: Route) -> None:
        if route.request.method == "PATCH" and route.request.headers.get("upload-offset") == str(CHUNK) and not lost:
            response = route.fetch()  # the server gets the bytes and answers ...
            lost.append(int(response.headers["upload-offset"]))
            route.abort("connectionreset")  # ... but the browser only sees the connection go
        else:
            route.continue_()

    page.route(UPLOADS, lose_the_second_answer)
    traffic = TusTraffic(page)
    pick(page, path)
    assert_uploaded(visit, user, photo)
    assert lost == [2 * CHUNK]
    assert Exchange("PATCH", CHUNK, None) in traffic.exchanges
    assert Exchange("HEAD", None, 2 * CHUNK) in traffic.exchanges
    assert traffic.patched_from() == [0, CHUNK, 2 * CHUNK]  # the stored chunk was not sent twice
    traffic.assert_each_patch_starts_where_the_server_said()


def test_going_offline_mid_upload_is_retried_until_the_network_is_back(browse, accounts, tmp_path):
    """Offline long enough for the retry's own HEAD to fail too: the page keeps trying and resumes."""
    visit, user, photo, path = start(browse, accounts, tmp_path, "offline", 912)
    page = visit.page
    traffic = TusTraffic(page)
    with page.expect_response(lambda response: response.request.method == "PATCH"):
        pick(page, path)
    visit.context.set_offline(True)
    page.wait_for_event("requestfailed", lambda request: request.method == "HEAD", timeout=60_000)
    visit.context.set_offline(False)
    assert_uploaded(visit, user, photo)
    assert any(exchange.answered is None and exchange.method == "PATCH" for exchange in traffic.exchanges)
    assert traffic.patched_from()[0] == 0 and traffic.patched_from().count(0) == 1  # never started over
    traffic.assert_each_patch_starts_where_the_server_said()
