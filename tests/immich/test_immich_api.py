"""The Immich-compatible API (phonecloud.immich) on the app in this process: discovery and server facts,
API keys as `x-api-key`, the duplicate check by SHA-1 (hex or base64), multipart uploads with the fields
before or after the file, albums, both generations of paths, bad input refused with a JSON message, and one
user never reaching another's photos or albums."""

from __future__ import annotations

import base64
import hashlib
import uuid

import httpx
import pytest

from media_fixtures import jpeg

pytestmark = pytest.mark.in_process  # domain rules: the app in this process (tests/inprocess.py)


@pytest.fixture
def immich(server) -> httpx.Client:
    return server.client(base="")


def as_(user) -> dict[str, str]:
    return {"x-api-key": user.key}


def multipart(boundary: str, parts: list[tuple[str, str | None, bytes]]) -> bytes:
    """A form body in exactly this order of parts: (name, file name or None, bytes)."""
    body = b""
    for name, filename, data in parts:
        disposition = f'form-data; name="{name}"' + (f'; filename="{filename}"' if filename else "")
        body += f"--{boundary}\r\nContent-Disposition: {disposition}\r\n\r\n".encode() + data + b"\r\n"
    return body + f"--{boundary}--\r\n".encode()


def upload(immich, user, body: bytes, path: str = "/api/assets", **fields: str) -> httpx.Response:
    data = {"fileCreatedAt": "2021-06-01T10:00:00.000Z", "fileModifiedAt": "2021-06-01T10:00:00.000Z",
            "isFavorite": "false", **fields}
    return immich.post(path, headers=as_(user), data=data, files={"assetData": ("IMG_0001.jpg", body)})


def test_discovery_and_the_server_facts_that_clients_read(immich, user):
    assert immich.get("/.well-known/immich").json() == {"api": {"endpoint": "/api"}}
    for path in ("/api/server/ping", "/api/server-info/ping"):
        assert immich.get(path).json() == {"res": "pong"}
    version = immich.get("/api/server/version").json()
    assert {"major", "minor", "patch"} <= set(version)
    types = immich.get("/api/server/media-types").json()
    assert ".jpg" in types["image"] and ".heic" in types["image"] and ".mp4" in types["video"]
    assert not set(types["image"]) & set(types["video"])
    me = immich.get("/api/users/me", headers=as_(user)).json()
    assert me["email"] == user.email and uuid.UUID(me["id"])
    assert immich.get("/api/user/me", headers=as_(user)).json() == me
    assert immich.get("/api/users/me", headers={"Authorization": f"Bearer {user.key}"}).json() == me
    assert immich.get("/api/api-keys/me", headers=as_(user)).json()["permissions"] == ["all"]


def test_no_key_or_a_wrong_key_is_401_with_a_message(immich):
    for headers in ({}, {"x-api-key": "pck_not-a-key"}):
        for method, path in (("GET", "/api/users/me"), ("GET", "/api/albums"), ("POST", "/api/assets"),
                             ("POST", "/api/assets/bulk-upload-check")):
            answer = immich.request(method, path, headers=headers, json={} if method == "POST" else None)
            assert answer.status_code == 401, (path, answer.text)
            assert answer.json()["message"]


def test_an_upload_is_created_then_a_duplicate_and_keeps_its_time_name_and_favourite(immich, user):
    body = jpeg(6001)
    first = upload(immich, user, body, isFavorite="true", fileModifiedAt="2019-03-04T05:06:07.000Z")
    assert first.status_code == 201, first.text
    assert first.json()["status"] == "created" and first.json()["duplicate"] is False
    again = upload(immich, user, body, path="/api/asset/upload", deviceAssetId="IMG_0001.jpg-1", deviceId="CLI")
    assert again.status_code == 200 and again.json() == {"id": first.json()["id"], "status": "duplicate",
                                                         "duplicate": True}
    asset = user.http.get(f"/assets/{first.json()['id']}").json()
    assert (asset["original_filename"], asset["file_modified_at"], asset["is_favorite"]) == (
        "IMG_0001.jpg", "2019-03-04T05:06:07Z", True)
    assert user.http.get(f"/assets/{first.json()['id']}/original").content == body


def test_fields_after_the_file_count_as_much_as_before_it(immich, user):
    body = jpeg(6002)
    boundary = "b0undary-6002"
    form = multipart(boundary, [("assetData", "late.jpg", body), ("deviceAssetId", None, b"late"),
                                ("fileModifiedAt", None, b"2018-02-03T04:05:06.000Z"),
                                ("isFavorite", None, b"true"), ("sidecarData", "late.jpg.xmp", b"<x:xmpmeta/>")])
    answer = immich.post("/api/asset/upload", content=form, headers={
        **as_(user), "Content-Type": f"multipart/form-data; boundary={boundary}"})
    assert answer.status_code == 201, answer.text
    asset = user.http.get(f"/assets/{answer.json()['id']}").json()
    assert (asset["original_filename"], asset["file_modified_at"], asset["is_favorite"]) == (
        "late.jpg", "2018-02-03T04:05:06Z", True)


def test_the_check_answers_by_sha1_in_hex_or_base64(immich, user):
    body = jpeg(6003)
    digest = hashlib.sha1(body).digest()
    new = hashlib.sha1(b"never uploaded").hexdigest()
    assert upload(immich, user, body).status_code == 201
    results = immich.post("/api/assets/bulk-upload-check", headers=as_(user), json={"assets": [
        {"id": "/photos/a.jpg", "checksum": digest.hex()}, {"id": "/photos/b.jpg", "checksum": new},
        {"id": "/photos/c.jpg", "checksum": base64.b64encode(digest).decode()}]}).json()["results"]
    assert [(item["id"], item["action"]) for item in results] == [
        ("/photos/a.jpg", "reject"), ("/photos/b.jpg", "accept"), ("/photos/c.jpg", "reject")]
    assert results[0]["reason"] == "duplicate" and results[0]["assetId"] == results[2]["assetId"]
    old = immich.post("/api/asset/bulk-upload-check", headers=as_(user), json={"assets": [
        {"id": "x", "checksum": new}]}).json()["results"]
    assert old == [{"id": "x", "action": "accept"}]


def test_bad_input_is_a_4xx_naming_the_problem_and_stores_nothing(immich, user):
    before = user.http.get("/me").json()["usage"]["gallery"]["items"]
    body = jpeg(6004)
    for answer, phrase in (
        (immich.post("/api/assets/bulk-upload-check", headers=as_(user),
                     json={"assets": [{"id": "x", "checksum": "not-a-sha1"}]}), "checksum"),
        (immich.post("/api/assets", headers=as_(user), data={"fileModifiedAt": "2021-01-01T00:00:00Z"}),
         "assetData"),
        (immich.post("/api/assets", headers={**as_(user), "Content-Type": "application/json"}, content=b"{}"),
         "multipart/form-data"),
        (upload(immich, user, body, fileModifiedAt="yesterday"), "fileModifiedAt"),
        (upload(immich, user, b"plain text, not a photo"), "not a photo or video"),
        (immich.post("/api/assets", headers={**as_(user), "Content-Type": "multipart/form-data; boundary=b"},
                     content=b"--b\r\nContent-Disposition: form-data; name=\"x\"; " + b"a" * 20_000 + b"\r\n\r\n"),
         "header"),
        (immich.post("/api/assets", headers={**as_(user), "Content-Type": "multipart/form-data; boundary=b"},
                     content=b"--b\r\nno colon here\r\n\r\n--b--"), "malformed"),
        (immich.post("/api/assets", headers={**as_(user), "Content-Type": "multipart/form-data; boundary=b"},
                     content=b"--b\r\nContent-Disposition: form-data; name=\"assetData\"; filename=\"a.jpg\"\r\n\r\n"
                             + body[:100]), "no whole file part"),
        (immich.post("/api/assets", headers={**as_(user), "x-immich-checksum": hashlib.sha1(b"other").hexdigest()},
                     files={"assetData": ("IMG.jpg", body)}), "SHA-1"),
    ):
        assert 400 <= answer.status_code < 500, answer.text
        assert phrase in answer.json()["message"], answer.json()
    assert user.http.get("/me").json()["usage"]["gallery"]["items"] == before


def test_albums_are_made_listed_and_filled_as_immich_answers(immich, user):
    ids = [upload(immich, user, jpeg(6010 + n)).json()["id"] for n in range(3)]
    made = immich.post("/api/albums", headers=as_(user), json={"albumName": "Holiday", "assetIds": ids[:1]})
    assert made.status_code == 201 and made.json()["albumName"] == "Holiday" and made.json()["assetCount"] == 1
    added = immich.put(f"/api/albums/{made.json()['id']}/assets", headers=as_(user),
                       json={"ids": [ids[0], ids[1], str(uuid.uuid4())]}).json()
    assert [(item["success"], item.get("error")) for item in added] == [
        (False, "duplicate"), (True, None), (False, "not_found")]
    old = immich.put(f"/api/album/{made.json()['id']}/assets", headers=as_(user), json={"ids": [ids[2]]}).json()
    assert old == [{"id": ids[2], "success": True}]
    listed = {album["albumName"]: album for album in immich.get("/api/album", headers=as_(user)).json()}
    assert listed["Holiday"]["assetCount"] == 3
    assert [album["title"] for album in user.http.get("/albums").json()] == ["Holiday"]
    stats = immich.get("/api/assets/statistics", headers=as_(user)).json()
    assert stats == {"images": 3, "videos": 0, "total": 3}


def test_one_user_never_reaches_anothers_photos_or_albums(immich, user, other_user):
    body = jpeg(6020)
    mine = upload(immich, user, body).json()["id"]
    album = immich.post("/api/albums", headers=as_(user), json={"albumName": "Mine"}).json()["id"]
    checked = immich.post("/api/assets/bulk-upload-check", headers=as_(other_user), json={"assets": [
        {"id": "a", "checksum": hashlib.sha1(body).hexdigest()}]}).json()["results"]
    assert checked == [{"id": "a", "action": "accept"}]  # not told that someone else has these bytes
    assert immich.get("/api/albums", headers=as_(other_user)).json() == []
    refused = immich.put(f"/api/albums/{album}/assets", headers=as_(other_user), json={"ids": [mine]})
    assert refused.status_code == 404
    theirs = immich.post("/api/albums", headers=as_(other_user), json={"albumName": "Theirs", "assetIds": [mine]})
    assert theirs.status_code == 201 and theirs.json()["assetCount"] == 0
    again = upload(immich, other_user, body)
    assert again.status_code == 201 and again.json()["id"] != mine  # their own copy, charged to them
    assert immich.get("/api/assets/statistics", headers=as_(other_user)).json()["total"] == 1


def test_an_asset_is_read_updated_and_trashed_as_immich_does_it(immich, user):
    body = jpeg(6030)
    asset_id = upload(immich, user, body).json()["id"]
    read = immich.get(f"/api/assets/{asset_id}", headers=as_(user)).json()
    assert read["checksum"] == base64.b64encode(hashlib.sha1(body).digest()).decode()
    assert (read["originalFileName"], read["exifInfo"]["fileSizeInByte"], read["isTrashed"]) == (
        "IMG_0001.jpg", len(body), False)
    changed = immich.put(f"/api/assets/{asset_id}", headers=as_(user), json={
        "description": "At the lake", "isFavorite": True, "visibility": "archive", "latitude": 46.5,
        "longitude": 6.6})
    assert changed.status_code == 200, changed.text
    mine = user.http.get(f"/assets/{asset_id}").json()
    assert (mine["description"], mine["is_favorite"], mine["is_archived"]) == ("At the lake", True, True)
    assert (mine["place"]["latitude"], mine["place"]["longitude"]) == (46.5, 6.6)
    assert immich.put(f"/api/assets/{asset_id}", headers=as_(user), json={"isArchived": False}).json()[
        "isArchived"] is False  # Immich before 1.133
    trashed = immich.request("DELETE", "/api/assets", headers=as_(user), json={"ids": [asset_id], "force": False})
    assert trashed.status_code == 204 and user.http.get(f"/assets/{asset_id}").json()["trashed"] is True


def test_bad_updates_and_deletions_for_good_are_refused_and_change_nothing(immich, user, other_user):
    asset_id = upload(immich, user, jpeg(6031)).json()["id"]
    for body, field in [({"latitude": 10.0}, "latitude"), ({"latitude": 91.0, "longitude": 0.0}, None),
                        ({"visibility": "locked"}, None), ({"description": "x" * 10_001}, None)]:
        refused = immich.put(f"/api/assets/{asset_id}", headers=as_(user), json=body)
        assert refused.status_code in (400, 422) and refused.json()["message"], (body, refused.text)
    forever = immich.request("DELETE", "/api/assets", headers=as_(user), json={"ids": [asset_id], "force": True})
    assert forever.status_code == 400 and "force" in forever.json()["message"]
    theirs = immich.request("DELETE", "/api/assets", headers=as_(other_user), json={"ids": [asset_id]})
    assert theirs.status_code == 404
    assert immich.get(f"/api/assets/{asset_id}", headers=as_(other_user)).status_code == 404
    mine = user.http.get(f"/assets/{asset_id}").json()
    assert (mine["trashed"], mine["description"], mine["place"]) == (False, "", None)


@pytest.mark.parametrize("body", [
    b"", b"garbage", b"--b", b"--b\r\n", b"--b\r\n\r\n", b"--b\r\nContent-Disposition: form-data\r\n\r\nx\r\n--b--",
    b"--b\r\nContent-Disposition: form-data; name=\"assetData\"\r\n\r\n" + bytes(range(256)) * 4,
    b"--b--\r\n", b"\xff\xfe--b\r\n", b"--b\r\n" + b"X" * 70_000,
])
def test_a_malformed_form_is_a_4xx_never_a_5xx(immich, user, body):
    answer = immich.post("/api/assets", headers={**as_(user), "Content-Type": "multipart/form-data; boundary=b"},
                         content=body)
    assert 400 <= answer.status_code < 500 and answer.json()["message"], (answer.status_code, answer.text)
