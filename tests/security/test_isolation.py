"""One user can never read, list, change or delete another user's data: every route answers 404."""

import pytest

from conftest import upload
from media_fixtures import jpeg

pytestmark = pytest.mark.in_process  # domain rules: the app in this process (tests/inprocess.py)


@pytest.fixture
def victim_data(other_user):
    asset = upload(other_user, jpeg(2000)).json()["asset"]
    album = other_user.http.post("/albums", json={"title": "Private"}).json()
    other_user.http.put(f"/albums/{album['id']}/assets", json={"asset_ids": [asset["id"]]})
    return other_user, asset, album


def test_another_users_objects_are_404_on_every_route(user, victim_data):
    victim, asset, album = victim_data
    attempts = [
        ("GET", f"/assets/{asset['id']}", None),
        ("GET", f"/assets/{asset['id']}/original", None),
        ("POST", f"/assets/{asset['id']}/trash", None),
        ("POST", f"/assets/{asset['id']}/restore", None),
        ("GET", f"/albums/{album['id']}", None),
        ("GET", f"/albums/{album['id']}/assets", None),
        ("PATCH", f"/albums/{album['id']}", {"title": "mine now"}),
        ("DELETE", f"/albums/{album['id']}", None),
        ("PUT", f"/albums/{album['id']}/assets", {"asset_ids": [asset["id"]]}),
        ("DELETE", f"/albums/{album['id']}/assets", {"asset_ids": [asset["id"]]}),
    ]
    for method, path, body in attempts:
        response = user.http.request(method, path, json=body)
        assert response.status_code == 404, (method, path, response.text)
        assert response.json()["error"] == "not_found"
    # nothing changed for the owner
    assert victim.http.get(f"/assets/{asset['id']}").json()["trashed"] is False
    assert victim.http.get(f"/albums/{album['id']}").json() | {"updated_at": None} == album | {
        "asset_count": 1, "updated_at": None}


def test_listing_and_checking_show_only_ones_own(user, victim_data):
    victim, asset, album = victim_data
    assert user.http.get("/assets").json()["items"] == []
    assert user.http.get("/albums").json() == []
    check = user.http.post("/assets/check", json={"items": [{"id": "x", "sha1": asset["sha1"]}]}).json()
    assert check["results"][0]["exists"] is False


def test_own_album_cannot_take_another_users_asset(user, victim_data):
    _, asset, _ = victim_data
    mine = user.http.post("/albums", json={"title": "Mine"}).json()
    response = user.http.put(f"/albums/{mine['id']}/assets", json={"asset_ids": [asset["id"]]})
    assert response.json()["results"][0]["result"] == "not_found"
    assert user.http.get(f"/albums/{mine['id']}/assets").json()["items"] == []


def test_uploading_another_users_bytes_creates_ones_own_copy(user, victim_data):
    victim, asset, _ = victim_data
    mine = upload(user, jpeg(2000))
    assert mine.status_code == 201 and mine.json()["id"] != asset["id"]
