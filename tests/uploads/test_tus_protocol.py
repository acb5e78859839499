"""tus 1.0 against a real server: core, creation, creation-with-upload, expiration, checksum and
termination, every refusal the specification names, and a finished upload as an ordinary asset."""

from __future__ import annotations

import hashlib
import os
import shutil
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from conftest import serving, upload
from tus_helpers import (
    TUS, create, created_url, head, metadata, patch, photo, sha1_checksum, staged_uploads, used_bytes,
)

pytestmark = pytest.mark.in_process  # domain rules: the app in this process (tests/inprocess.py)


def finish(user, url: str, body: bytes, chunk: int = 1 << 20):
    offset, response = 0, None
    while offset < len(body):
        response = patch(user, url, offset, body[offset:offset + chunk])
        assert response.status_code == 204, response.text
        offset = int(response.headers["upload-offset"])
    return response


# -- discovery and creation -------------------------------------------------------------------------------

def test_options_advertises_the_protocol_and_the_callers_room(accounts):
    owner = accounts.create(quota_bytes=10_000_000)
    answer = owner.http.options("/uploads/")
    assert answer.status_code == 204
    assert answer.headers["tus-version"] == "1.0.0"
    assert set(answer.headers["tus-extension"].split(",")) == {
        "creation", "creation-with-upload", "expiration", "checksum", "termination"}
    assert "sha1" in answer.headers["tus-checksum-algorithm"].split(",")
    assert answer.headers["tus-max-size"] == "10000000"
    created_url(owner, 4_000_000)  # a reservation: the room shrinks at once
    assert owner.http.options("/uploads/").headers["tus-max-size"] == "6000000"


def test_creation_answers_location_and_expiry_and_head_reports_offset_zero(user):
    response = create(user, 5000, **{"Upload-Metadata": metadata(filename="IMG_1.jpg")})
    assert response.status_code == 201
    assert response.headers["tus-resumable"] == "1.0.0"
    assert "GMT" in response.headers["upload-expires"]
    status = head(user, response.headers["location"])
    assert status.status_code == 200
    assert status.headers["upload-offset"] == "0" and status.headers["upload-length"] == "5000"
    assert status.headers["cache-control"] == "no-store"
    assert status.headers["upload-metadata"] == metadata(filename="IMG_1.jpg")


def test_upload_in_chunks_becomes_an_asset_like_a_plain_upload(user):
    body = photo(3_500_000, seed=1)
    url = created_url(user, len(body), filename="IMG_20221014_123456.jpg", modified_at="2022-10-14T12:34:56+02:00")
    last = finish(user, url, body)
    asset_id = last.headers["phonecloud-asset-id"]
    assert last.headers["upload-offset"] == str(len(body)) and last.headers["phonecloud-duplicate"] == "false"
    assert head(user, url).headers["phonecloud-asset-id"] == asset_id
    asset = user.http.get(f"/assets/{asset_id}").json()
    assert asset["sha1"] == hashlib.sha1(body).hexdigest() and asset["size_bytes"] == len(body)
    assert asset["original_filename"] == "IMG_20221014_123456.jpg"
    assert asset["file_modified_at"] == "2022-10-14T10:34:56Z"
    assert asset["kind"] == "photo" and asset["mime_type"] == "image/jpeg"
    assert user.http.get(f"/assets/{asset_id}/original").content == body
    assert used_bytes(user) == len(body)


def test_creation_with_upload_takes_the_first_bytes_or_all_of_them(user):
    body = photo(300_000, seed=2)
    partial = create(user, len(body), body[:100_000])
    assert partial.status_code == 201 and partial.headers["upload-offset"] == "100000"
    rest = patch(user, partial.headers["location"], 100_000, body[100_000:])
    assert rest.status_code == 204 and rest.headers["phonecloud-asset-id"]
    whole = create(user, len(body) + 1, body + b"\x00")
    assert whole.status_code == 201 and whole.headers["phonecloud-asset-id"]
    assert user.http.get(f"/assets/{whole.headers['phonecloud-asset-id']}/original").content == body + b"\x00"


def test_same_bytes_again_name_the_existing_asset_and_release_the_reservation(user):
    body = photo(200_000, seed=3)
    first = finish(user, created_url(user, len(body)), body).headers["phonecloud-asset-id"]
    second = finish(user, created_url(user, len(body)), body)
    assert second.headers["phonecloud-asset-id"] == first and second.headers["phonecloud-duplicate"] == "true"
    plain = upload(user, body)
    assert plain.status_code == 200 and plain.json()["id"] == first
    assert used_bytes(user) == len(body)
    assert user.http.get("/me").json()["asset_count"] == 1


# -- refusals ------------------------------------------------------------------------------------------

@pytest.mark.parametrize("version", [None, "0.2.2", "2.0.0"])
def test_missing_or_unsupported_version_gets_412_and_changes_nothing(user, version):
    url = created_url(user, 1000)
    headers = {} if version is None else {"Tus-Resumable": version}
    attempts = [
        user.http.post("/uploads/", headers={**headers, "Upload-Length": "10"}),
        user.http.head(url, headers=headers),
        user.http.patch(url, headers={**headers, "Upload-Offset": "0",
                                      "Content-Type": "application/offset+octet-stream"}, content=b"x" * 10),
        user.http.delete(url, headers=headers),
    ]
    for response in attempts:
        assert response.status_code == 412
        assert response.headers["tus-version"] == "1.0.0"
    assert head(user, url).headers["upload-offset"] == "0"


def test_patch_with_another_content_type_gets_415(user):
    url = created_url(user, 1000)
    response = user.http.patch(url, headers={**TUS, "Upload-Offset": "0", "Content-Type": "application/octet-stream"},
                               content=b"x" * 10)
    assert response.status_code == 415 and response.json()["error"] == "unsupported_content_type"
    refused = user.http.post("/uploads/", headers={**TUS, "Upload-Length": "10", "Content-Type": "text/plain"},
                             content=b"x" * 10)
    assert refused.status_code == 415
    assert head(user, url).headers["upload-offset"] == "0"


def test_offset_that_is_not_the_uploads_gets_409_and_nothing_is_appended(user):
    body = photo(50_000, seed=4)
    url = created_url(user, len(body))
    assert patch(user, url, 0, body[:20_000]).status_code == 204
    for wrong in (0, 10_000, 30_000):
        response = patch(user, url, wrong, body[wrong:wrong + 1000])
        assert response.status_code == 409
        assert response.headers["upload-offset"] == "20000"
    assert head(user, url).headers["upload-offset"] == "20000"


@pytest.mark.parametrize("headers, named", [
    ({}, "Upload-Length"),
    ({"Upload-Length": "-5"}, "Upload-Length"),
    ({"Upload-Length": "ten"}, "Upload-Length"),
    ({"Upload-Length": "99999999999999999999999"}, "Upload-Length"),
    ({"Upload-Length": "0"}, "empty"),
    ({"Upload-Length": "100", "Upload-Defer-Length": "1"}, "Upload-Defer-Length"),
    ({"Upload-Length": "100", "Upload-Metadata": "filename not*base64"}, "base64"),
    ({"Upload-Length": "100", "Upload-Metadata": "filename,filename"}, "twice"),
    ({"Upload-Length": "100", "Upload-Metadata": "modified_at " + metadata(x="yesterday")[2:]}, "modified_at"),
    ({"Upload-Length": "100", "Upload-Metadata": "sha1 " + metadata(x="abc")[2:]}, "sha1"),
])
def test_malformed_creation_gets_400_naming_the_problem(user, headers, named):
    before = used_bytes(user)
    response = user.http.post("/uploads/", headers={**TUS, **headers})
    assert response.status_code == 400, response.text
    assert named in response.json()["message"]
    assert used_bytes(user) == before


@pytest.mark.parametrize("offset", ["-1", "abc", "", "1.5"])
def test_malformed_offset_gets_400(user, offset):
    url = created_url(user, 1000)
    response = user.http.patch(url, headers={**TUS, "Upload-Offset": offset,
                                             "Content-Type": "application/offset+octet-stream"}, content=b"x")
    assert response.status_code == 400 and "Upload-Offset" in response.json()["message"]


def test_length_over_the_remaining_quota_or_the_server_limit_gets_413(accounts):
    owner = accounts.create(quota_bytes=1_000_000)
    created_url(owner, 600_000)
    over_quota = create(owner, 500_000)
    assert over_quota.status_code == 413 and over_quota.json()["error"] == "quota_exceeded"
    assert over_quota.json()["used_bytes"] == 600_000
    over_limit = create(owner, 2**62)
    assert over_limit.status_code == 413 and over_limit.json()["error"] == "too_large"
    assert used_bytes(owner) == 600_000


def test_bytes_past_upload_length_get_413_and_are_not_kept(user):
    body = photo(10_000, seed=5)
    url = created_url(user, len(body))
    response = patch(user, url, 0, body + b"extra")
    assert response.status_code == 413
    assert head(user, url).headers["upload-offset"] == "0"
    assert patch(user, url, 0, body).headers["phonecloud-asset-id"]


def test_checksum_mismatch_gets_460_and_nothing_is_appended(user):
    body = photo(40_000, seed=6)
    url = created_url(user, len(body))
    bad = patch(user, url, 0, body[:10_000], **{"Upload-Checksum": sha1_checksum(b"something else")})
    assert bad.status_code == 460 and bad.json()["error"] == "checksum_mismatch"
    assert head(user, url).headers["upload-offset"] == "0"
    good = patch(user, url, 0, body[:10_000], **{"Upload-Checksum": sha1_checksum(body[:10_000])})
    assert good.status_code == 204 and good.headers["upload-offset"] == "10000"
    unknown = patch(user, url, 10_000, body[10_000:], **{"Upload-Checksum": "crc99 AAAA"})
    assert unknown.status_code == 400 and "not supported" in unknown.json()["message"]
    last = patch(user, url, 10_000, body[10_000:], **{"Upload-Checksum": sha1_checksum(body[10_000:])})
    assert user.http.get(f"/assets/{last.headers['phonecloud-asset-id']}/original").content == body


def test_another_users_upload_is_404_for_every_method(user, other_user):
    url = created_url(other_user, 1000)
    for response in (head(user, url), patch(user, url, 0, b"x"), user.http.delete(url, headers=TUS)):
        assert response.status_code == 404
    assert head(other_user, url).status_code == 200
    assert head(user, url.rsplit("/", 1)[0] + "/not-an-id").status_code == 404
    assert patch(user, url.rsplit("/", 1)[0] + "/" + "0" * 32, 0, b"x").status_code == 404


def test_requests_without_credentials_get_401(server, user):
    url = created_url(user, 1000)
    anonymous = server.client()
    assert anonymous.post("/uploads/", headers={**TUS, "Upload-Length": "10"}).status_code == 401
    assert anonymous.head(url, headers=TUS).status_code == 401


def test_content_that_is_not_a_photo_or_video_ends_the_upload_with_415(server, user):
    body = b"%PDF-1.7\n" + os.urandom(20_000)
    url = created_url(user, len(body))
    response = patch(user, url, 0, body)
    assert response.status_code == 415 and response.json()["error"] == "unsupported_media"
    assert head(user, url).status_code == 404
    assert used_bytes(user) == 0 and url.rsplit("/", 1)[1] not in staged_uploads(server)


def test_declared_sha1_that_does_not_match_ends_the_upload_with_400(user):
    body = photo(30_000, seed=7)
    url = created_url(user, len(body), sha1="0" * 40)
    response = patch(user, url, 0, body)
    assert response.status_code == 400 and "SHA-1" in response.json()["message"]
    assert head(user, url).status_code == 404 and used_bytes(user) == 0


def test_termination_removes_bytes_and_releases_the_reservation(server, user):
    body = photo(100_000, seed=8)
    url = created_url(user, len(body))
    patch(user, url, 0, body[:40_000])
    assert used_bytes(user) == len(body)
    assert url.rsplit("/", 1)[1] in staged_uploads(server)
    response = user.http.delete(url, headers=TUS)
    assert response.status_code == 204 and response.headers["tus-resumable"] == "1.0.0"
    assert head(user, url).status_code == 404 and patch(user, url, 40_000, body[40_000:]).status_code == 404
    assert used_bytes(user) == 0 and url.rsplit("/", 1)[1] not in staged_uploads(server)


def test_method_override_lets_post_stand_for_patch_and_delete(user):
    body = photo(20_000, seed=9)
    url = created_url(user, len(body))
    response = user.http.post(url, headers={**TUS, "X-HTTP-Method-Override": "PATCH", "Upload-Offset": "0",
                                            "Content-Type": "application/offset+octet-stream"}, content=body)
    assert response.status_code == 204 and response.headers["phonecloud-asset-id"]
    other = created_url(user, 1000)
    assert user.http.post(other, headers={**TUS, "X-HTTP-Method-Override": "DELETE"}).status_code == 204
    assert head(user, other).status_code == 404


# -- quota under concurrency ------------------------------------------------------------------------------

def test_concurrent_tus_and_plain_uploads_never_exceed_the_quota(accounts):
    quota = 2_000_000
    owner = accounts.create(quota_bytes=quota)
    bodies = [photo(150_000, seed=100 + n) for n in range(30)]  # 2.25x the quota

    def send(numbered):
        number, body = numbered
        if number % 2:
            return upload(owner, body).status_code, body
        created = create(owner, len(body))
        if created.status_code != 201:
            return created.status_code, body
        return patch(owner, created.headers["location"], 0, body).status_code, body

    with ThreadPoolExecutor(12) as pool:
        results = list(pool.map(send, enumerate(bodies)))
    statuses = [status for status, _ in results]
    assert set(statuses) <= {201, 204, 413}
    accepted = [body for status, body in results if status in (201, 204)]
    assert len(accepted) == quota // 150_000
    me = owner.http.get("/me").json()
    assert me["used_bytes"] == 150_000 * len(accepted) <= quota and me["asset_count"] == len(accepted)
    stored = {asset["sha1"] for asset in owner.http.get("/assets", params={"limit": 100}).json()["items"]}
    assert stored == {hashlib.sha1(body).hexdigest() for body in accepted}


# -- expiry (a server of its own, with a short expiry) ----------------------------------------------------

@pytest.fixture(scope="module")
def quick_expiry(tmp_path_factory):
    with serving(tmp_path_factory.mktemp("expiry") / "data", {"PHONECLOUD_TUS_EXPIRY_SECONDS": "1"},
                 in_process=True) as running:
        yield running


def test_expired_upload_is_410_its_bytes_removed_and_quota_released(quick_expiry):
    server, accounts = quick_expiry
    owner = accounts.create()
    body = photo(60_000, seed=10)
    url = created_url(owner, len(body))
    patch(owner, url, 0, body[:30_000])
    assert used_bytes(owner) == len(body) and url.rsplit("/", 1)[1] in staged_uploads(server)
    time.sleep(1.5)  # past the one-second expiry: the state under test, not a timing assertion
    assert head(owner, url).status_code == 410
    response = patch(owner, url, 30_000, body[30_000:])
    assert response.status_code == 410 and response.json()["error"] == "upload_expired"
    assert used_bytes(owner) == 0 and url.rsplit("/", 1)[1] not in staged_uploads(server)


def test_expiry_sweep_reaches_uploads_nobody_asks_about(quick_expiry):
    server, accounts = quick_expiry
    owner = accounts.create()
    url = created_url(owner, 50_000)
    patch(owner, url, 0, photo(50_000, seed=11)[:20_000])
    time.sleep(1.5)
    created_url(owner, 1000)  # any tus request sweeps once the sweep interval (half the expiry) has passed
    assert url.rsplit("/", 1)[1] not in staged_uploads(server)
    assert used_bytes(owner) == 1000


def test_a_finished_upload_takes_an_empty_patch_and_refuses_more_bytes(user):
    body = photo(20_000, seed=12)
    url = created_url(user, len(body))
    asset_id = patch(user, url, 0, body).headers["phonecloud-asset-id"]
    again = patch(user, url, len(body), b"")
    assert again.status_code == 204 and again.headers["phonecloud-asset-id"] == asset_id
    assert patch(user, url, len(body), b"more").status_code == 413
    assert patch(user, url, 0, body).status_code == 409
    assert head(user, url).headers["phonecloud-asset-id"] == asset_id


def test_an_upload_whose_staged_bytes_were_lost_is_410(server, user):
    body = photo(30_000, seed=13)
    url = created_url(user, len(body))
    patch(user, url, 0, body[:10_000])
    staged = server.blob_root / ".resumable" / url.rsplit("/", 1)[1]
    shutil.rmtree(staged) if staged.is_dir() else staged.unlink()  # on S3: a folder of segments
    assert patch(user, url, 10_000, body[10_000:]).status_code == 410
    assert head(user, url).status_code == 410 and used_bytes(user) == 0


def test_a_patch_cut_off_mid_body_keeps_every_byte_that_arrived(server_process, accounts_process):
    import socket
    server, user = server_process, accounts_process.create()  # a connection cut: the process is tested
    from urllib.parse import urlsplit

    body = photo(8 << 20, seed=9901)
    url = created_url(user, len(body), filename="cut.jpg")
    arrived = 3 << 20
    head_lines = [f"PATCH {urlsplit(url).path} HTTP/1.1", f"Host: 127.0.0.1:{server.port}",
                  f"Authorization: {user.http.headers['authorization']}", "Tus-Resumable: 1.0.0",
                  "Upload-Offset: 0", "Content-Type: application/offset+octet-stream", f"Content-Length: {len(body)}"]
    with socket.create_connection(("127.0.0.1", server.port)) as connection:
        connection.sendall(("\r\n".join(head_lines) + "\r\n\r\n").encode() + body[:arrived])
    deadline = time.monotonic() + 30
    while (offset := int(head(user, url).headers["upload-offset"])) != arrived and time.monotonic() < deadline:
        time.sleep(0.1)
    assert offset == arrived  # not a byte less than arrived, as the PATCH route promises
    assert finish_from(user, url, body, offset).headers[ASSET_HEADER]


ASSET_HEADER = "phonecloud-asset-id"


def finish_from(user, url: str, body: bytes, offset: int):
    response = patch(user, url, offset, body[offset:])
    assert response.status_code == 204, response.text
    return response
