"""Thumbnails first, on both databases: the media job makes the metadata and the thumbnail only, and queues the
preview's job, which workers claim only when no other job is ready; a preview asked for before its job ran
is made there and then (once, however many ask at the same moment) and kept. A preview that cannot be made
says why, and never hides the thumbnail or the original.

The services of a server run in this process with no worker of their own: the tests run the job workers'
loop a job at a time (WorkerPool.run_one), and count the renders the real sandbox is asked for."""

from __future__ import annotations

import datetime as dt
import io
import re
import threading
import uuid

import pytest
from PIL import Image
from sqlalchemy import select

from gallery.test_memories import member
from phonecloud.accounts.service import Principal
from phonecloud.core.blobstore import BlobNotFound
from phonecloud.core.errors import Conflict, Gone, NotFound
from phonecloud.gallery.models import Asset
from phonecloud.gallery.schemas import media_out
from phonecloud.jobs.models import QUEUED, Job
from phonecloud.jobs.queue import LATER, JobQueue
from phonecloud.media.derivatives import PREVIEW, THUMBNAIL, RenderError
from phonecloud.media.jobs import MEDIA_JOB, PREVIEW_JOB, job_subject
from phonecloud.media.models import FAILED, READY, AssetMedia
from phonecloud.media.sandbox import RenderSandbox
from phonecloud.uploads.intake import IntakeMeta

MEDIA_KINDS = (MEDIA_JOB, PREVIEW_JOB)


def photo(seed: int, size=(1600, 1200)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, (seed * 37 % 256, 90, 160)).save(buffer, "JPEG", quality=90)
    return buffer.getvalue()


def uploaded(services, owner: Principal, data: bytes, name: str = "IMG_0001.jpg") -> uuid.UUID:
    """Through the gallery's intake, as an upload ends: the asset, its original and its media job."""
    intake = services.kind("gallery").service.intake
    meta = IntakeMeta(name, dt.datetime(2024, 5, 6, 7, 8, 9, tzinfo=dt.UTC))
    return intake.finish(owner, intake.stage(owner, meta), meta, [data]).item_id


def gallery(services):
    return services.kind("gallery").service


def row(services, asset_id: uuid.UUID) -> AssetMedia | None:
    with services.db.read() as session:
        return session.get(AssetMedia, asset_id)


def asset_of(services, asset_id: uuid.UUID) -> Asset:
    with services.db.read() as session:
        return session.get(Asset, asset_id)


def jobs(services, kind: str) -> dict[str, str]:
    with services.db.read() as session:
        return dict(session.execute(select(Job.subject, Job.status).where(Job.kind == kind)).all())


@pytest.fixture
def pool(services):
    """The server's job workers (every kind it knows, previews among the later ones), run by the test, each
    media job it runs recorded in order as (kind, subject)."""
    workers = services.workers(0)
    ran: list[tuple[str, str]] = []

    def recorded(kind, handler):
        def run(subject):
            ran.append((kind, subject))
            handler(subject)
        return run

    workers.handlers = {kind: recorded(kind, handler) if kind in MEDIA_KINDS else handler
                        for kind, handler in workers.handlers.items()}
    workers.ran = ran
    return workers


@pytest.fixture
def renders(monkeypatch) -> list[str]:
    """The derivatives the render sandboxes of this process are asked for, in order."""
    asked, render = [], RenderSandbox.render

    def counted(self, path, media, derivative):
        asked.append(derivative)
        return render(self, path, media, derivative)

    monkeypatch.setattr(RenderSandbox, "render", counted)
    return asked


def run_media_jobs(pool, count: int) -> list[tuple[str, str]]:
    """The next `count` media jobs the workers claim (other kinds of job they run on the way are left out)."""
    start = len(pool.ran)
    while len(pool.ran) < start + count:
        assert pool.run_one(), f"no job ready after {pool.ran[start:]}"
    return pool.ran[start:]


def test_thumbnails_are_made_first_and_previews_when_no_thumbnail_waits(services, pool, renders):
    alice, bob = member(services, "alice"), member(services, "bob")
    first = [uploaded(services, alice, photo(1), "a1.jpg"), uploaded(services, bob, photo(2), "b1.jpg"),
             uploaded(services, alice, photo(3), "a2.jpg")]
    assert [kind for kind, _ in run_media_jobs(pool, 3)] == [MEDIA_JOB] * 3
    assert renders == []  # the media job's one visit to its child (metadata and thumbnail) asks no render()
    for asset_id in first:
        media = row(services, asset_id)
        assert media.state == READY and media.thumbnail_key and media.width == 1600
        assert (media.preview_key, media.preview_error) == (None, None)
        assert media_out(media)["preview_state"] == "pending" and media_out(media)["state"] == "ready"
        assert services.blobs.exists(media.thumbnail_key)
    assert set(jobs(services, PREVIEW_JOB)) == {job_subject(asset_id) for asset_id in first}
    assert set(jobs(services, PREVIEW_JOB).values()) == {QUEUED}

    assert run_media_jobs(pool, 1)[0][0] == PREVIEW_JOB  # nothing else waits: a preview
    late = uploaded(services, bob, photo(4), "b2.jpg")  # an upload meanwhile: its thumbnail goes first
    assert run_media_jobs(pool, 1) == [(MEDIA_JOB, job_subject(late))]
    assert {kind for kind, _ in run_media_jobs(pool, 3)} == {PREVIEW_JOB}
    done = len(pool.ran)
    pool.run_until_idle()
    assert len(pool.ran) == done  # every media job ran once
    assert renders == [PREVIEW] * 4
    for asset_id in [*first, late]:
        media = row(services, asset_id)
        assert media.preview_key and media.preview_error is None and media_out(media)["preview_state"] == "ready"
        preview = Image.open(io.BytesIO(b"".join(services.blobs.get(media.preview_key))))
        assert (preview.format, preview.size) == ("JPEG", (1440, 1080))


def test_the_queue_claims_later_jobs_only_when_no_other_job_is_ready(services):
    queue: JobQueue = services.jobs
    for number in range(2):
        queue.enqueue(PREVIEW_JOB, f"asset:p{number}", owner_id=1, priority=LATER)
    queue.enqueue(MEDIA_JOB, "asset:m0", owner_id=2)
    queue.enqueue(MEDIA_JOB, "asset:m1", owner_id=1)
    claimed = [queue.claim("w", list(MEDIA_KINDS)) for _ in range(4)]
    # The previews were queued first; owners still take turns within each priority.
    assert [job.subject for job in claimed] == ["asset:m1", "asset:m0", "asset:p0", "asset:p1"]
    assert queue.claim("w", list(MEDIA_KINDS)) is None


def test_a_backlog_of_previews_costs_the_thumbnails_claims_nothing(services):
    """Each look-up of a claim is a range of an index that starts with (status, priority): the claims of the
    media jobs never walk past the queued previews of a first backup (on SQLite; PostgreSQL's planner goes by
    statistics, which a few rows do not show)."""
    if services.db.dialect != "sqlite":
        pytest.skip("query plans are checked on SQLite")
    from sqlalchemy import event

    with services.db.write() as session:
        for number in range(2000):
            JobQueue.enqueue_in(session, PREVIEW_JOB, f"asset:p{number}", owner_id=1 + number % 5, priority=LATER)
        JobQueue.enqueue_in(session, MEDIA_JOB, "asset:m", owner_id=3)
    asked = []

    def seen(connection, cursor, statement, parameters, context, executemany):
        if statement.lstrip().startswith("SELECT") and "FROM jobs" in statement:
            asked.append((statement, parameters))

    event.listen(services.db.engine, "before_cursor_execute", seen)
    try:
        assert services.jobs.claim("w", list(MEDIA_KINDS)).subject == "asset:m"
        assert services.jobs.claim("w", list(MEDIA_KINDS)).kind == PREVIEW_JOB
    finally:
        event.remove(services.db.engine, "before_cursor_execute", seen)
    assert asked
    with services.db.engine.connect() as connection:
        for statement, parameters in asked:
            plan = " ".join(row[-1] for row in connection.exec_driver_sql(f"EXPLAIN QUERY PLAN {statement}",
                                                                         parameters))
            assert re.search(r"USING INDEX ix_jobs_\w+ \(status=\? AND priority=\?", plan), (statement, plan)


def test_a_preview_asked_for_first_is_made_then_kept_and_its_job_renders_nothing(services, pool, renders):
    owner = member(services, "viewer")
    asset_id = uploaded(services, owner, photo(5, size=(3000, 4000)))
    run_media_jobs(pool, 1)
    media = gallery(services).media()
    asset = asset_of(services, asset_id)
    key, mime = media.derivative(asset, row(services, asset_id), PREVIEW)
    assert mime == "image/jpeg" and renders == [PREVIEW]
    made = b"".join(services.blobs.get(key))
    assert Image.open(io.BytesIO(made)).size == (1080, 1440)
    assert row(services, asset_id).preview_key == key
    assert media.derivative(asset, row(services, asset_id), PREVIEW) == (key, mime)  # kept: not made again
    assert run_media_jobs(pool, 1) == [(PREVIEW_JOB, job_subject(asset_id))]  # its job finds it made
    assert renders == [PREVIEW] and b"".join(services.blobs.get(key)) == made
    assert jobs(services, PREVIEW_JOB) == {job_subject(asset_id): "done"}


def test_many_first_views_at_once_make_the_preview_once(services, pool, renders):
    owner = member(services, "crowd")
    asset_id = uploaded(services, owner, photo(6))
    run_media_jobs(pool, 1)
    media, asset, before = gallery(services).media(), asset_of(services, asset_id), row(services, asset_id)
    answers, start = [], threading.Barrier(8)

    def view():
        start.wait()
        answers.append(media.derivative(asset, before, PREVIEW))  # each with the row as it read it: no preview

    threads = [threading.Thread(target=view) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert len(answers) == 8 and len(set(answers)) == 1
    assert renders == [PREVIEW]


def test_a_preview_that_cannot_be_made_says_why_and_hides_neither_the_thumbnail_nor_the_original(
        services, pool, renders, monkeypatch):
    owner = member(services, "slow")
    data = photo(7)
    asset_id = uploaded(services, owner, data)
    run_media_jobs(pool, 1)

    def too_slow(self, path, media, derivative):
        renders.append(derivative)
        raise RenderError("rendering timed out after 120 s")

    monkeypatch.setattr(RenderSandbox, "render", too_slow)
    media, asset = gallery(services).media(), asset_of(services, asset_id)
    for _ in range(2):  # the failure is kept: the second view renders nothing
        with pytest.raises(NotFound) as refused:
            media.derivative(asset, row(services, asset_id), PREVIEW)
        assert refused.value.details == {"state": "failed", "reason": "rendering timed out after 120 s"}
    assert renders == [PREVIEW]
    stored = row(services, asset_id)
    assert stored.state == READY and stored.preview_error == "rendering timed out after 120 s"
    assert media_out(stored)["preview_state"] == "failed" and media_out(stored)["state"] == "ready"
    assert media.derivative(asset, stored, THUMBNAIL)[1] == "image/webp"  # the grid still shows it
    assert b"".join(services.blobs.get(asset.blob_key)) == data  # and the original is untouched
    run_media_jobs(pool, 1)  # its job: nothing to do
    assert renders == [PREVIEW]


def test_a_file_the_media_job_cannot_render_gets_no_preview_job_and_a_clear_404(services, pool, renders):
    owner = member(services, "broken")
    broken = b"\xff\xd8\xff\xe0" + bytes(5000)
    asset_id = uploaded(services, owner, broken, "broken.jpg")
    run_media_jobs(pool, 1)
    stored = row(services, asset_id)
    assert stored.state == FAILED and stored.error and stored.thumbnail_key is None
    assert jobs(services, PREVIEW_JOB) == {}
    assert media_out(stored)["preview_state"] == "failed"
    with pytest.raises(NotFound) as refused:
        gallery(services).media().derivative(asset_of(services, asset_id), stored, PREVIEW)
    assert refused.value.details == {"state": "failed", "reason": stored.error}
    assert renders == []


def test_a_damaged_photo_is_shown_as_far_as_it_decodes_in_both(services, pool):
    owner = member(services, "cut")
    whole = photo(8, size=(2000, 1500))
    asset_id = uploaded(services, owner, whole[: len(whole) * 6 // 10], "cut.jpg")
    run_media_jobs(pool, 1)
    stored = row(services, asset_id)
    assert stored.state == READY and "truncated" in stored.damage
    key, _ = gallery(services).media().derivative(asset_of(services, asset_id), stored, PREVIEW)
    assert Image.open(io.BytesIO(b"".join(services.blobs.get(key)))).size == (1440, 1080)
    assert row(services, asset_id).damage == stored.damage


def test_the_media_job_run_again_makes_the_preview_again(services, pool, renders):
    owner = member(services, "again")
    asset_id = uploaded(services, owner, photo(9))
    run_media_jobs(pool, 2)
    assert row(services, asset_id).preview_key and renders == [PREVIEW]
    with services.db.write() as session:  # as an upgrade does when the renderer changed (revision 0015)
        JobQueue.requeue_in(session, MEDIA_JOB, job_subject(asset_id), owner_id=owner.user_id)
    assert run_media_jobs(pool, 1) == [(MEDIA_JOB, job_subject(asset_id))]
    assert row(services, asset_id).preview_key is None and jobs(services, PREVIEW_JOB)[job_subject(asset_id)] == QUEUED
    assert run_media_jobs(pool, 1) == [(PREVIEW_JOB, job_subject(asset_id))]
    assert row(services, asset_id).preview_key and renders == [PREVIEW, PREVIEW]


def test_before_the_media_job_the_preview_is_pending_and_a_missing_original_is_gone(services, pool):
    owner = member(services, "early")
    asset_id = uploaded(services, owner, photo(10))
    media, asset = gallery(services).media(), asset_of(services, asset_id)
    with pytest.raises(Conflict):
        media.derivative(asset, row(services, asset_id), PREVIEW)
    run_media_jobs(pool, 1)
    services.blobs.delete(asset.blob_key)
    with pytest.raises(Gone):
        media.derivative(asset, row(services, asset_id), PREVIEW)
    assert (row(services, asset_id).preview_key, row(services, asset_id).preview_error) == (None, None)
    with pytest.raises(BlobNotFound):  # its job fails and is retried: the storage may come back
        media.make_preview(job_subject(asset_id))


def test_going_back_to_the_version_before_queues_the_media_job_of_what_has_no_preview(services, pool):
    """Revision 0018's downgrade: the older version makes both derivatives in the media job and knows no preview
    job, so an item still without its preview gets its media job again, and the preview jobs go."""
    from sqlalchemy import inspect

    from phonecloud.server.container import kind_migrations

    owner = member(services, "downgrade")
    made, waiting = uploaded(services, owner, photo(11), "made.jpg"), uploaded(services, owner, photo(12), "wait.jpg")
    run_media_jobs(pool, 2)
    gallery(services).media().derivative(asset_of(services, made), row(services, made), PREVIEW)
    services.db.downgrade("0017", kind_migrations())
    assert "preview_error" not in {column["name"] for column in inspect(services.db.engine).get_columns("asset_media")}
    assert jobs(services, PREVIEW_JOB) == {}
    assert jobs(services, MEDIA_JOB) == {job_subject(made): "done", job_subject(waiting): QUEUED}
    services.db.migrate(kind_migrations())
    assert row(services, waiting).preview_error is None and row(services, made).preview_key
