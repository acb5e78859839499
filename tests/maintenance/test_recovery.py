"""Startup recovery on real servers: what a crash leaves behind is removed, used bytes are put right,
young blobs of uploads in flight are left alone, and servers starting together repair once."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import re
import signal
import threading
import time
import uuid
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select, update

from cli_runner import phonecloud
from conftest import Accounts, Server, staging_drains, upload
from media_fixtures import jpeg

CRASH_ENV = {"PHONECLOUD_EMBEDDED_WORKERS": "0"}
# Nothing else writes to these test servers' stores, so recovery may take everything at once.
EAGER = {**CRASH_ENV, "PHONECLOUD_ORPHAN_MIN_AGE_SECONDS": "0", "PHONECLOUD_STAGING_MAX_AGE_SECONDS": "0"}


def blob_files(server: Server) -> set[str]:
    """Committed blobs (not the staging folders, .staging and .resumable)."""
    return {path.relative_to(server.blob_root).as_posix() for path in server.blob_root.rglob("*")
            if path.is_file() and not path.relative_to(server.blob_root).parts[0].startswith(".")}


def user_id(accounts: Accounts, email: str) -> int:
    return accounts.services.accounts.user_by_email(email).id


def used_bytes(accounts: Accounts, email: str) -> int:
    from phonecloud.accounts.models import User

    with accounts.services.db.read() as session:
        return session.scalar(select(User.used_bytes).where(User.email == email))


def set_used_bytes(accounts: Accounts, email: str, value: int) -> None:
    from phonecloud.accounts.models import User

    with accounts.services.db.write() as session:
        session.execute(update(User).where(User.email == email).values(used_bytes=value))


def stored_sizes(accounts: Accounts, email: str) -> int:
    from phonecloud.gallery.models import Asset

    uid = user_id(accounts, email)
    with accounts.services.db.read() as session:
        return sum(session.scalars(select(Asset.size_bytes).where(Asset.owner_id == uid)))


def referenced_keys(accounts: Accounts) -> set[str]:
    from phonecloud.gallery.models import Asset

    with accounts.services.db.read() as session:
        return set(session.scalars(select(Asset.blob_key)))


def put_blob(server: Server, key: str, body: bytes) -> None:
    from phonecloud.core.blobstore import LocalBlobStore

    LocalBlobStore(server.blob_root).put(key, [body])


def stage_file(server: Server, age_seconds: float | None) -> Path:
    """A piece of staging data as an upload killed mid-way leaves it, last written age_seconds ago."""
    path = server.blob_root / ".staging" / f"{uuid.uuid4().hex}.part"
    path.write_bytes(os.urandom(1000))
    if age_seconds is not None:
        moment = path.stat().st_mtime - age_seconds
        os.utime(path, (moment, moment))
    return path


def recovery_lines(log: str, event: str) -> list[str]:
    return [line for line in log.splitlines() if line.startswith(f"recovery {event} ")]


@pytest.fixture
def stopped(tmp_path):
    """A server's data folder with a migrated database and a user holding three photos (one trashed)."""
    server = Server(tmp_path / "data", CRASH_ENV).start()
    accounts = Accounts(server)
    owner, other = accounts.create(), accounts.create(name="other")
    bodies = [jpeg(seed) for seed in range(3)]
    ids = [upload(owner, body, filename=f"IMG_{n}.jpg").json()["id"] for n, body in enumerate(bodies)]
    assert owner.http.post(f"/assets/{ids[2]}/trash").status_code == 200  # trashed bytes stay charged
    assert upload(other, jpeg(99)).status_code == 201
    server.stop()
    yield server, accounts, owner, other, bodies
    accounts.close()


def test_the_gallerys_key_layouts_are_the_ones_recovery_recognises():
    from phonecloud.gallery import blobs

    sha1 = hashlib.sha1(b"x").hexdigest()
    assert blobs.parse(blobs.original_key(42, sha1)) == blobs.OriginalKey(42, sha1)
    asset_id = uuid.uuid4()
    assert blobs.parse(blobs.derived_key(42, asset_id, "thumbnail.webp")) == blobs.DerivedKey(42, asset_id)
    for unknown in ("users/42/uploads/abc", "exports/42/x.zip", "users/x/originals/ab/abc.1", f"users/1/{sha1}"):
        assert blobs.parse(unknown) is None


def test_start_removes_crash_leftovers_and_repairs_used_bytes(stopped):
    from phonecloud.gallery.blobs import original_key

    server, accounts, owner, other, bodies = stopped
    owner_id, other_id = user_id(accounts, owner.email), user_id(accounts, other.email)
    kept_before = blob_files(server)
    # A crash between blob commit and row insert: an upload of new bytes, and a re-upload of bytes the
    # owner already has (same SHA-1, a key of its own; the older row keeps its key).
    lost_new = original_key(owner_id, hashlib.sha1(b"lost").hexdigest())
    lost_duplicate = original_key(owner_id, hashlib.sha1(bodies[0]).hexdigest())
    dead_derivative = f"users/{other_id}/derived/{uuid.uuid4()}/thumbnail.webp"
    unknown = [f"users/{owner_id}/uploads/resumable-data", "exports/archive.zip"]
    for key in [lost_new, lost_duplicate, dead_derivative, *unknown]:
        put_blob(server, key, b"left by a crash")
    stale_staging = stage_file(server, age_seconds=7200)
    set_used_bytes(accounts, owner.email, 999)
    set_used_bytes(accounts, other.email, 0)

    restarted = Server(server.data_dir, {**CRASH_ENV, "PHONECLOUD_ORPHAN_MIN_AGE_SECONDS": "0"}).start()
    try:
        log = restarted.log_text()
        assert not stale_staging.exists()
        assert blob_files(server) == kept_before | set(unknown)  # never what it does not recognise
        assert referenced_keys(accounts) <= kept_before
        expected = {owner.email: sum(len(body) for body in bodies), other.email: len(jpeg(99))}
        for email, size in expected.items():
            assert used_bytes(accounts, email) == stored_sizes(accounts, email) == size

        assert recovery_lines(log, "staging_removed") == ["recovery staging_removed count=1 older_than_s=3600.0"]
        removed = recovery_lines(log, "orphan_removed")
        assert len(removed) == 3
        for key, kind, uid in ((lost_new, "original", owner_id), (lost_duplicate, "original", owner_id),
                               (dead_derivative, "derivative", other_id)):
            assert any(f"kind='{kind}' user_id={uid} key='{key}' bytes=15 " in line for line in removed), removed
        repaired = recovery_lines(log, "used_bytes_repaired")
        assert sorted(repaired) == sorted([
            f"recovery used_bytes_repaired user_id={owner_id} email='{owner.email}' old=999 "
            f"new={expected[owner.email]}",
            f"recovery used_bytes_repaired user_id={other_id} email='{other.email}' old=0 new={expected[other.email]}",
        ])
        assert "recovery done in" in log
        # The library itself is whole.
        with httpx.Client(base_url=f"{restarted.url}/api/v1", headers=owner.http.headers) as http:
            listed = http.get("/assets").json()["items"] + http.get("/assets", params={"trashed": "true"}).json()["items"]
            assert sorted(http.get(f"/assets/{item['id']}/original").content for item in listed) == sorted(bodies)
    finally:
        restarted.stop()


def test_young_blobs_and_live_staging_are_left_for_a_later_recovery(stopped):
    """A blob committed a moment ago may be an upload in another process whose row is on its way."""
    from phonecloud.gallery.blobs import original_key

    server, accounts, owner, _, _ = stopped
    in_flight = original_key(user_id(accounts, owner.email), hashlib.sha1(b"in flight").hexdigest())
    put_blob(server, in_flight, b"committed, row not yet inserted")
    live_staging = stage_file(server, age_seconds=None)

    restarted = Server(server.data_dir, CRASH_ENV).start()  # the default ages
    try:
        assert in_flight in blob_files(server) and live_staging.exists()
        assert not recovery_lines(restarted.log_text(), "orphan_removed")
    finally:
        restarted.stop()

    # `phonecloud admin recover` runs the same service, here told that nothing is in flight.
    env = {**os.environ, "PHONECLOUD_DATA_DIR": str(server.data_dir), "PHONECLOUD_ORPHAN_MIN_AGE_SECONDS": "0",
           "PHONECLOUD_STAGING_MAX_AGE_SECONDS": "0", **server.storage_env}
    done = phonecloud(env, "admin", "recover", "--json", timeout=120)
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout.splitlines()[-1])
    assert report["orphans_removed"] == 1 and report["staging_removed"] == 1 and report["usage_repairs"] == []
    assert f"key='{in_flight}'" in done.stderr  # the same log line as at start
    assert in_flight not in blob_files(server) and not live_staging.exists()


def test_servers_starting_together_repair_once(stopped):
    from phonecloud.gallery.blobs import original_key

    server, accounts, owner, _, bodies = stopped
    orphans = [original_key(user_id(accounts, owner.email), hashlib.sha1(bytes([n])).hexdigest()) for n in range(20)]
    for key in orphans:
        put_blob(server, key, b"orphan")
    set_used_bytes(accounts, owner.email, 1)
    servers = [Server(server.data_dir, EAGER) for _ in range(2)]
    errors = []

    def start(one: Server) -> None:
        try:
            one.start()
        except Exception as error:  # reported below, with the others
            errors.append(error)

    threads = [threading.Thread(target=start, args=(one,)) for one in servers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    try:
        assert not errors, errors
        logs = "\n".join(one.log_text() for one in servers)
        assert len(recovery_lines(logs, "used_bytes_repaired")) == 1  # one transaction at a time: once
        assert used_bytes(accounts, owner.email) == sum(len(body) for body in bodies)
        assert not set(orphans) & blob_files(server)
        assert {re.search(r"key='([^']+)'", line).group(1) for line in recovery_lines(logs, "orphan_removed")} \
            == set(orphans)
        assert "Traceback" not in logs
    finally:
        for one in servers:
            one.stop()


def test_after_a_sigkill_during_uploads_a_restart_leaves_nothing_behind(tmp_path):
    """A small version of the crash suite: uploads in flight when the server is killed, and a resumable
    upload left unfinished (its reservation stays part of the used bytes)."""
    server = Server(tmp_path / "data", CRASH_ENV).start()
    accounts = Accounts(server)
    owner = accounts.create()
    reserved = 5 << 20
    tus = {"Tus-Resumable": "1.0.0"}
    created = owner.http.post("/uploads/", headers={**tus, "Upload-Length": str(reserved),
                                                    "Upload-Metadata": "filename " + base64.b64encode(b"v.mp4").decode()})
    assert created.status_code == 201, created.text
    sent = jpeg(7) + os.urandom(1 << 20)
    part = owner.http.patch(created.headers["location"], content=sent, headers={
        **tus, "Upload-Offset": "0", "Content-Type": "application/offset+octet-stream"})
    assert part.status_code == 204, part.text
    acknowledged: dict[str, str] = {}  # asset id -> SHA-1 the client sent
    lock = threading.Lock()
    enough = threading.Event()

    def uploader(number: int) -> None:
        with httpx.Client(base_url=f"{server.url}/api/v1", headers=owner.http.headers, timeout=60) as http:
            for seq in range(1000):
                body = jpeg(number * 1000 + seq) + os.urandom(1 << 20)  # a photo with a long tail: time in flight
                try:
                    answer = http.post("/assets", params={"filename": f"{number}-{seq}.jpg",
                                                          "modified_at": "2022-10-14T12:34:56Z"}, content=body)
                except httpx.TransportError:
                    return  # the server is gone
                if answer.status_code == 201:
                    with lock:
                        acknowledged[answer.json()["id"]] = hashlib.sha1(body).hexdigest()
                        if len(acknowledged) >= 12:
                            enough.set()

    threads = [threading.Thread(target=uploader, args=(number,)) for number in range(6)]
    for thread in threads:
        thread.start()
    try:
        assert enough.wait(120), "uploads did not get going"
        server.process.send_signal(signal.SIGKILL)
        server.process.wait(30)
    finally:
        for thread in threads:
            thread.join(120)
        server.stop()
    set_used_bytes(accounts, owner.email, 0)  # and a counter gone wrong too

    restarted = Server(server.data_dir, EAGER).start()
    try:
        with httpx.Client(base_url=f"{restarted.url}/api/v1", headers=owner.http.headers, timeout=60) as http:
            for asset_id, sha1 in acknowledged.items():
                answer = http.get(f"/assets/{asset_id}/original")
                assert answer.status_code == 200 and hashlib.sha1(answer.content).hexdigest() == sha1
            assert http.get("/me").json()["used_bytes"] == stored_sizes(accounts, owner.email) + reserved
            location = restarted.url + httpx.URL(created.headers["location"]).path
            resumed = http.head(location, headers=tus)  # and it is still resumable
            assert resumed.status_code == 200 and int(resumed.headers["upload-offset"]) == len(sent)
        assert staging_drains(restarted)
        assert blob_files(server) == referenced_keys(accounts)
    finally:
        restarted.stop()
        accounts.close()


def test_a_running_server_sweeps_crash_leftovers_without_a_restart(stopped):
    from phonecloud.gallery.blobs import original_key

    server, accounts, owner, _, _ = stopped
    running = Server(server.data_dir, {**EAGER, "PHONECLOUD_EMBEDDED_WORKERS": "1",
                                       "PHONECLOUD_SWEEP_INTERVAL_SECONDS": "1"}).start()
    try:
        kept = referenced_keys(accounts)
        # What another process of the same install left when it died, long after this one started.
        lost = original_key(user_id(accounts, owner.email), hashlib.sha1(b"lost later").hexdigest())
        put_blob(server, lost, b"left by a crash")
        stale = stage_file(server, age_seconds=7200)
        deadline = time.monotonic() + 60
        while (stale.exists() or lost in blob_files(server)) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert not stale.exists() and lost not in blob_files(server)
        assert kept <= blob_files(server)  # every original an asset holds is still there
        assert any(f"key='{lost}'" in line for line in recovery_lines(running.log_text(), "orphan_removed"))
        assert running.process.poll() is None  # the same process, still serving
        with httpx.Client(base_url=f"{running.url}/api/v1", headers=owner.http.headers) as http:
            assert http.post("/assets", params={"filename": "after.jpg", "modified_at": "2022-01-01T00:00:00Z"},
                             content=jpeg(9900)).status_code == 201
    finally:
        running.stop()
