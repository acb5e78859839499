"""Many processes on one PostgreSQL database and one S3 bucket: two API servers and two workers, one of each
killed outright in the middle of the work. No acknowledged upload and no job may be lost."""

from __future__ import annotations

import hashlib
import itertools
import signal
import subprocess
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from conftest import PHONECLOUD, Accounts, Server
from media_fixtures import jpeg
from phonecloud.core.db import Database
from phonecloud.jobs.queue import DONE, FAILED, JobQueue
from phonecloud.media.jobs import MEDIA_JOB

PHOTOS = 30
KILL_AFTER = 10  # acknowledged uploads before server A and worker 1 die
LEASE_SECONDS = "2"


@pytest.fixture
def cluster(tmp_path, postgres_url, s3_url):
    """Two API processes (no embedded workers) and two worker processes on shared storage."""
    shared = {"PHONECLOUD_DATABASE_URL": postgres_url, "PHONECLOUD_BLOB_URL": s3_url,
              "PHONECLOUD_EMBEDDED_WORKERS": "0", "PHONECLOUD_JOB_LEASE_SECONDS": LEASE_SECONDS}
    servers = [Server(tmp_path / name / "data", shared) for name in ("api-a", "api-b")]
    for server in servers:
        server.start()
    workers = [subprocess.Popen([PHONECLOUD, "worker", "--threads", "1"], env=servers[n].env,
                                stdout=subprocess.DEVNULL, stderr=open(tmp_path / f"worker-{n}.log", "ab"))
               for n in range(2)]
    accounts = Accounts(servers[1])
    yield servers, workers, accounts
    accounts.close()
    for worker in workers:
        if worker.poll() is None:
            worker.terminate()
            worker.wait(30)
    for server in servers:
        server.stop()


def test_killing_an_api_process_and_a_worker_mid_run_loses_no_upload_and_no_job(cluster):
    servers, workers, accounts = cluster
    user = accounts.create(name="crash")
    clients = [server.client(user.key) for server in servers]
    bodies = [jpeg(3000 + n) + bytes(n) for n in range(PHOTOS)]
    acknowledged: dict[int, str] = {}
    enough = threading.Event()
    turn = itertools.count()

    def send(n: int) -> None:
        """As a load balancer would: the next backend in turn, another one when a backend is gone."""
        first = next(turn)
        for attempt in range(20):
            client = clients[(first + attempt) % 2]
            try:
                response = client.post("/assets", content=bodies[n], params={
                    "filename": f"IMG_{n:04d}.jpg", "modified_at": "2023-05-01T10:00:00Z"})
            except httpx.TransportError:
                continue  # the backend died under this request: nothing was acknowledged
            assert response.status_code in (200, 201), response.text
            acknowledged[n] = response.json()["id"]
            if len(acknowledged) >= KILL_AFTER:
                enough.set()
            return
        raise AssertionError(f"photo {n} found no live backend")

    with ThreadPoolExecutor(4) as pool:
        futures = [pool.submit(send, n) for n in range(PHOTOS)]
        enough.wait(300)
        servers[0].process.send_signal(signal.SIGKILL)
        workers[0].send_signal(signal.SIGKILL)
        for future in futures:
            future.result()

    assert servers[0].process.wait(30) == -signal.SIGKILL and workers[0].wait(30) == -signal.SIGKILL
    survivor = clients[1]
    assert sorted(acknowledged) == list(range(PHOTOS))
    for n, asset_id in acknowledged.items():
        original = survivor.get(f"/assets/{asset_id}/original")
        assert hashlib.sha1(original.content).digest() == hashlib.sha1(bodies[n]).digest(), n
    me = survivor.get("/me").json()
    assert (me["asset_count"], me["used_bytes"]) == (PHOTOS, sum(map(len, bodies)))  # charged once each

    # The surviving worker takes over the dead one's jobs once their leases lapse.
    deadline = time.monotonic() + 300
    for asset_id in acknowledged.values():
        while (state := survivor.get(f"/assets/{asset_id}").json()["media"]["state"]) == "pending":
            assert time.monotonic() < deadline, f"asset {asset_id} never processed"
            time.sleep(0.2)
        assert state == "ready", asset_id
        assert survivor.get(f"/assets/{asset_id}/thumbnail").status_code == 200
    db = Database(servers[1].database_url)
    try:
        counts = JobQueue(db).counts()
    finally:
        db.dispose()
    assert counts[(MEDIA_JOB, DONE)] == PHOTOS and not any(status == FAILED for _, status in counts)
    for client in clients:
        client.close()


def test_servers_starting_together_on_an_empty_database_migrate_once(tmp_path, postgres_url, s3_url):
    shared = {"PHONECLOUD_DATABASE_URL": postgres_url, "PHONECLOUD_BLOB_URL": s3_url,
              "PHONECLOUD_EMBEDDED_WORKERS": "0"}
    servers = [Server(tmp_path / f"s{n}" / "data", shared) for n in range(3)]
    try:
        with ThreadPoolExecutor(3) as pool:
            list(pool.map(Server.start, servers))  # each raises if its process exits or never answers
        accounts = Accounts(servers[2])
        try:
            user = accounts.create()
            for server in servers:
                with server.client(user.key) as client:
                    assert client.get("/me").status_code == 200
        finally:
            accounts.close()
    finally:
        for server in servers:
            server.stop()


def test_a_tus_upload_goes_on_whichever_api_process_the_next_request_reaches(tmp_path, postgres_url, s3_url):
    from conftest import User
    from tus_helpers import created_url, head, patch, photo

    shared = {"PHONECLOUD_DATABASE_URL": postgres_url, "PHONECLOUD_BLOB_URL": s3_url,
              "PHONECLOUD_EMBEDDED_WORKERS": "0"}
    servers = [Server(tmp_path / name / "data", shared).start() for name in ("api-a", "api-b")]
    accounts = Accounts(servers[0])
    try:
        on_a = accounts.create(name="tus")
        on_b = User(on_a.email, on_a.password, on_a.key, servers[1].client(on_a.key))
        body = photo(3_000_123, seed=21)
        url_a = created_url(on_a, len(body), filename="VID_resumed.jpg")
        url_b = url_a.replace(servers[0].url, servers[1].url)
        assert url_b.startswith(servers[1].url)  # the same upload, addressed to the other process
        cuts = [0, 1_000_000, 2_500_000, len(body)]
        for number, (start, end) in enumerate(zip(cuts, cuts[1:])):
            sender, url = (on_a, url_a) if number % 2 == 0 else (on_b, url_b)
            answer = patch(sender, url, start, body[start:end])
            assert answer.status_code == 204, answer.text
            other = on_b if sender is on_a else on_a
            assert int(head(other, url_b if other is on_b else url_a).headers["upload-offset"]) == end
        items = on_b.http.get("/assets").json()["items"]
        assert [item["original_filename"] for item in items] == ["VID_resumed.jpg"]
        assert on_a.http.get(f"/assets/{items[0]['id']}/original").content == body
        assert on_b.http.get("/me").json()["used_bytes"] == len(body)
        on_b.http.close()
    finally:
        accounts.close()
        for server in servers:
            server.stop()
