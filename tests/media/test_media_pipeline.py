"""The media pipeline end to end: upload → job → metadata and derivatives → API, across restarts."""

from __future__ import annotations

import io
import signal
import subprocess
import threading
import time
import uuid

import pytest
from PIL import Image

from cli_runner import Run, phonecloud
from conftest import PHONECLOUD, SHARED_CORPUS, Server, serving, upload
from media_fixtures import mp4, png_declaring

LEASE_SECONDS = "2"


@pytest.fixture
def idle_server(tmp_path):
    """The app (in this process) running no jobs itself, so tests decide when worker processes run."""
    with serving(tmp_path / "data", {"PHONECLOUD_EMBEDDED_WORKERS": "0", "PHONECLOUD_JOB_LEASE_SECONDS": LEASE_SECONDS},
                 in_process=True) as running:
        yield running


def run_worker(server: Server, *args: str, timeout: float = 300) -> Run:
    return phonecloud(server.env, "worker", *args, timeout=timeout)


def exif_jpeg(seed: int, taken: str, orientation: int = 1) -> bytes:
    image = Image.new("RGB", (64, 48), (seed % 256, 80, 160))
    exif = Image.Exif()
    exif[0x0112] = orientation
    exif.get_ifd(0x8769)[0x9003] = taken  # DateTimeOriginal
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", exif=exif)
    return buffer.getvalue()


def wait_ready(user, asset_id: str, timeout: float = 120) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        media = user.http.get(f"/assets/{asset_id}").json()["media"]
        if media["state"] != "pending":
            return media
        time.sleep(0.2)
    raise AssertionError(f"asset {asset_id} still pending after {timeout} s")


def test_derivatives_are_pending_then_served_with_caching_headers(idle_server):
    server, accounts = idle_server
    user = accounts.create()
    asset = upload(user, exif_jpeg(1, "2008:10:22 16:28:39")).json()["asset"]
    assert asset["media"]["state"] == "pending"
    pending = user.http.get(f"/assets/{asset['id']}/thumbnail")
    assert pending.status_code == 409 and pending.json()["state"] == "pending"

    assert run_worker(server, "--until-idle").returncode == 0
    media = wait_ready(user, asset["id"])
    assert media["state"] == "ready"
    assert media["taken_at"] == "2008-10-22T16:28:39" and media["date_source"] == "exif"
    assert media["taken_at_offset_minutes"] is None
    thumbnail = user.http.get(f"/assets/{asset['id']}/thumbnail")
    assert thumbnail.status_code == 200 and thumbnail.headers["content-type"] == "image/webp"
    assert "max-age" in thumbnail.headers["cache-control"]
    assert user.http.get(f"/assets/{asset['id']}/thumbnail",
                         headers={"If-None-Match": thumbnail.headers["etag"]}).status_code == 304
    preview = user.http.get(f"/assets/{asset['id']}/preview")
    assert preview.status_code == 200 and preview.content[:3] == b"\xff\xd8\xff"
    listed = user.http.get("/assets").json()["items"][0]
    assert listed["sort_at"] == "2008-10-22T16:28:39Z"  # the timeline follows the capture time


def test_a_file_that_cannot_be_rendered_is_kept_with_a_clear_no_preview_state(idle_server):
    server, accounts = idle_server
    user = accounts.create()
    broken = b"\xff\xd8\xff\xe0" + b"\x00" * 5000  # a JPEG by its first bytes, nothing after
    asset = upload(user, broken, filename="broken.jpg").json()["asset"]
    assert run_worker(server, "--until-idle").returncode == 0
    media = wait_ready(user, asset["id"])
    assert media["state"] == "failed" and media["error"]
    missing = user.http.get(f"/assets/{asset['id']}/preview")
    assert missing.status_code == 404 and missing.json()["state"] == "failed"
    assert user.http.get(f"/assets/{asset['id']}/original").content == broken  # the original stays
    jobs = phonecloud(server.env, "admin", "jobs")
    assert "media.process" in jobs.stdout
    assert "media.preview" not in jobs.stdout  # no preview is queued for what has no thumbnail either


def test_a_truncated_photo_is_shown_as_far_as_it_decodes_and_marked_damaged(idle_server):
    server, accounts = idle_server
    user = accounts.create()
    whole = exif_jpeg(3, "2021:05:06 07:08:09")
    big = io.BytesIO()
    Image.new("RGB", (1600, 1200), (200, 30, 30)).save(big, "JPEG", exif=Image.open(io.BytesIO(whole)).getexif())
    cut = big.getvalue()[: len(big.getvalue()) * 6 // 10]  # an upload from the phone cut short
    asset = upload(user, cut, filename="cut.jpg").json()["asset"]
    assert run_worker(server, "--until-idle").returncode == 0
    media = wait_ready(user, asset["id"])
    assert media["state"] == "ready" and media["error"] is None
    assert "truncated" in media["damage"]
    assert media["taken_at"] == "2021-05-06T07:08:09"  # its metadata was read all the same
    assert user.http.get(f"/assets/{asset['id']}/thumbnail").status_code == 200
    assert user.http.get(f"/assets/{asset['id']}/preview").status_code == 200  # its job made it, as far as it goes
    assert user.http.get(f"/assets/{asset['id']}/original").content == cut  # the original as it came
    sound = upload(user, whole, filename="whole.jpg").json()["asset"]
    run_worker(server, "--until-idle")
    assert wait_ready(user, sound["id"])["damage"] is None


def test_upgrading_renders_again_the_photos_an_older_version_refused_as_damaged(idle_server):
    """Before revision 0015 a damaged photo had no preview; the upgrade queues its media job again."""
    from sqlalchemy import update

    from phonecloud.media.models import AssetMedia
    from phonecloud.server.container import kind_migrations

    server, accounts = idle_server
    user = accounts.create()
    big = io.BytesIO()
    Image.new("RGB", (1600, 1200), (30, 30, 200)).save(big, "JPEG")
    damaged = upload(user, big.getvalue()[: len(big.getvalue()) // 2], filename="cut.jpg").json()["asset"]
    unsupported = upload(user, exif_jpeg(4, "2020:01:01 00:00:00"), filename="other.jpg").json()["asset"]
    run_worker(server, "--until-idle")
    db = accounts.services.db
    db.downgrade("0014", kind_migrations())
    with db.engine.begin() as connection:  # as the older version left them
        for asset_id, error in ((damaged["id"], "truncated or damaged image: VipsJpeg: premature end of JPEG image"),
                                (unsupported["id"], "unsupported for previews: image/x-made-up")):
            connection.execute(update(AssetMedia.__table__).where(AssetMedia.asset_id == uuid.UUID(asset_id)).values(
                state="failed", error=error, thumbnail_key=None, preview_key=None))
    db.migrate(kind_migrations())
    run_worker(server, "--until-idle")
    again = user.http.get(f"/assets/{damaged['id']}").json()["media"]
    assert again["state"] == "ready" and "premature end" in again["damage"]
    assert user.http.get(f"/assets/{damaged['id']}/thumbnail").status_code == 200
    left = user.http.get(f"/assets/{unsupported['id']}").json()["media"]
    assert left["state"] == "failed" and left["error"] == "unsupported for previews: image/x-made-up"


def test_another_users_derivatives_are_404(idle_server):
    server, accounts = idle_server
    owner, stranger = accounts.create(), accounts.create()
    asset = upload(owner, exif_jpeg(2, "2020:01:01 00:00:00")).json()["asset"]
    run_worker(server, "--until-idle")
    for name in ("thumbnail", "preview"):
        assert stranger.http.get(f"/assets/{asset['id']}/{name}").status_code == 404


def make_thumbnails(accounts) -> int:
    """The media jobs alone, run here: every thumbnail made, every preview still to come."""
    from phonecloud.jobs.worker import WorkerPool
    from phonecloud.media.jobs import MEDIA_JOB

    media = accounts.services.kind("gallery").service.media()
    return WorkerPool(accounts.services.jobs, {MEDIA_JOB: media.process}).run_until_idle()


@pytest.fixture
def renders(monkeypatch) -> list[str]:
    """The derivatives this process' render sandboxes are asked for (the app's, in this process)."""
    from phonecloud.media.sandbox import RenderSandbox

    asked, render = [], RenderSandbox.render

    def counted(self, path, media, derivative):
        asked.append(derivative)
        return render(self, path, media, derivative)

    monkeypatch.setattr(RenderSandbox, "render", counted)
    return asked


def big_jpeg(seed: int) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (2400, 1800), (seed % 256, 120, 40)).save(buffer, "JPEG", quality=90)
    return buffer.getvalue()


def test_the_thumbnail_is_served_first_and_the_first_view_makes_the_preview_and_keeps_it(idle_server, renders):
    server, accounts = idle_server
    user = accounts.create()
    asset_id = upload(user, big_jpeg(11), filename="IMG_big.jpg").json()["id"]
    assert make_thumbnails(accounts) == 1
    media = user.http.get(f"/assets/{asset_id}").json()["media"]
    assert (media["state"], media["preview_state"], media["preview_error"]) == ("ready", "pending", None)
    thumbnail = user.http.get(f"/assets/{asset_id}/thumbnail")
    assert thumbnail.status_code == 200 and Image.open(io.BytesIO(thumbnail.content)).size == (333, 250)
    assert renders == []

    preview = user.http.get(f"/assets/{asset_id}/preview")  # the viewer opens it before its job ran
    assert preview.status_code == 200 and preview.headers["content-type"] == "image/jpeg"
    assert Image.open(io.BytesIO(preview.content)).size == (1440, 1080) and renders == ["preview"]
    assert "immutable" in preview.headers["cache-control"]
    assert user.http.get(f"/assets/{asset_id}").json()["media"]["preview_state"] == "ready"
    again = user.http.get(f"/assets/{asset_id}/preview")
    assert again.content == preview.content and renders == ["preview"]  # kept
    assert user.http.get(f"/assets/{asset_id}/preview",
                         headers={"If-None-Match": preview.headers["etag"]}).status_code == 304
    assert run_worker(server, "--until-idle").returncode == 0  # its job, in a worker process: nothing to do
    assert user.http.get(f"/assets/{asset_id}/preview").content == preview.content
    assert "media.preview" in phonecloud(server.env, "admin", "jobs").stdout


def test_first_views_of_the_same_preview_at_once_render_it_once(idle_server, renders):
    _, accounts = idle_server
    user = accounts.create()
    asset_id = upload(user, big_jpeg(12), filename="IMG_crowd.jpg").json()["id"]
    make_thumbnails(accounts)
    answers, start = [], threading.Barrier(6)

    def view():
        start.wait()
        answer = user.http.get(f"/assets/{asset_id}/preview")
        answers.append((answer.status_code, answer.content))

    threads = [threading.Thread(target=view) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert len(answers) == 6 and {status for status, _ in answers} == {200} and len(set(answers)) == 1
    assert renders == ["preview"]


def test_another_users_preview_is_404_and_makes_nothing(idle_server, renders):
    _, accounts = idle_server
    owner, stranger = accounts.create(), accounts.create()
    asset_id = upload(owner, big_jpeg(13), filename="IMG_mine.jpg").json()["id"]
    make_thumbnails(accounts)
    refused = stranger.http.get(f"/assets/{asset_id}/preview")
    assert refused.status_code == 404 and renders == []
    assert owner.http.get(f"/assets/{asset_id}").json()["media"]["preview_state"] == "pending"


def test_a_preview_that_cannot_be_made_is_a_clear_404_and_the_original_stays(idle_server, renders, monkeypatch):
    from phonecloud.media.derivatives import RenderError
    from phonecloud.media.sandbox import RenderSandbox

    _, accounts = idle_server
    user = accounts.create()
    data = big_jpeg(14)
    asset_id = upload(user, data, filename="IMG_slow.jpg").json()["id"]
    make_thumbnails(accounts)

    def too_slow(self, path, media, derivative):
        renders.append(derivative)
        raise RenderError("rendering timed out after 120 s")

    monkeypatch.setattr(RenderSandbox, "render", too_slow)
    for _ in range(2):
        refused = user.http.get(f"/assets/{asset_id}/preview")
        assert refused.status_code == 404
        assert refused.json()["state"] == "failed" and refused.json()["reason"] == "rendering timed out after 120 s"
    assert renders == ["preview"]  # the failure is kept, not tried on every view
    media = user.http.get(f"/assets/{asset_id}").json()["media"]
    assert (media["state"], media["preview_state"]) == ("ready", "failed")
    assert media["preview_error"] == "rendering timed out after 120 s" and media["error"] is None
    assert user.http.get(f"/assets/{asset_id}/thumbnail").status_code == 200
    assert user.http.get(f"/assets/{asset_id}/original").content == data


def test_a_killed_worker_loses_no_job_and_duplicates_no_derivative(idle_server):
    server, accounts = idle_server
    user = accounts.create()
    ids = [upload(user, exif_jpeg(100 + n, f"2021:05:{n % 28 + 1:02d} 10:00:00")).json()["id"] for n in range(40)]
    worker = subprocess.Popen([PHONECLOUD, "worker", "--threads", "2"], env=server.env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:  # kill it mid-batch: once some but not all are done
        done = sum(user.http.get(f"/assets/{i}").json()["media"]["state"] != "pending" for i in ids[:10])
        if done:
            break
        time.sleep(0.1)
    worker.send_signal(signal.SIGKILL)
    worker.wait(10)
    time.sleep(float(LEASE_SECONDS) + 0.5)  # let the dead worker's leases lapse
    assert run_worker(server, "--until-idle").returncode == 0
    for asset_id in ids:
        assert wait_ready(user, asset_id, timeout=30)["state"] == "ready"
    derived = [p for p in (server.blob_root / "users").rglob("*") if p.is_file() and "derived" in p.parts]
    assert len(derived) == 2 * len(ids)


@pytest.mark.skipif(not SHARED_CORPUS.is_dir(), reason="../shared/corpus/exif-samples is not present")
def test_real_phone_heic_and_camera_jpegs_get_thumbnails(server, accounts):
    user = accounts.create(name="corpus-media")
    files = sorted(SHARED_CORPUS.glob("heic/*")) + sorted(SHARED_CORPUS.glob("jpg/mobile/*"))[:3]
    ids = [upload(user, path.read_bytes(), filename=path.name).json()["id"] for path in files if path.is_file()]
    for asset_id in ids:
        assert wait_ready(user, asset_id, timeout=180)["state"] == "ready", asset_id
        thumbnail = user.http.get(f"/assets/{asset_id}/thumbnail")
        assert thumbnail.status_code == 200
        assert min(Image.open(io.BytesIO(thumbnail.content)).size) <= 250


def test_videos_get_a_poster_and_live_photo_pairs_are_linked(idle_server):
    server, accounts = idle_server
    user = accounts.create()
    still = upload(user, exif_jpeg(7, "2023:06:01 09:30:00"), filename="IMG_4242.JPG").json()["asset"]
    clip = upload(user, mp4(frames=20), filename="IMG_4242.MOV").json()["asset"]
    other = upload(user, mp4(frames=20, metadata={"title": "x"}), filename="VID_20221014_123456.mp4").json()["asset"]
    used = user.http.get("/me").json()["used_bytes"]
    assert run_worker(server, "--until-idle").returncode == 0
    clip_media, still_media = wait_ready(user, clip["id"]), wait_ready(user, still["id"])
    assert clip_media["state"] == "ready" and clip_media["duration_seconds"] == pytest.approx(2.0, abs=0.2)
    assert user.http.get(f"/assets/{clip['id']}/thumbnail").status_code == 200
    assert clip_media["live_photo_pair_id"] == still["id"] and still_media["live_photo_pair_id"] == clip["id"]
    other_media = wait_ready(user, other["id"])
    assert other_media["live_photo_pair_id"] is None
    assert (other_media["taken_at"], other_media["date_source"]) == ("2022-10-14T12:34:56", "filename")
    assert user.http.get("/me").json()["used_bytes"] == used  # derivatives never count in the quota


def test_a_decompression_bomb_is_refused_and_the_worker_carries_on(idle_server):
    server, accounts = idle_server
    user = accounts.create()
    bomb = upload(user, png_declaring(100_000, 100_000), filename="bomb.png").json()["asset"]
    fine = upload(user, exif_jpeg(8, "2020:02:02 02:02:02")).json()["asset"]
    assert run_worker(server, "--until-idle").returncode == 0
    bomb_media = wait_ready(user, bomb["id"])
    assert bomb_media["state"] == "failed" and "pixels" in bomb_media["error"]
    assert wait_ready(user, fine["id"])["state"] == "ready"
    jobs = phonecloud(server.env, "admin", "jobs").stdout
    assert "failed" in jobs
