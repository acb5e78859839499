"""Deleting an account, from the API and the CLI: sign-ins stop at once, every kind of data, upload and export
of the account goes, blobs under its prefix and rows that name it are gone (proved by the receipt's final scan
and by looking ourselves), a SIGKILL in the middle resumes, and nobody else loses a byte."""

from __future__ import annotations

import base64
import json
import os
import signal
import subprocess
import time
from pathlib import Path

import httpx
import pytest

from cli_runner import phonecloud
from conftest import PHONECLOUD, Accounts, Server, User, serving, upload
from media_fixtures import jpeg
from route_table import holdings, ready_export, settled

TUS = {"Tus-Resumable": "1.0.0"}


def _user_id(accounts: Accounts, user: User) -> int:
    return accounts.services.accounts.user_by_email(user.email).id


def _library(user: User, seed: int, photos: int = 3) -> dict[str, object]:
    """Photos (with their derivatives), an album, an unfinished resumable upload and a ready export."""
    ids = [upload(user, jpeg(seed + n), filename=f"IMG_{n}.jpg").json()["id"] for n in range(photos)]
    for asset_id in ids:
        settled(user, asset_id)
    album = user.http.post("/albums", json={"title": "Holidays"}).json()
    user.http.put(f"/albums/{album['id']}/assets", json={"asset_ids": ids})
    body = jpeg(seed + 99) + os.urandom(5000)
    metadata = "filename " + base64.b64encode(b"half.jpg").decode()
    created = user.http.post("/uploads/", headers={**TUS, "Upload-Length": str(len(body)), "Upload-Metadata": metadata})
    user.http.patch(created.headers["location"], content=body[:3000],
                    headers={**TUS, "Upload-Offset": "0", "Content-Type": "application/offset+octet-stream"})
    return {"asset_id": ids[0], "album_id": album["id"], "export_id": ready_export(user)}


def _files_under(server: Server, user_id: int) -> list[Path]:
    folder = server.blob_root / "users" / str(user_id)
    return [path for path in folder.rglob("*") if path.is_file()] if folder.exists() else []


def _receipt(url: str, timeout: float = 120) -> dict:
    deadline = time.monotonic() + timeout
    while (receipt := httpx.get(url).json())["state"] != "done":
        assert time.monotonic() < deadline, receipt
        time.sleep(0.1)
    return receipt


def test_a_user_deletes_their_account_and_gets_a_receipt(server, accounts):
    leaving, staying = accounts.create(name="leaving"), accounts.create(name="staying")
    staying_ids = _library(staying, 9300)
    _library(leaving, 9400)
    leaving_id = _user_id(accounts, leaving)
    assert _files_under(server, leaving_id)
    before = holdings(staying, staying_ids)

    wrong = leaving.http.request("DELETE", "/me", json={"password": "not the password"})
    assert wrong.status_code == 400 and "password is wrong" in wrong.json()["message"]
    assert leaving.http.get("/me").json()["usage"]["gallery"]["items"] == 3  # nothing happened

    started = leaving.http.request("DELETE", "/me", json={"password": leaving.password})
    assert started.status_code == 202, started.text
    assert leaving.http.get("/me").status_code == 401  # the key stopped working at once
    receipt = _receipt(started.json()["receipt_url"])  # readable without credentials

    removed = receipt["removed"]
    assert removed["gallery"]["items"] == 3 and removed["gallery"]["blobs"] == 9  # originals, thumbnails, previews
    assert removed["uploads"]["items"] == 1 and removed["uploads"]["bytes"] == 3000
    assert removed["exports"]["items"] == 1 and removed["exports"]["blobs"] == 1
    assert receipt["final_scan"] == {"blobs_under_prefix": 0, "rows_left": {}, "clean": True}
    assert receipt["requested_by"] == "self" and leaving.email not in str(receipt)
    assert not _files_under(server, leaving_id)
    with accounts.services.db.read() as session:  # our own look, beside the receipt's
        from phonecloud.accounts.deletion import _rows_referencing_user

        assert set(_rows_referencing_user(session, leaving_id).values()) == {0}
    assert holdings(staying, staying_ids) == before  # nobody else lost anything


def test_an_unknown_receipt_is_404_and_a_receipt_names_nobody(server, accounts):
    assert httpx.get(f"{server.url}/api/v1/deletions/{'0' * 32}").status_code == 404
    assert httpx.get(f"{server.url}/api/v1/deletions/not-an-id").status_code == 422
    leaving = accounts.create(name="named")
    started = leaving.http.request("DELETE", "/me", json={"password": leaving.password}).json()
    receipt = _receipt(started["receipt_url"])
    page = httpx.get(f"{server.url}/deletions/{receipt['id']}")
    assert page.status_code == 200 and "Deleted." in page.text and leaving.email not in page.text


def test_an_administrator_deletes_an_account_from_the_command_line(server, accounts):
    leaving = accounts.create(name="removed")
    _library(leaving, 9500, photos=2)
    leaving_id = _user_id(accounts, leaving)
    run = phonecloud(server.env, "admin", "delete-user", leaving.email, "--yes", "--json")
    assert run.returncode == 0, run.stderr
    receipt = run.summary
    assert receipt["state"] == "done" and receipt["requested_by"] == "admin"
    assert receipt["removed"]["gallery"]["items"] == 2 and receipt["final_scan"]["clean"]
    assert not _files_under(server, leaving_id)
    assert leaving.http.get("/me").status_code == 401
    refused = phonecloud(server.env, "admin", "delete-user", leaving.email, "--yes")
    assert refused.returncode == 1 and "no user with email" in refused.stderr


def test_an_administrator_deletes_an_account_through_the_api(server, accounts):
    admin = accounts.create(name="operator")
    from sqlalchemy import update

    from phonecloud.accounts.models import User as UserRow

    with accounts.services.db.write() as session:
        session.execute(update(UserRow).where(UserRow.email == admin.email).values(is_admin=True))
    leaving, other = accounts.create(name="by-api"), accounts.create(name="not-admin")
    assert other.http.post("/admin/users/deletions", json={"email": leaving.email}).status_code == 403
    started = admin.http.post("/admin/users/deletions", json={"email": leaving.email})
    assert started.status_code == 202, started.text
    assert _receipt(started.json()["receipt_url"])["final_scan"]["clean"]


# -- a crash in the middle ---------------------------------------------------------------------------------

LEASE_SECONDS = 3


@pytest.fixture
def quiet(tmp_path):
    """The app (in this process: the commands are what is killed) running no jobs itself, with short leases so
    that a killed runner's work is taken up soon."""
    with serving(tmp_path / "data", {"PHONECLOUD_EMBEDDED_WORKERS": "0",
                                     "PHONECLOUD_JOB_LEASE_SECONDS": str(LEASE_SECONDS)}, in_process=True) as running:
        yield running


def test_a_deletion_killed_in_the_middle_resumes_and_its_receipt_adds_up(quiet):
    server, accounts = quiet
    leaving, staying = accounts.create(name="many"), accounts.create(name="bystander")
    count = 1100  # three batches of the gallery's purge
    photo = jpeg(1)
    for n in range(count):  # distinct bytes, so that each is an asset and a blob of its own
        assert upload(leaving, photo + n.to_bytes(4, "big"), filename=f"IMG_{n}.jpg").status_code == 201
    kept = upload(staying, jpeg(19_999), filename="kept.jpg").json()["id"]
    leaving_id = _user_id(accounts, leaving)

    command = subprocess.Popen([PHONECLOUD, "admin", "delete-user", leaving.email, "--yes", "--json"],
                               env=server.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deletions = accounts.services.deletions
    deadline = time.monotonic() + 120
    while True:  # kill it once it has removed some of the photos, not all
        deletion = _running_deletion(accounts)
        if deletion is not None and 0 < deletion.removed_items < count:
            break
        assert command.poll() is None and time.monotonic() < deadline, "the deletion ended before it was killed"
        time.sleep(0.005)
    command.send_signal(signal.SIGKILL)
    command.wait(10)
    assert leaving.http.get("/me").status_code == 401  # sign-ins stopped before anything else

    time.sleep(LEASE_SECONDS + 0.5)  # the killed command's lease lapses; a job worker takes the deletion up
    worker = subprocess.run([PHONECLOUD, "worker", "--until-idle"], env=server.env, capture_output=True, text=True,
                            timeout=300)
    assert worker.returncode == 0, worker.stderr
    from phonecloud.accounts.deletion import receipt_json

    receipt = receipt_json(deletions.receipt(deletion.id))
    assert receipt["state"] == "done" and receipt["final_scan"]["clean"], (receipt, worker.stdout, worker.stderr, accounts.services.jobs.failures())
    removed = receipt["removed"]
    assert removed["gallery"]["items"] == count, (removed, worker.stdout)  # counted with the rows they removed: none twice, none lost
    assert removed["gallery"]["blobs"] == count and removed["swept_at_end"]["blobs"] < count
    assert not _files_under(server, leaving_id)
    assert staying.http.get(f"/assets/{kept}/original").content == jpeg(19_999)


class _Progress:
    def __init__(self, deletion):
        self.id = deletion.id
        self.removed_items = json.loads(deletion.receipt)["removed"].get("gallery", {}).get("items", 0)


def _running_deletion(accounts: Accounts) -> _Progress | None:
    from sqlalchemy import select

    from phonecloud.accounts.models import AccountDeletion

    with accounts.services.db.read() as session:
        deletion = session.scalar(select(AccountDeletion).where(AccountDeletion.state == "running"))
    return _Progress(deletion) if deletion is not None else None
