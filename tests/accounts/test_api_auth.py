"""Health, OpenAPI, sign-in sessions, API keys and /me."""

import subprocess
import sys

import pytest

from conftest import upload
from media_fixtures import jpeg

pytestmark = pytest.mark.in_process  # domain rules: the app in this process (tests/inprocess.py)


def test_health_needs_no_auth(server):
    response = server.client().get("/health")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_openapi_is_served_and_describes_the_api(server):
    schema = server.client().get("/openapi.json").json()
    for path in ("/api/v1/health", "/api/v1/me", "/api/v1/assets", "/api/v1/assets/check",
                 "/api/v1/assets/{asset_id}/original", "/api/v1/albums/{album_id}/assets"):
        assert path in schema["paths"]


def test_password_login_gives_a_session_token_that_works_until_logout(server, user):
    anonymous = server.client()
    response = anonymous.post("/auth/login", json={"email": user.email.upper(), "password": user.password})
    assert response.status_code == 200
    token = response.json()["token"]
    session = server.client(token)
    assert session.get("/me").json()["email"] == user.email
    assert session.post("/auth/logout").status_code == 204
    refused = session.get("/me")
    assert refused.status_code == 401
    assert refused.json()["error"] == "unauthorized"


def test_wrong_password_and_unknown_email_get_the_same_401(server, user):
    anonymous = server.client()
    wrong = anonymous.post("/auth/login", json={"email": user.email, "password": "not the password"})
    unknown = anonymous.post("/auth/login", json={"email": "nobody@example.org", "password": "whatever1"})
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.json()["message"] == unknown.json()["message"]


def test_missing_malformed_or_wrong_credentials_get_401(server):
    for headers in ({}, {"Authorization": "Basic abc"}, {"Authorization": "Bearer"},
                    {"Authorization": "Bearer pck_not-a-real-key"}, {"Authorization": "Bearer pcs_forged"}):
        response = server.client().get("/me", headers=headers)
        assert response.status_code == 401, headers
        assert response.json()["message"]
        assert response.headers["www-authenticate"] == "Bearer"


def test_me_reports_usage_quota_and_count(server, accounts):
    owner = accounts.create(quota_bytes=10_000_000)
    before = owner.http.get("/me").json()
    assert before["used_bytes"] == 0 and before["asset_count"] == 0 and before["quota_bytes"] == 10_000_000
    body = jpeg(4242)
    assert upload(owner, body).status_code == 201
    after = owner.http.get("/me").json()
    assert after["used_bytes"] == len(body) and after["asset_count"] == 1


def test_default_quota_is_five_gibibytes(user):
    assert user.http.get("/me").json()["quota_bytes"] == 5 * 1024**3


def test_device_keys_can_be_created_listed_and_revoked(server, user):
    created = user.http.post("/devices", json={"name": "Pixel 7"})
    assert created.status_code == 201
    key, device_id = created.json()["key"], created.json()["device_id"]
    phone = server.client(key)
    assert phone.get("/me").status_code == 200
    devices = {device["id"]: device for device in user.http.get("/devices").json()}
    assert devices[device_id]["name"] == "Pixel 7" and not devices[device_id]["revoked"]
    assert key.startswith(devices[device_id]["key_prefix"])
    assert user.http.delete(f"/devices/{device_id}").status_code == 204
    assert phone.get("/me").status_code == 401


def test_only_a_hash_of_each_key_is_stored(server, accounts, user):
    from sqlalchemy import select

    from phonecloud.accounts.models import ApiKey

    with accounts.services.db.read() as session:
        stored = [row for row in session.scalars(select(ApiKey.key_hash))]
    assert user.key not in stored
    assert all(len(value) == 64 for value in stored)
    sqlite_file = server.data_dir / "phonecloud.sqlite3"
    if sqlite_file.exists():  # the embedded default: not even in the raw file
        # Read by another process: closing a descriptor of the live database here would drop the app's
        # SQLite locks (POSIX locks are per process), and the next process to close it would then delete
        # the write-ahead log the app still writes to, hiding every later write from other processes.
        raw = subprocess.run([sys.executable, "-c", "import sys; sys.stdout.buffer.write(open(sys.argv[1], 'rb')"
                              ".read())", str(sqlite_file)], capture_output=True, check=True).stdout
        assert raw and user.key.encode() not in raw


def test_one_user_cannot_revoke_another_users_device(user, other_user):
    device_id = other_user.http.get("/devices").json()[0]["id"]
    assert user.http.delete(f"/devices/{device_id}").status_code == 404
    assert other_user.http.get("/me").status_code == 200
