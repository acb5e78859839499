"""What the web app added to the API and services, over real HTTP: favourites, deleting for good (bytes
and quota freed), the daily trash purge job, the administrators' user API, password changes, notices,
and the job queue's health read by the workers page."""

from __future__ import annotations

import datetime as dt
import time
import uuid

import pytest

import httpx
from sqlalchemy import select, update

from conftest import upload
from media_fixtures import jpeg

from phonecloud.accounts.models import User as UserRow
from phonecloud.gallery.models import Asset
from phonecloud.gallery.service import TRASH_PURGE_JOB
from phonecloud.jobs.models import Job
from phonecloud.media.models import AssetMedia

pytestmark = pytest.mark.in_process  # domain rules: the app in this process (tests/inprocess.py)


def processed(user, asset_id: str, deadline: float = 60) -> dict:
    """The asset once its thumbnail and its preview (which follows) are made."""
    until = time.monotonic() + deadline
    while "pending" in ((media := (record := user.http.get(f"/assets/{asset_id}").json())["media"])["state"],
                        media["preview_state"]):
        assert time.monotonic() < until, "the media pipeline did not process the asset"
        time.sleep(0.1)
    return record


def blob_keys(accounts, asset_id: str) -> list[str]:
    with accounts.services.db.read() as session:
        asset = session.get(Asset, uuid.UUID(asset_id))
        media = session.get(AssetMedia, asset.id)
        return [asset.blob_key, media.thumbnail_key, media.preview_key]


def make_admin(accounts, user) -> None:
    with accounts.services.db.write() as session:
        session.execute(update(UserRow).where(UserRow.email == user.email).values(is_admin=True))


def test_favourite_and_unfavourite(user):
    asset = upload(user, jpeg(5001)).json()["id"]
    assert user.http.put(f"/assets/{asset}/favorite").json()["is_favorite"] is True
    assert user.http.put(f"/assets/{asset}/favorite").json()["is_favorite"] is True  # idempotent
    assert user.http.get(f"/assets/{asset}").json()["is_favorite"] is True
    assert user.http.delete(f"/assets/{asset}/favorite").json()["is_favorite"] is False


def test_deleting_for_good_frees_the_quota_and_removes_the_bytes(user, accounts):
    asset = upload(user, jpeg(5002)).json()["id"]
    processed(user, asset)
    keys = blob_keys(accounts, asset)
    assert all(accounts.services.blobs.exists(key) for key in keys)
    used = user.http.get("/me").json()["used_bytes"]
    size = user.http.get(f"/assets/{asset}").json()["size_bytes"]

    refused = user.http.delete(f"/assets/{asset}")
    assert refused.status_code == 409 and "not in the trash" in refused.json()["message"]
    user.http.post(f"/assets/{asset}/trash")
    assert user.http.delete(f"/assets/{asset}").status_code == 204

    assert user.http.get(f"/assets/{asset}").status_code == 404
    assert user.http.delete(f"/assets/{asset}").status_code == 404
    assert user.http.get("/me").json()["used_bytes"] == used - size
    assert not any(accounts.services.blobs.exists(key) for key in keys)
    assert upload(user, jpeg(5002)).status_code == 201  # the same bytes again are a new upload, not a duplicate


def test_the_purge_deletes_only_what_was_trashed_over_30_days_ago(user, accounts):
    old, recent, kept = (upload(user, jpeg(seed)).json()["id"] for seed in (5003, 5004, 5005))
    for asset in (old, recent):
        user.http.post(f"/assets/{asset}/trash")
    with accounts.services.db.write() as session:
        session.execute(update(Asset).where(Asset.id == uuid.UUID(old))
                        .values(trashed_at=dt.datetime.now(dt.UTC) - dt.timedelta(days=31)))
    used = user.http.get("/me").json()["used_bytes"]
    old_size = user.http.get(f"/assets/{old}").json()["size_bytes"]

    assert accounts.services.kind("gallery").service.library.purge_trash() >= 1  # what the daily job runs

    assert user.http.get(f"/assets/{old}").status_code == 404
    assert user.http.get(f"/assets/{recent}").json()["trashed"] is True
    assert user.http.get(f"/assets/{kept}").json()["trashed"] is False
    assert user.http.get("/me").json()["used_bytes"] == used - old_size


def test_the_purge_runs_as_a_daily_chain_of_jobs(server, accounts):
    today = dt.datetime.now(dt.UTC).date()
    with accounts.services.db.read() as session:  # the server seeded today's run when it started
        seeded = session.scalar(select(Job).where(Job.kind == TRASH_PURGE_JOB, Job.subject == f"day:{today}"))
    assert seeded is not None

    accounts.services.kind("gallery").service.library.run_trash_purge(f"day:{today}")
    tomorrow = today + dt.timedelta(days=1)
    with accounts.services.db.read() as session:
        following = session.scalar(select(Job).where(Job.kind == TRASH_PURGE_JOB, Job.subject == f"day:{tomorrow}"))
    assert following.status == "queued"
    assert following.run_after == dt.datetime.combine(tomorrow, dt.time(), dt.UTC)
    accounts.services.kind("gallery").service.library.schedule_trash_purge(tomorrow)  # asked again: still one job
    with accounts.services.db.read() as session:
        assert len(session.scalars(select(Job).where(Job.kind == TRASH_PURGE_JOB,
                                                     Job.subject == f"day:{tomorrow}")).all()) == 1


def test_administrators_manage_users_through_the_api(accounts):
    admin, member = accounts.create(name="api-admin"), accounts.create(name="api-member")
    assert member.http.get("/admin/users").status_code == 403
    assert member.http.patch("/admin/users", json={"email": admin.email, "quota_bytes": 0}).status_code == 403
    make_admin(accounts, admin)

    listed = {row["email"]: row for row in admin.http.get("/admin/users").json()}
    assert listed[member.email]["asset_count"] == 0 and listed[admin.email]["is_admin"] is True
    made = admin.http.post("/admin/users", json={"email": "New.Person@Example.org", "password": "long enough pw",
                                                  "quota_bytes": 1000})
    assert made.status_code == 201 and made.json()["email"] == "new.person@example.org"
    assert made.json()["quota_bytes"] == 1000
    assert admin.http.post("/admin/users", json={"email": "new.person@example.org",
                                                 "password": "long enough pw"}).status_code == 409

    changed = admin.http.patch("/admin/users", json={"email": member.email, "quota_bytes": 3 << 30})
    assert changed.json()["quota_bytes"] == 3 << 30
    assert admin.http.patch("/admin/users", json={"email": member.email, "disabled": True}).json()["disabled"] is True
    assert member.http.get("/me").status_code == 403
    assert admin.http.patch("/admin/users", json={"email": member.email, "disabled": False}).status_code == 200
    assert member.http.get("/me").status_code == 200
    refused = admin.http.patch("/admin/users", json={"email": admin.email, "disabled": True})
    assert refused.status_code == 400 and "own account" in refused.json()["message"]
    assert admin.http.patch("/admin/users", json={"email": "nobody@example.org", "quota_bytes": 1}).status_code == 404


def test_changing_the_password_ends_the_other_sessions(server, user):
    anonymous = server.client()

    def session_token(password: str) -> httpx.Response:
        return anonymous.post("/auth/login", json={"email": user.email, "password": password})

    first, second = (session_token(user.password).json()["token"] for _ in range(2))
    signed_in = server.client(first)
    change = "/me/password"
    wrong = signed_in.post(change, json={"current_password": "not it", "new_password": "a new password"})
    assert wrong.status_code == 400 and wrong.json()["message"] == "the current password is wrong"
    short = signed_in.post(change, json={"current_password": user.password, "new_password": "short"})
    assert short.status_code == 400 and "at least 8" in short.json()["message"]
    done = signed_in.post(change, json={"current_password": user.password, "new_password": "a new password"})
    assert done.status_code == 204

    assert signed_in.get("/me").status_code == 200  # this session stays
    assert server.client(second).get("/me").status_code == 401
    assert user.http.get("/me").status_code == 200  # the device's API key stays
    assert session_token(user.password).status_code == 401
    assert session_token("a new password").status_code == 200


def test_notices_through_the_api(accounts):
    admin, member = accounts.create(name="notice-admin"), accounts.create(name="notice-member")
    assert member.http.post("/admin/notices", json={"message": "no"}).status_code == 403
    make_admin(accounts, admin)
    everyone = admin.http.post("/admin/notices", json={"message": "API test notice", "level": "warning"}).json()
    regional = admin.http.post("/admin/notices", json={"message": "Only region DE", "region": "DE"}).json()
    ended = admin.http.post("/admin/notices", json={
        "message": "Over", "starts_at": "2020-01-01T00:00:00Z", "ends_at": "2020-01-02T00:00:00Z"}).json()
    try:
        seen = [notice["message"] for notice in member.http.get("/notices").json()]
        assert "API test notice" in seen and "Only region DE" not in seen and "Over" not in seen
        bad = admin.http.post("/admin/notices", json={"message": "x", "level": "shouting"})
        assert bad.status_code == 400 and "level must be one of" in bad.json()["message"]
    finally:
        for notice in (everyone, regional, ended):
            assert admin.http.delete("/admin/notices", params={"id": notice["id"]}).status_code == 204
    assert "API test notice" not in [notice["message"] for notice in member.http.get("/notices").json()]
    assert admin.http.delete("/admin/notices", params={"id": 2_000_000_000}).status_code == 404
    assert {n["id"]: n["withdrawn"] for n in admin.http.get("/admin/notices").json()}[everyone["id"]] is True


def test_the_queue_health_counts_and_names_the_workers(user, accounts):
    asset = upload(user, jpeg(5006)).json()["id"]
    processed(user, asset)
    jobs = accounts.services.jobs
    health = jobs.health()
    assert health.ready >= 0 and health.scheduled >= 1  # tomorrow's trash purge at least
    workers = jobs.worker_activity()
    assert workers and all(":" in worker.worker for worker in workers)
    assert sum(worker.done_last_hour for worker in workers) >= 1
    assert all(worker.last_finished_at.tzinfo is not None for worker in workers if worker.last_finished_at)
