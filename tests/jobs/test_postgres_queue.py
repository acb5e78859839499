"""PostgreSQL with many processes: jobs claimed exactly once by competing worker processes (SKIP LOCKED),
a user's quota exact while several API processes take that user's uploads at once, and two transactions
writing the same album membership or media row at once both succeeding."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import insert, select

from media_fixtures import jpeg
from phonecloud.core.blobstore import open_blob_store
from phonecloud.core.db import Database, utcnow
from phonecloud.jobs.models import DONE, Job
from phonecloud.jobs.queue import JobQueue

KIND = "test.count"

# A worker process: migrates nothing, waits for "go" on stdin so that all start claiming at once, then
# claims and completes jobs until none is left, and prints the subjects it got.
CLAIMER = """
import json, sys
from phonecloud.core.db import Database
from phonecloud.jobs.queue import JobQueue

queue = JobQueue(Database(sys.argv[1]))
queue.pending()  # connected and ready
print("ready", flush=True)
sys.stdin.readline()
got = []
while (job := queue.claim(sys.argv[2], [sys.argv[3]])) is not None:
    got.append(job.subject)
    queue.complete(job)
print(json.dumps(got), flush=True)
"""


@pytest.fixture
def db(postgres_url) -> Database:
    database = Database(postgres_url)
    database.migrate()
    yield database
    database.dispose()


def test_competing_worker_processes_claim_every_job_exactly_once(db, postgres_url):
    queue = JobQueue(db)
    subjects = [f"item:{n}" for n in range(400)]
    with db.write() as session:
        for subject in subjects:
            JobQueue.enqueue_in(session, KIND, subject)
    workers = [subprocess.Popen([sys.executable, "-c", CLAIMER, postgres_url, f"worker-{n}", KIND],
                                stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True) for n in range(4)]
    for worker in workers:
        assert worker.stdout.readline().strip() == "ready"
    for worker in workers:
        worker.stdin.write("go\n")
        worker.stdin.flush()
    claims = [json.loads(worker.communicate(timeout=300)[0]) for worker in workers]

    every = [subject for claim in claims for subject in claim]
    assert sorted(every) == sorted(subjects)  # each claimed once: none twice, none missed
    assert sum(1 for claim in claims if claim) >= 2, [len(claim) for claim in claims]
    assert queue.counts() == {(KIND, DONE): len(subjects)}


def test_a_job_locked_by_another_transaction_is_skipped_not_waited_for(db):
    queue = JobQueue(db)
    queue.enqueue(KIND, "first")
    queue.enqueue(KIND, "second")
    with db.write() as holder:  # another worker in the middle of claiming "first"
        holder.scalar(select(Job).where(Job.subject == "first").with_for_update())
        claimed = queue.claim("other", [KIND])
        assert claimed is not None and claimed.subject == "second"
        assert queue.claim("other", [KIND]) is None
    assert queue.claim("other", [KIND]).subject == "first"  # free again once the holder is done


def padded(seed: int, size: int) -> bytes:
    body = jpeg(seed)
    return body + b"\x00" * (size - len(body))


def test_quota_is_exact_under_concurrent_uploads_through_two_api_processes(two_api_processes, s3_url):
    servers, accounts = two_api_processes
    size = 50_000
    user = accounts.create(quota_bytes=10 * size + size // 2)
    other = servers[1].client(user.key)
    clients = [user.http, other]

    def send(n: int) -> int:
        return upload_via(clients[n % 2], padded(1000 + n, size), f"IMG_{n}.jpg")[0]

    with other, ThreadPoolExecutor(12) as pool:
        statuses = list(pool.map(send, range(30)))
        me_there = other.get("/me").json()

    assert sorted(statuses) == [201] * 10 + [413] * 20
    for me in (user.http.get("/me").json(), me_there):
        assert (me["used_bytes"], me["asset_count"]) == (10 * size, 10)
    originals = [key for key in open_blob_store(s3_url).iterate("users/") if "/originals/" in key]
    assert len(originals) == 10  # a refused upload's bytes are gone from the bucket too


def test_the_same_bytes_through_two_api_processes_at_once_are_stored_and_charged_once(two_api_processes):
    servers, accounts = two_api_processes
    user = accounts.create()
    body = padded(77, 300_000)

    with servers[1].client(user.key) as other, ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(lambda n: upload_via([user.http, other][n % 2], body), range(8)))
        me = other.get("/me").json()

    assert sorted(status for status, _ in answers) == [200] * 7 + [201]
    assert len({asset_id for _, asset_id in answers}) == 1
    assert (me["used_bytes"], me["asset_count"]) == (len(body), 1)


def upload_via(client, body: bytes, filename: str = "same.jpg") -> tuple[int, str | None]:
    response = client.post("/assets", params={"filename": filename, "modified_at": "2022-01-01T00:00:00Z"},
                           content=body)
    return response.status_code, response.json().get("id")


def test_sums_of_integers_come_back_as_int_as_on_sqlite(db):
    from sqlalchemy import BigInteger, cast, func, literal, text

    with db.read() as session:
        total = session.scalar(select(func.sum(cast(literal(2**40), BigInteger))))
        fraction = session.scalar(text("SELECT 1.5::numeric"))
    assert total == 2**40 and type(total) is int
    assert str(fraction) == "1.5"  # a real fraction stays exact


# -- two transactions on the same rows at once: what SQLite serialised, PostgreSQL runs side by side -------

@pytest.fixture
def services(postgres_url, tmp_path):
    from phonecloud.server.container import Services
    from phonecloud.core.settings import Settings

    started = Services.start(Settings(data_dir=tmp_path / "data", database_url=postgres_url))
    yield started
    started.close()


def owner_with_photos(services, count: int):
    from phonecloud.accounts.service import Principal
    from phonecloud.uploads.intake import IntakeMeta

    user = services.accounts.create_user(f"racer-{count}@example.org", "correct horse battery")
    principal = Principal(user_id=user.id, email=user.email, is_admin=False)
    meta = IntakeMeta("IMG.jpg", dt.datetime(2024, 1, 1, tzinfo=dt.UTC))
    intake = services.intake.destination("gallery")
    assets = [intake.finish(principal, intake.stage(principal, meta), meta, [jpeg(500 + n)]).item for n in range(count)]
    return principal, assets


def wait_until_blocked(db: Database, what: str) -> None:
    """Until some other transaction waits for a row lock in this database (the racer reached the held row)."""
    from sqlalchemy import text

    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        with db.read() as session:
            if session.scalar(text("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                                   "AND wait_event_type = 'Lock'")):
                return
        time.sleep(0.02)
    raise AssertionError(f"{what} never reached the row held by the other transaction")


def test_two_processes_adding_the_same_asset_to_an_album_at_once_both_succeed(services):
    from phonecloud.gallery.models import AlbumAsset

    principal, assets = owner_with_photos(services, 1)
    gallery, asset_id = services.kind("gallery").service.albums, assets[0].id
    album = gallery.create_album(principal, "Holidays")
    with ThreadPoolExecutor(1) as pool:
        with services.db.write() as other:  # another API process, half-way through adding the same asset
            other.execute(insert(AlbumAsset).values(album_id=album.id, asset_id=asset_id, added_at=utcnow()))
            racer = pool.submit(gallery.change_album_assets, principal, album.id, [asset_id], True)
            wait_until_blocked(services.db, "the second add")
        assert racer.result() == [{"asset_id": asset_id, "result": "already"}]
    assert gallery.get_album(principal, album.id)[1] == 1


def test_many_adds_of_the_same_assets_to_an_album_at_once_add_each_once(services):
    principal, assets = owner_with_photos(services, 30)
    gallery, ids = services.kind("gallery").service.albums, [asset.id for asset in assets]
    album = gallery.create_album(principal, "Everyone adds everything")
    start = threading.Barrier(6)

    def add(n: int) -> list[dict]:
        start.wait()
        return gallery.change_album_assets(principal, album.id, ids[n:] + ids[:n], True)

    with ThreadPoolExecutor(6) as pool:
        answers = [result for results in pool.map(add, range(6)) for result in results]
    added = sorted(str(answer["asset_id"]) for answer in answers if answer["result"] == "added")
    assert added == sorted(str(asset_id) for asset_id in ids)  # each exactly once; the others said "already"
    assert sum(answer["result"] == "already" for answer in answers) == 5 * len(ids)
    assert gallery.get_album(principal, album.id)[1] == len(ids)


def test_two_workers_recording_the_same_assets_media_at_once_both_succeed(services):
    from phonecloud.media.jobs import job_subject
    from phonecloud.media.models import PENDING, READY, AssetMedia

    _, assets = owner_with_photos(services, 1)
    asset_id = assets[0].id
    with ThreadPoolExecutor(1) as pool:
        with services.db.write() as other:  # another worker on the same asset (its lease lapsed), about to commit
            other.execute(insert(AssetMedia).values(asset_id=asset_id, state=PENDING, updated_at=utcnow()))
            racer = pool.submit(services.kind("gallery").service.media().process, job_subject(asset_id))
            wait_until_blocked(services.db, "the second worker's record")
        racer.result()
    with services.db.read() as session:
        row = session.get(AssetMedia, asset_id)
    assert row.state == READY and row.thumbnail_key and row.width  # the later writer's full record stands


def test_owners_take_turns_and_a_locked_turn_passes_to_the_next_owner(db):
    queue = JobQueue(db)
    for owner, count in ((1, 3), (2, 1), (3, 1)):
        for number in range(count):
            queue.enqueue(KIND, f"owner{owner}-{number}", owner_id=owner)
    first = queue.claim("w", [KIND])
    assert first.subject == "owner1-0"
    with db.write() as holder:  # another worker is claiming owner 2's only job right now
        holder.scalar(select(Job).where(Job.subject == "owner2-0").with_for_update())
        assert queue.claim("w", [KIND]).subject == "owner3-0"
    assert [queue.claim("w", [KIND]).subject for _ in range(3)] == ["owner1-1", "owner2-0", "owner1-2"]
