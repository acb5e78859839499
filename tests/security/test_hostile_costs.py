"""What a hostile user can make the server spend, beyond what one request's answer shows: staging disk for a
body that will be refused, memory for a body sent without credentials, and other users' waiting time."""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

import httpx
import pytest

from conftest import run_worker, serving, upload
from media_fixtures import jpeg, jpeg_with_looping_exif
from route_table import settled

MIB = 1 << 20


def _folder_bytes(folder: Path) -> int:
    return sum(path.stat().st_size for path in folder.rglob("*") if path.is_file()) if folder.exists() else 0


def _peak_rss(pid: int) -> int:
    """The process's peak resident memory so far (VmHWM), in bytes."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no VmHWM in /proc")


# -- a streamed body is stopped once it passes the owner's free quota -----------------------------------


def test_a_chunked_upload_stops_at_the_quota_not_at_the_server_limit(server, accounts):
    owner = accounts.create(quota_bytes=10 * MIB, name="streamer")
    staging = server.blob_root / ".staging"
    sent, peak, done = [0], [0], threading.Event()

    def body():
        yield jpeg(9500)[:64]  # a photo's first bytes, so the content is accepted as media
        for _ in range(200):
            sent[0] += MIB
            yield os.urandom(MIB)

    def watch():
        while not done.is_set():
            peak[0] = max(peak[0], _folder_bytes(staging))
            time.sleep(0.005)

    watcher = threading.Thread(target=watch)
    watcher.start()
    try:
        answer = owner.http.post("/assets", params={"filename": "big.jpg", "modified_at": "2022-01-01T00:00:00Z"},
                                 content=body(), headers={"Content-Type": "application/octet-stream"})
    except httpx.TransportError:
        answer = None  # the server may close before the client reads: the staging figures below still hold
    finally:
        done.set()
        watcher.join()
    if answer is not None:
        assert answer.status_code == 413 and answer.json()["error"] == "quota_exceeded", answer.text
        assert "0 of 10485760 bytes used" in answer.json()["message"]
    assert peak[0] <= 12 * MIB, f"staging held {peak[0]} bytes for a user with 10 MiB of quota"
    assert sent[0] < 200 * MIB  # the server stopped reading (its drain of a refused body is bounded)
    assert owner.http.get("/me").json()["used_bytes"] == 0


def test_a_duplicate_may_be_sent_by_a_user_whose_quota_is_full(server, accounts):
    owner = accounts.create(quota_bytes=4000, name="full")
    photo = jpeg(9501) + os.urandom(2500)
    first = upload(owner, photo, filename="first.jpg")
    assert first.status_code == 201, first.text
    sha1 = first.json()["asset"]["sha1"]
    again = owner.http.post("/assets", params={"filename": "again.jpg", "modified_at": "2022-01-01T00:00:00Z",
                                               "sha1": sha1},
                            content=iter([photo]), headers={"Content-Type": "application/octet-stream"})
    assert again.status_code == 200 and again.json()["duplicate"], again.text
    longer = owner.http.post("/assets", params={"filename": "longer.jpg", "modified_at": "2022-01-01T00:00:00Z",
                                                "sha1": sha1},
                             content=iter([photo, b"\0" * 8000]), headers={"Content-Type": "application/octet-stream"})
    assert longer.status_code == 413 and "stored file its SHA-1 names" in longer.json()["message"], longer.text


def test_uploads_in_flight_share_the_owners_free_quota():
    from phonecloud.accounts.quota import Allowance, UploadsInFlight
    from phonecloud.core.errors import QuotaExceeded

    def refusal(received: int, in_flight: int) -> QuotaExceeded:
        return QuotaExceeded(f"{received} received, {in_flight} in flight elsewhere")

    ledger = UploadsInFlight()
    first, second = (Allowance(ledger, 7, 10, lambda: None, refusal) for _ in range(2))
    first.take(6)
    second.take(4)
    with pytest.raises(QuotaExceeded, match="5 received, 6 in flight elsewhere"):
        second.take(1)
    first.release()
    second.take(1)  # the first one ended: its bytes are no longer in flight
    assert ledger.in_flight(7) == 5
    second.release()
    assert ledger.in_flight(7) == 0
    duplicate = Allowance(ledger, 7, 3, lambda: 8, refusal)  # past its room, it may be as long as the stored file
    duplicate.take(5)
    duplicate.take(3)
    assert ledger.in_flight(7) == 0
    with pytest.raises(QuotaExceeded, match="longer than the 8 bytes"):
        duplicate.take(1)


# -- bodies sent without credentials are never parsed; parsed ones cost what their bytes do -------------


@pytest.fixture
def fresh_server(tmp_path):
    """A server of its own, so that its memory figures are this test's alone."""
    with serving(tmp_path / "data") as running:
        yield running


def _flood(url: str, path: str, body: bytes, headers: dict[str, str], count: int) -> list[int | None]:
    statuses: list[int | None] = [None] * count

    def send(number: int) -> None:
        try:
            statuses[number] = httpx.post(url + path, content=body, headers=headers, timeout=120).status_code
        except httpx.TransportError:
            statuses[number] = -1  # answered and closed before the body was taken: fine for a refusal

    threads = [threading.Thread(target=send, args=(number,)) for number in range(count)]
    for thread in threads:
        thread.start()
    health = []
    while any(thread.is_alive() for thread in threads):
        health.append(httpx.get(url + "/api/v1/health", timeout=60).status_code)
    for thread in threads:
        thread.join()
    assert set(health) <= {200}  # served all along
    return statuses


def test_json_floods_cost_memory_in_proportion_to_their_bytes(fresh_server):
    server, accounts = fresh_server
    owner = accounts.create(name="flooder")
    pid = server.process.pid
    before = _peak_rss(pid)
    padding = b'{"pad": [' + b"{}," * 5_000_000 + b"{}]}"  # 15 MiB: 338 MiB of Python objects once
    json_type = {"Content-Type": "application/json"}
    assert set(_flood(server.url, "/api/v1/assets/check", padding, json_type, 8)) <= {401, -1}
    assert set(_flood(server.url, "/api/v1/auth/login", padding, json_type, 8)) <= {413, -1}
    unauthenticated = _peak_rss(pid) - before
    within_limit = b'{"pad": [' + b"{}," * 1_000_000 + b'{}], "items": []}'  # 3 MiB, under the check's 4 MiB
    statuses = _flood(server.url, "/api/v1/assets/check", within_limit,
                      {**json_type, "Authorization": f"Bearer {owner.key}"}, 8)
    assert statuses == [200] * 8
    authenticated = _peak_rss(pid) - before
    assert unauthenticated < 32 * MIB, f"{unauthenticated / MIB:.0f} MiB for bodies nobody signed"
    assert authenticated < 128 * MIB, f"{authenticated / MIB:.0f} MiB for 8 bodies of 3 MiB"


# -- one user's crafted files do not make another's photo wait ------------------------------------------


def test_another_users_photo_is_not_queued_behind_a_flood_of_crafted_files(quiet_server):
    server, accounts = quiet_server
    mallory, bob = accounts.create(name="mallory"), accounts.create(name="bob")
    crafted = [upload(mallory, jpeg_with_looping_exif(5000, seed), filename=f"crafted-{seed}.jpg").json()["id"]
               for seed in range(9600, 9610)]
    photo = upload(bob, jpeg(9620), filename="bob.jpg").json()["id"]  # last in line by time
    run_worker(server)  # one process, one job at a time: the order of finishing is the order of claiming
    from sqlalchemy import select

    from phonecloud.jobs.models import Job
    from phonecloud.media.jobs import MEDIA_JOB

    with accounts.services.db.read() as session:
        order = list(session.scalars(select(Job.subject).where(Job.kind == MEDIA_JOB)
                                     .order_by(Job.finished_at, Job.id)))
    assert order.index(f"asset:{photo}") <= 1, order  # bob's turn came at once, not after mallory's ten
    assert settled(bob, photo)["media"]["state"] == "ready"
    for asset_id in crafted:  # the crafted files are kept and answered for, each in bounded time
        assert settled(mallory, asset_id)["media"]["state"] in ("ready", "failed")
