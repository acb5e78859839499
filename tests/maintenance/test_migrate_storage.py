"""`phonecloud admin migrate-storage`: an embedded install (SQLite + local disk) moved onto PostgreSQL and
S3, interrupted and resumed, then served from there: every asset, album and derivative arrives intact."""

from __future__ import annotations

import signal
import sqlite3
import subprocess
import time
from pathlib import Path

import pytest

from conftest import PHONECLOUD, Accounts, Server, serving, upload
from media_fixtures import jpeg
from phonecloud.core.blobstore import open_blob_store

PHOTOS = 12


def embedded(data_dir: Path) -> dict[str, str]:
    """The embedded default, spelled out so that a scale-out run keeps it too."""
    return {"PHONECLOUD_DATABASE_URL": f"sqlite:///{data_dir / 'phonecloud.sqlite3'}",
            "PHONECLOUD_BLOB_URL": (data_dir / "blobs").as_uri()}


def wait_for_media(user, asset_ids: list[str], timeout: float = 180) -> None:
    deadline = time.monotonic() + timeout
    for asset_id in asset_ids:
        while "pending" in ((media := user.http.get(f"/assets/{asset_id}").json()["media"])["state"],
                            media["preview_state"]):  # the preview follows the thumbnail
            assert time.monotonic() < deadline, f"asset {asset_id} still pending"
            time.sleep(0.1)


def library(client) -> dict:
    """Everything a user sees: assets with their bytes and thumbnails, albums with their members, usage."""
    assets = client.get("/assets", params={"limit": 1000}).json()["items"]
    trashed = client.get("/assets", params={"limit": 1000, "trashed": "true"}).json()["items"]
    albums = client.get("/albums").json()
    return {
        "assets": {a["id"]: (a["sha1"], client.get(f"/assets/{a['id']}/original").content,
                             client.get(f"/assets/{a['id']}/thumbnail").content) for a in assets},
        "trashed": sorted(a["id"] for a in trashed),
        "albums": {album["title"]: sorted(item["id"] for item in client.get(
            f"/albums/{album['id']}/assets", params={"limit": 1000}).json()["items"]) for album in albums},
        "used_bytes": client.get("/me").json()["used_bytes"],
    }


def migrate(env: dict[str, str], target: tuple[str, str], *options: str) -> subprocess.Popen:
    return subprocess.Popen([PHONECLOUD, "admin", "migrate-storage", "--to-database", target[0], "--to-blobs",
                             target[1], *options], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def copied_so_far(data_dir: Path) -> int:
    files = list((data_dir / "migrate-storage").glob("*.sqlite3"))
    if not files:
        return 0
    with sqlite3.connect(files[0]) as progress:
        try:
            return progress.execute("SELECT count(*) FROM copied").fetchone()[0]
        except sqlite3.OperationalError:  # not created yet
            return 0


@pytest.fixture
def embedded_library(tmp_path):
    """A stopped embedded server's data: two users, photos with derivatives, albums, one photo trashed."""
    data_dir = tmp_path / "embedded" / "data"
    with serving(data_dir, embedded(data_dir), in_process=True) as (server, accounts):  # the app makes the data
        users = [accounts.create(name="mover"), accounts.create(name="neighbour")]
        ids = [upload(users[n % 2], jpeg(500 + n), filename=f"IMG_{n:04d}.jpg").json()["id"] for n in range(PHOTOS)]
        mine = ids[0::2]
        holiday = users[0].http.post("/albums", json={"title": "Holiday"}).json()["id"]
        assert users[0].http.put(f"/albums/{holiday}/assets", json={"asset_ids": mine[:3]}).status_code == 200
        users[0].http.post("/albums", json={"title": "Empty"})
        assert users[0].http.post(f"/assets/{mine[-1]}/trash").status_code == 200
        wait_for_media(users[0], mine)
        wait_for_media(users[1], ids[1::2])
        before = [library(user.http) for user in users]
    assert len(before[0]["assets"]) == PHOTOS // 2 - 1 and len(before[0]["trashed"]) == 1
    assert len(before[0]["albums"]["Holiday"]) == 3 and before[0]["albums"]["Empty"] == []
    assert all(thumbnail.startswith(b"RIFF") for _, _, thumbnail in before[0]["assets"].values())
    return data_dir, server.env, users, before


def test_an_interrupted_migration_resumes_and_everything_arrives_verified(embedded_library, tmp_path,
                                                                        postgres_url, s3_url):
    data_dir, env, users, before = embedded_library
    target = (postgres_url, s3_url)

    first = migrate(env, target, "--max-blobs", "5")
    out, err = first.communicate(timeout=300)
    assert first.returncode == 3, err
    assert "run the same command again" in out and copied_so_far(data_dir) == 5

    second = migrate(env, target)  # killed outright part of the way through
    deadline = time.monotonic() + 120
    while copied_so_far(data_dir) < 8 and second.poll() is None and time.monotonic() < deadline:
        time.sleep(0.01)
    second.send_signal(signal.SIGKILL)
    second.communicate(timeout=60)

    third = migrate(env, target)
    out, err = third.communicate(timeout=300)
    assert third.returncode == 0, err
    assert "done: every blob and row is across and verified" in out
    assert copied_so_far(data_dir) == 3 * PHOTOS  # every original and both derivatives of each, once
    again = migrate(env, target)
    out, err = again.communicate(timeout=300)
    assert again.returncode == 0, err
    assert f"0 copied and verified (0 B), {3 * PHOTOS} already across" in out

    moved = Server(tmp_path / "moved" / "data", {"PHONECLOUD_DATABASE_URL": postgres_url,
                                                 "PHONECLOUD_BLOB_URL": s3_url}).start()
    try:
        for user, expected in zip(users, before):
            with moved.client(user.key) as client:  # the same keys work: every row came across
                assert library(client) == expected
        fresh = Accounts(moved)
        try:  # the id sequences were moved past the copied rows: new rows get new ids
            newcomer = fresh.create(name="after-move")
            assert upload(newcomer, jpeg(999)).status_code == 201
        finally:
            fresh.close()
    finally:
        moved.stop()


def test_a_destination_that_cannot_be_opened_is_refused_with_the_reason(tmp_path):
    data_dir = tmp_path / "data"
    env = {**Server(data_dir, embedded(data_dir)).env}
    done = migrate(env, ("sqlite:///" + str(tmp_path / "x.sqlite3"), "ftp://example.org/x"))
    _, err = done.communicate(timeout=120)
    assert done.returncode == 2
    assert "cannot open the destination" in err and "ftp" in err and "Traceback" not in err


def test_a_blob_gone_from_the_destination_since_is_named_and_copied_again(embedded_library, postgres_url, s3_url):
    data_dir, env, _, _ = embedded_library
    target = (postgres_url, s3_url)
    assert migrate(env, target).wait(300) == 0
    destination = open_blob_store(s3_url)
    lost = next(key for key in destination.iterate("users/") if "/originals/" in key)
    destination.delete(lost)

    check = migrate(env, target)
    out, err = check.communicate(timeout=300)
    assert check.returncode == 1 and f"blob {lost}: copied earlier but gone from the destination" in err
    repair = migrate(env, target)
    out, err = repair.communicate(timeout=300)
    assert repair.returncode == 0, err
    assert "1 copied and verified" in out and destination.exists(lost)
