"""Uploading: streamed, durable, de-duplicated, every accepted format, and bad input refused cleanly."""

import hashlib
import os
import socket
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from conftest import staging_drains, upload
from media_fixtures import ACCEPTED, REFUSED, jpeg

pytestmark = pytest.mark.in_process  # domain rules: the app in this process (tests/inprocess.py)


def blob_files(server, user_id_hint=None):
    root = server.blob_root / "users"
    return [p for p in root.rglob("*") if p.is_file()] if root.exists() else []


def test_upload_stores_the_bytes_and_answers_with_the_asset(user):
    body = jpeg(1)
    response = upload(user, body, filename="IMG_20221014_123456.jpg", modified_at="2022-10-14T12:34:56+02:00")
    assert response.status_code == 201
    answer = response.json()
    assert answer["duplicate"] is False
    asset = answer["asset"]
    assert asset["id"] == answer["id"]
    assert asset["sha1"] == hashlib.sha1(body).hexdigest()
    assert asset["size_bytes"] == len(body)
    assert asset["kind"] == "photo" and asset["mime_type"] == "image/jpeg"
    assert asset["original_filename"] == "IMG_20221014_123456.jpg"
    assert asset["file_modified_at"] == "2022-10-14T10:34:56Z"
    downloaded = user.http.get(f"/assets/{answer['id']}/original")
    assert downloaded.content == body


def test_second_upload_of_same_bytes_stores_nothing_and_names_the_existing_asset(server, user):
    body = jpeg(2)
    first = upload(user, body).json()
    used = user.http.get("/me").json()["used_bytes"]
    second = upload(user, body, filename="copy.jpg")
    assert second.status_code == 200
    assert second.json()["duplicate"] is True
    assert second.json()["id"] == first["id"]
    assert user.http.get("/me").json()["used_bytes"] == used
    assert user.http.get("/me").json()["asset_count"] == 1


def test_many_parallel_uploads_of_the_same_file_store_it_once(server, user):
    body = jpeg(3) + b"\x00" * 300_000  # bytes after the JPEG end marker keep it a JPEG, and make it slower
    with ThreadPoolExecutor(16) as pool:
        responses = list(pool.map(lambda n: upload(user, body, filename=f"same-{n}.jpg"), range(32)))
    assert {r.status_code for r in responses} <= {200, 201}
    assert sum(r.status_code == 201 for r in responses) == 1
    assert len({r.json()["id"] for r in responses}) == 1
    me = user.http.get("/me").json()
    assert me["asset_count"] == 1 and me["used_bytes"] == len(body)
    sha1 = hashlib.sha1(body).hexdigest()
    assert len([p for p in blob_files(server) if p.name.split(".")[0] == sha1]) == 1


def test_same_bytes_for_two_users_are_two_assets(user, other_user):
    body = jpeg(4)
    assert upload(user, body).status_code == 201
    assert upload(other_user, body).status_code == 201


@pytest.mark.parametrize("name", sorted(ACCEPTED))
def test_every_photo_and_video_format_is_accepted_by_content(user, name):
    make, kind, mime = ACCEPTED[name]
    response = upload(user, make(), filename=f"no-extension-{name}")
    assert response.status_code == 201, response.text
    assert response.json()["asset"]["kind"] == kind
    assert response.json()["asset"]["mime_type"] == mime


@pytest.mark.parametrize("name", sorted(REFUSED))
def test_content_that_is_not_a_photo_or_video_gets_415_and_nothing_is_stored(server, user, name):
    response = upload(user, REFUSED[name](), filename="looks-like-a-photo.jpg")
    assert response.status_code == 415
    assert response.json()["error"] == "unsupported_media"
    assert "not a photo or video" in response.json()["message"]
    me = user.http.get("/me").json()
    assert me["used_bytes"] == 0 and me["asset_count"] == 0
    assert staging_drains(server)


def test_empty_body_gets_400(user):
    response = upload(user, b"")
    assert response.status_code == 400
    assert "empty" in response.json()["message"]


def test_declared_size_that_does_not_match_gets_400_and_nothing_stored(server, user):
    body = jpeg(5)
    response = upload(user, body, size=len(body) + 1)
    assert response.status_code == 400
    assert response.json()["declared_size"] == len(body) + 1
    assert response.json()["received_size"] == len(body)
    assert user.http.get("/me").json()["asset_count"] == 0
    assert hashlib.sha1(body).hexdigest() not in {p.name.split(".")[0] for p in blob_files(server)}


def test_declared_sha1_that_does_not_match_gets_400_and_nothing_stored(server, user):
    body = jpeg(6)
    response = upload(user, body, sha1="0" * 40)
    assert response.status_code == 400
    assert response.json()["received_sha1"] == hashlib.sha1(body).hexdigest()
    assert user.http.get("/me").json()["used_bytes"] == 0
    assert hashlib.sha1(body).hexdigest() not in {p.name.split(".")[0] for p in blob_files(server)}


def test_correct_declarations_are_accepted(user):
    body = jpeg(7)
    response = upload(user, body, size=len(body), sha1=hashlib.sha1(body).hexdigest().upper())
    assert response.status_code == 201


@pytest.mark.parametrize("params, where", [
    ({"sha1": "xyz"}, "sha1"),
    ({"size": "-5"}, "size"),
    ({"size": "ten"}, "size"),
    ({"modified_at": "yesterday"}, "modified_at"),
])
def test_malformed_upload_parameters_get_a_4xx_naming_them(user, params, where):
    response = upload(user, jpeg(8), **params)
    assert 400 <= response.status_code < 500
    assert where in response.json()["message"]


def test_missing_filename_gets_422_naming_it(user):
    response = user.http.post("/assets", params={"modified_at": "2022-01-01T00:00:00Z"}, content=jpeg(9))
    assert response.status_code == 422
    assert "filename" in response.json()["message"]


@pytest.mark.parametrize("filename", [
    "../../etc/passwd.jpg", "a/b\\c.jpg", "nul\x00byte.jpg", "control\x01\x1f\x7f.jpg", "é" * 1000 + ".jpg",
    "x" * 1000, "CON", " .. ",
])
def test_hostile_file_names_are_stored_safely_and_kept_as_metadata(server, user, filename):
    body = jpeg(1000) + os.urandom(32)  # bytes no other test uploads (trailing bytes keep it a JPEG)
    response = upload(user, body, filename=filename)
    assert response.status_code == 201
    asset = response.json()["asset"]
    assert asset["original_filename"] == filename.replace("\x00", "\u2400")
    safe = asset["filename"]
    assert "/" not in safe and "\\" not in safe and not any(ord(c) < 32 for c in safe)
    assert len(safe.encode()) <= 200
    stored = [p for p in blob_files(server) if p.name.split(".")[0] == asset["sha1"]]
    assert len(stored) == 1 and stored[0].is_relative_to(server.blob_root)
    download = user.http.get(f"/assets/{asset['id']}/original")
    assert download.content == body
    assert "filename*=UTF-8''" in download.headers["content-disposition"]


def test_too_long_file_name_is_refused(user):
    response = upload(user, jpeg(10), filename="x" * 5000)
    assert response.status_code == 400
    assert "filename" in response.json()["message"]


def test_client_disconnecting_mid_upload_stores_nothing(server_process, accounts_process):
    server, user = server_process, accounts_process.create()  # a connection cut: the process is tested
    body = jpeg(11) + b"\x00" * 2_000_000
    head = (
        f"POST /api/v1/assets?filename=cut.jpg&modified_at=2022-01-01T00:00:00Z HTTP/1.1\r\n"
        f"Host: 127.0.0.1\r\nAuthorization: Bearer {user.key}\r\nContent-Type: application/octet-stream\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    ).encode()
    with socket.create_connection(("127.0.0.1", server.port)) as connection:
        connection.sendall(head + body[: len(body) // 2])
        time.sleep(0.3)
    assert staging_drains(server)
    me = user.http.get("/me").json()
    assert me["used_bytes"] == 0 and me["asset_count"] == 0
    assert hashlib.sha1(body).hexdigest() not in {p.name.split(".")[0] for p in blob_files(server)}
    assert upload(user, jpeg(12)).status_code == 201  # and the server carries on


def test_upload_streams_in_chunks_from_a_generator(user):
    """A chunked (no Content-Length) body of several megabytes arrives whole."""
    parts = [jpeg(13)] + [bytes([n]) * 1_000_000 for n in range(5)]

    def stream():
        yield from parts

    response = user.http.post("/assets", params={"filename": "big.jpg", "modified_at": "2022-01-01T00:00:00Z"},
                              content=stream())
    assert response.status_code == 201
    assert response.json()["asset"]["sha1"] == hashlib.sha1(b"".join(parts)).hexdigest()


def test_blob_is_durable_on_disk_before_the_answer(server, user):
    body = jpeg(14)
    sha1 = upload(user, body).json()["asset"]["sha1"]
    path = next(p for p in blob_files(server) if p.name.split(".")[0] == sha1)
    assert path.read_bytes() == body
    assert path.relative_to(server.blob_root).parts[-2:] == (sha1[:2], path.name) and path.name.startswith(sha1 + ".")
