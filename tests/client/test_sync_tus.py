"""The sync client sends large files over tus and continues an upload that an earlier run left unfinished
(see test_tus_resume.py for the same under interruptions, with 1 GB)."""

from __future__ import annotations

import hashlib
import sqlite3
from pathlib import Path

from sqlalchemy import select

from cli_runner import clean_env, phonecloud
from conftest import User
from phonecloud.client.api import Api
from phonecloud.client.config import Connection
from phonecloud.client.sync.resumable import RESUME_RETRIES, upload_resumably
from phonecloud.client.sync.scan import FoundFile
from phonecloud.client.sync.state import SyncState
from phonecloud.uploads.models import ResumableUpload
from tcp_proxy import CountingProxy
from tus_helpers import created_url, head, patch, photo

THRESHOLD = 1 << 20


def sync(server, user: User, folder: Path, client_dir: Path) -> dict:
    env = clean_env(PHONECLOUD_CLIENT_DIR=str(client_dir), PHONECLOUD_SYNC_TUS_THRESHOLD=str(THRESHOLD))
    run = phonecloud(env, "sync", str(folder), "--server", server.url, "--key", user.key, "--json")
    assert run.returncode == 0, run.stderr
    return run.summary


def resumable_rows(accounts, user: User) -> list[ResumableUpload]:
    owner_id = accounts.services.accounts.user_by_email(user.email).id
    with accounts.services.db.read() as session:
        return list(session.scalars(select(ResumableUpload).where(ResumableUpload.owner_id == owner_id)))


def client_state(server, user: User, client_dir: Path) -> SyncState:
    return SyncState(client_dir / Connection(server.url, user.key).state_name())


def remember(server, user: User, client_dir: Path, path: Path, url: str) -> None:
    """What a client killed half-way leaves in its state: the upload's URL for that version of the file."""
    status, sha1 = path.stat(), hashlib.sha1(path.read_bytes()).hexdigest()
    state = client_state(server, user, client_dir)
    state.remember_resumable(str(path), status.st_size, status.st_mtime_ns, sha1, url)
    state.close()


def uploads_in_state(server, user: User, client_dir: Path) -> int:
    state_file = client_dir / Connection(server.url, user.key).state_name()
    with sqlite3.connect(state_file) as db:
        return db.execute("SELECT count(*) FROM resumable").fetchone()[0]


def phone_file(tmp_path: Path, name: str, body: bytes) -> Path:
    folder = tmp_path / "phone"
    folder.mkdir(exist_ok=True)
    (folder / name).write_bytes(body)
    return folder / name


def test_files_above_the_threshold_go_over_tus_and_the_others_as_plain_uploads(server, accounts, user, tmp_path):
    big, small = photo(3 * THRESHOLD, seed=50), photo(THRESHOLD // 2, seed=51)
    phone_file(tmp_path, "VID_big.jpg", big)
    summary = sync(server, user, phone_file(tmp_path, "IMG_small.jpg", small).parent, tmp_path / "client")
    assert (summary["uploaded"], summary["failed"]) == (2, 0)
    rows = resumable_rows(accounts, user)
    assert [(row.length, row.state, row.filename) for row in rows] == [(len(big), "completed", "VID_big.jpg")]
    asset = user.http.get(f"/assets/{rows[0].asset_id}").json()
    assert asset["sha1"] == hashlib.sha1(big).hexdigest()
    assert user.http.get("/me").json()["used_bytes"] == len(big) + len(small)
    assert uploads_in_state(server, user, tmp_path / "client") == 0


def test_an_upload_left_unfinished_is_continued_from_the_servers_offset(server, accounts, user, tmp_path):
    client_dir, body = tmp_path / "client", photo(5 * THRESHOLD, seed=52)
    path = phone_file(tmp_path, "VID_half.jpg", body)
    url = created_url(user, len(body), filename=path.name)
    assert patch(user, url, 0, body[:2 * THRESHOLD]).status_code == 204
    remember(server, user, client_dir, path, url)
    summary = sync(server, user, path.parent, client_dir)
    assert (summary["uploaded"], summary["failed"]) == (1, 0)
    finished = head(user, url)
    assert finished.headers["upload-offset"] == str(len(body))
    assert user.http.get(f"/assets/{finished.headers['phonecloud-asset-id']}/original").content == body
    assert len(resumable_rows(accounts, user)) == 1  # continued, not started again
    assert uploads_in_state(server, user, client_dir) == 0


def test_an_upload_the_server_no_longer_has_is_started_again(server, accounts, user, tmp_path):
    client_dir, body = tmp_path / "client", photo(2 * THRESHOLD, seed=53)
    path = phone_file(tmp_path, "VID_gone.jpg", body)
    url = created_url(user, len(body))
    user.http.delete(url, headers={"Tus-Resumable": "1.0.0"})
    remember(server, user, client_dir, path, url)
    summary = sync(server, user, path.parent, client_dir)
    assert (summary["uploaded"], summary["failed"]) == (1, 0)
    rows = resumable_rows(accounts, user)
    assert len(rows) == 1 and rows[0].state == "completed" and rows[0].id.hex not in url


def test_an_upload_outlives_a_server_that_stays_down_longer_than_one_request_retries(server, user, tmp_path):
    """A server restarting on a loaded machine is away for many tries: the upload waits for it (its waits
    counted across PATCHes and HEADs, never more than RESUME_RETRIES in a row) and goes on from its offset."""
    body = photo(6 * THRESHOLD, seed=54)
    path = phone_file(tmp_path, "VID_away.jpg", body)
    retries = 2
    proxy = CountingProxy(server.port, cut_at=2 * THRESHOLD, refusals=retries + 3)
    api = Api(Connection(proxy.url, user.key), retries=retries, backoff=0.01)
    state = client_state(server, user, tmp_path / "client")
    try:
        found = FoundFile(str(path), len(body), path.stat().st_mtime_ns)
        uploaded = upload_resumably(api, state, found, hashlib.sha1(body).hexdigest())
    finally:
        api.close()
        state.close()
        proxy.close()
    assert proxy.refused == retries + 3 < RESUME_RETRIES
    assert user.http.get(f"/assets/{uploaded.asset_id}/original").content == body
    assert proxy.sent - len(body) < 2 * THRESHOLD  # went on from the server's offset, not from the start
