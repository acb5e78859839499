"""A second user's browser session sees none of the first user's items on any page, fragment or file
the pages use, and can change none of them: every such request is a 404, as for an id that never was."""

from __future__ import annotations

import uuid

import pytest
from playwright.sync_api import expect

from conftest import upload
from media_fixtures import jpeg
from route_table import settled

from .flows import wait_until_processed
from .map_places import PARIS, ROME, SYDNEY, add_rows, gps_jpeg


@pytest.fixture
def victim(accounts, browse):
    owner = accounts.create(name="victim")
    kept, trashed = (upload(owner, jpeg(seed), filename=name).json()["id"]
                     for seed, name in ((8101, "victim-secret-kept.jpg"), (8102, "victim-secret-trashed.jpg")))
    album = owner.http.post("/albums", json={"title": "victim-secret-album"}).json()["id"]
    owner.http.put(f"/albums/{album}/assets", json={"asset_ids": [kept]})
    owner.http.post(f"/assets/{trashed}/trash")
    device = owner.http.post("/devices", json={"name": "victim-secret-tablet"}).json()["device_id"]
    owner_visit = browse()
    owner_visit.sign_in(owner)
    wait_until_processed(owner_visit, [kept, trashed])
    cursor = owner.http.get("/assets", params={"limit": 1}).json()["next_cursor"] or ""
    secrets = [owner.email, kept, trashed, album, "victim-secret"]
    return owner, {"kept": kept, "trashed": trashed, "album": album, "device": device, "cursor": cursor}, secrets


def snapshot(owner) -> dict:
    return {"assets": owner.http.get("/assets").json(), "trash": owner.http.get("/assets", params={"trashed": True}).json(),
            "albums": owner.http.get("/albums").json(), "devices": owner.http.get("/devices").json()}


def test_a_second_users_session_sees_nothing_of_the_first_users(browse, accounts, victim):
    owner, ids, secrets = victim
    intruder = accounts.create(name="intruder")
    upload(intruder, jpeg(8103), filename="intruder-own.jpg")
    visit = browse()
    visit.sign_in(intruder)
    page = visit.page

    def leaks(asked: str) -> list[str]:
        """The owner's names and ids on the page, except an id the intruder asked for itself."""
        html = page.content()
        return [secret for secret in secrets if secret in html and secret not in asked]

    for path in ("/", "/trash", "/albums", "/upload", "/account", "/?date=2100-01-01"):
        response = page.goto(path)
        assert response.status == 200, path
        assert not leaks(path), path
    page.goto("/")
    assert page.locator(".tile img").get_attribute("alt").startswith("Photo intruder-own.jpg")

    never = str(uuid.UUID(int=99))
    for path in (f"/photos/{ids['kept']}", f"/photos/{ids['trashed']}", f"/albums/{ids['album']}",
                 f"/photos/{never}?album={ids['album']}", f"/grid?in={ids['album']}&cursor={ids['cursor']}",
                 f"/api/v1/assets/{ids['kept']}/thumbnail", f"/api/v1/assets/{ids['kept']}/preview",
                 f"/api/v1/assets/{ids['kept']}/original", f"/api/v1/albums/{ids['album']}/assets"):
        response = page.goto(path)
        assert response.status == 404, path
        assert not leaks(path), path
    # The next page of the intruder's own timeline, asked with the owner's cursor, holds only the intruder's.
    fragment = visit.context.request.get(f"/grid?in=library&cursor={ids['cursor']}").text()
    assert not [secret for secret in secrets if secret in fragment]

    page.goto("/")
    csrf = page.locator('meta[name="csrf-token"]').get_attribute("content")
    before = snapshot(owner)
    attempts = [
        ("/selection", {"action": action, "asset_id": ids["kept"], "back": "/"})
        for action in ("favorite", "trash", "delete", "album_add")
    ] + [
        ("/selection", {"action": "restore", "asset_id": ids["trashed"], "back": "/"}),
        ("/selection", {"action": "delete", "asset_id": ids["trashed"], "back": "/"}),
        ("/selection", {"action": "album_remove", "album_id": ids["album"], "asset_id": ids["kept"], "back": "/"}),
        ("/selection", {"action": "album_add", "album_id": ids["album"], "asset_id": ids["kept"], "back": "/"}),
        (f"/photos/{ids['kept']}/favorite", {"favorite": "true"}),
        (f"/photos/{ids['kept']}/trash", {}),
        (f"/photos/{ids['trashed']}/restore", {}),
        (f"/photos/{ids['trashed']}/delete", {}),
        (f"/albums/{ids['album']}/rename", {"title": "mine now"}),
        (f"/albums/{ids['album']}/delete", {}),
        ("/account/devices/revoke", {"device_id": str(ids["device"])}),
    ]
    for path, form in attempts:
        response = visit.context.request.post(path, form={**form, "csrf": csrf}, max_redirects=0)
        if response.status == 303:  # a form that goes back to its page: the error is shown there
            page.goto(response.headers["location"])
            assert page.locator(".flash-error").count() >= 1, (path, form)
            assert not leaks(path + repr(form)), (path, form)
        else:
            assert response.status == 404, (path, form, response.status)
    for method, path in (("PUT", f"/api/v1/assets/{ids['kept']}/favorite"), ("DELETE", f"/api/v1/assets/{ids['trashed']}"),
                         ("POST", f"/api/v1/assets/{ids['kept']}/trash")):
        response = visit.context.request.fetch(path, method=method, headers={"X-CSRF-Token": csrf})
        assert response.status == 404, (method, path)
    assert snapshot(owner) == before
    assert visit.errors == []


def test_a_second_users_map_shows_none_of_the_first_users_places(browse, accounts):
    """The map (page and clusters) holds only the signed-in user's places, even where both users took photos."""
    owner, intruder = accounts.create(name="victim-map"), accounts.create(name="intruder-map")
    secret = upload(owner, gps_jpeg(*PARIS, 8111), filename="victim-secret-paris.jpg").json()["id"]
    add_rows(accounts.services, owner.email, [PARIS, ROME, SYDNEY])
    own = upload(intruder, gps_jpeg(PARIS[0] + 0.001, PARIS[1], 8112), filename="intruder-paris.jpg").json()["id"]
    visit = browse()
    visit.sign_in(intruder)
    wait_until_processed(visit, [own])
    assert settled(owner, secret)["media"]["state"] == "ready"
    assert owner.http.get("/map/clusters").json()["total"] == 4

    answer = visit.context.request.get("/api/v1/map/clusters").json()
    assert (answer["total"], [cluster["asset_id"] for cluster in answer["clusters"]]) == (1, [own])
    close = visit.context.request.get("/api/v1/map/clusters", params={
        "west": 2.3, "south": 48.8, "east": 2.4, "north": 48.9, "zoom": 16}).json()
    assert [cluster["asset_id"] for cluster in close["clusters"]] == [own]
    visit.page.goto("/map")
    expect(visit.page.locator(f".map-photo[data-id='{own}']")).to_be_visible()
    assert visit.page.locator(".map-markers > *").count() == 1
    assert secret not in visit.page.content() and "victim-secret" not in visit.page.content()
    assert visit.errors == []
