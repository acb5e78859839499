"""Albums: create, rename, list, add and remove assets, delete (photos stay)."""

import pytest

from conftest import upload
from media_fixtures import jpeg

pytestmark = pytest.mark.in_process  # domain rules: the app in this process (tests/inprocess.py)


def test_album_lifecycle(user):
    assets = [upload(user, jpeg(1100 + n)).json()["id"] for n in range(3)]
    created = user.http.post("/albums", json={"title": "Holidays 2022", "description": "Lisbon"})
    assert created.status_code == 201
    album = created.json()
    assert album["title"] == "Holidays 2022" and album["asset_count"] == 0

    added = user.http.put(f"/albums/{album['id']}/assets", json={"asset_ids": assets[:2] + assets[:1]})
    assert [r["result"] for r in added.json()["results"]] == ["added", "added"]
    again = user.http.put(f"/albums/{album['id']}/assets", json={"asset_ids": assets})
    assert [r["result"] for r in again.json()["results"]] == ["already", "already", "added"]

    renamed = user.http.patch(f"/albums/{album['id']}", json={"title": "Lisbon 2022"})
    assert renamed.json()["title"] == "Lisbon 2022" and renamed.json()["description"] == "Lisbon"
    assert renamed.json()["asset_count"] == 3
    listed = user.http.get("/albums").json()
    assert [(a["id"], a["title"], a["asset_count"]) for a in listed] == [(album["id"], "Lisbon 2022", 3)]

    members = user.http.get(f"/albums/{album['id']}/assets").json()["items"]
    assert {m["id"] for m in members} == set(assets)

    removed = user.http.request("DELETE", f"/albums/{album['id']}/assets", json={"asset_ids": [assets[0], assets[0]]})
    assert [r["result"] for r in removed.json()["results"]] == ["removed"]
    not_member = user.http.request("DELETE", f"/albums/{album['id']}/assets", json={"asset_ids": [assets[0]]})
    assert not_member.json()["results"][0]["result"] == "not_member"
    assert user.http.get(f"/albums/{album['id']}").json()["asset_count"] == 2

    assert user.http.delete(f"/albums/{album['id']}").status_code == 204
    assert user.http.get(f"/albums/{album['id']}").status_code == 404
    assert user.http.get("/me").json()["asset_count"] == 3  # the photos stay


def test_trashed_assets_are_not_counted_or_listed_in_albums(user):
    asset = upload(user, jpeg(1200)).json()["id"]
    album = user.http.post("/albums", json={"title": "T"}).json()
    user.http.put(f"/albums/{album['id']}/assets", json={"asset_ids": [asset]})
    user.http.post(f"/assets/{asset}/trash")
    assert user.http.get(f"/albums/{album['id']}").json()["asset_count"] == 0
    assert user.http.get(f"/albums/{album['id']}/assets").json()["items"] == []


def test_album_titles_are_validated(user):
    for title in ("", " " * 3, "x" * 501):
        response = user.http.post("/albums", json={"title": title})
        assert response.status_code in (400, 422), title
        assert "title" in response.json()["message"]
    assert user.http.post("/albums", json={"title": "nul\x00"}).status_code == 400
    assert user.http.post("/albums", json={}).status_code == 422


def test_unknown_assets_are_reported_not_added(user):
    album = user.http.post("/albums", json={"title": "U"}).json()
    response = user.http.put(f"/albums/{album['id']}/assets",
                             json={"asset_ids": ["00000000-0000-0000-0000-000000000001"]})
    assert response.json()["results"][0]["result"] == "not_found"
