"""Quota: refused uploads get 413 naming the numbers, and concurrency never pushes usage over."""

from concurrent.futures import ThreadPoolExecutor

import pytest

from conftest import staging_drains, upload
from media_fixtures import jpeg

pytestmark = pytest.mark.in_process  # domain rules: the app in this process (tests/inprocess.py)


def padded_jpeg(seed: int, size: int) -> bytes:
    body = jpeg(seed)
    return body + b"\x00" * (size - len(body))


def test_upload_over_quota_gets_413_naming_used_quota_and_size(server, accounts):
    owner = accounts.create(quota_bytes=100_000)
    first = padded_jpeg(1, 60_000)
    assert upload(owner, first).status_code == 201
    second = padded_jpeg(2, 50_000)
    refused = upload(owner, second)
    assert refused.status_code == 413
    body = refused.json()
    assert body["error"] == "quota_exceeded"
    assert (body["used_bytes"], body["quota_bytes"], body["file_size"]) == (60_000, 100_000, 50_000)
    me = owner.http.get("/me").json()
    assert me["used_bytes"] == 60_000 and me["asset_count"] == 1
    assert staging_drains(server)


def test_an_upload_without_content_length_is_refused_once_it_passes_the_quota(accounts):
    owner = accounts.create(quota_bytes=10_000)
    body = padded_jpeg(3, 20_000)
    response = owner.http.post("/assets", params={"filename": "a.jpg", "modified_at": "2022-01-01T00:00:00Z"},
                               content=iter([body[:5000], body[5000:]]))
    assert response.status_code == 413
    refusal = response.json()  # stopped as soon as the bytes passed the quota: what had arrived by then
    assert 10_000 < refusal["file_size"] <= 20_000 and "bytes or more" in refusal["message"]
    assert (refusal["used_bytes"], refusal["quota_bytes"]) == (0, 10_000)


def test_exactly_filling_the_quota_is_allowed(accounts):
    owner = accounts.create(quota_bytes=30_000)
    assert upload(owner, padded_jpeg(4, 30_000)).status_code == 201
    assert upload(owner, padded_jpeg(5, 1_000)).status_code == 413


def test_concurrent_uploads_never_exceed_the_quota(accounts):
    quota = 1_000_000
    owner = accounts.create(quota_bytes=quota)
    bodies = [padded_jpeg(100 + n, 90_000) for n in range(40)]  # 3.6x the quota
    with ThreadPoolExecutor(20) as pool:
        responses = list(pool.map(lambda body: upload(owner, body), bodies))
    statuses = [r.status_code for r in responses]
    assert set(statuses) <= {201, 413}
    accepted = [body for body, r in zip(bodies, responses) if r.status_code == 201]
    assert len(accepted) == quota // 90_000
    assert all(r.json()["error"] == "quota_exceeded" for r in responses if r.status_code == 413)
    me = owner.http.get("/me").json()
    assert me["used_bytes"] == 90_000 * len(accepted) <= quota
    for body, response in zip(bodies, responses):
        if response.status_code == 201:
            assert owner.http.get(f"/assets/{response.json()['id']}/original").content == body


def test_duplicates_do_not_count_twice_toward_the_quota(accounts):
    owner = accounts.create(quota_bytes=100_000)
    body = padded_jpeg(6, 70_000)
    assert upload(owner, body).status_code == 201
    assert upload(owner, body).status_code == 200
    assert owner.http.get("/me").json()["used_bytes"] == 70_000


def test_set_quota_applies_to_the_next_upload(accounts):
    owner = accounts.create(quota_bytes=1_000)
    assert upload(owner, padded_jpeg(7, 5_000)).status_code == 413
    accounts.services.accounts.set_quota(owner.email, 10_000)
    assert upload(owner, padded_jpeg(7, 5_000)).status_code == 201
