"""An export asked for right after uploads waits for the media pipeline to read their capture dates, so the
archive dates new photos by their camera and not by their file times — and the wait costs no job attempt."""

from __future__ import annotations

import io
import json
import time
import zipfile

from sqlalchemy import select

from conftest import run_worker, upload
from phonecloud.jobs.models import Job
from phonecloud.portability.jobs import EXPORT_JOB
from media.test_media_pipeline import exif_jpeg

ROUNDS = 60  # worker runs before giving up; each runs every job that is ready


def test_an_export_of_fresh_uploads_carries_their_camera_dates(quiet_server):
    server, accounts = quiet_server
    user = accounts.create(name="fresh")
    for seed in range(3):
        answer = upload(user, exif_jpeg(seed, "2019:07:14 09:30:00"), filename=f"IMG_{seed}.jpg",
                        modified_at="2022-10-14T12:34:56Z")
        assert answer.status_code == 201, answer.text
    export_id = user.http.post("/export").json()["id"]  # before any media job has run

    export = user.http.get(f"/export/{export_id}").json()
    for _ in range(ROUNDS):
        run_worker(server)
        export = user.http.get(f"/export/{export_id}").json()
        if export["state"] != "preparing":
            break
        time.sleep(0.5)  # the deferred export is ready to run again a moment later
    assert export["state"] == "ready", export

    part = user.http.get(f"/export/{export_id}/parts/1")
    with zipfile.ZipFile(io.BytesIO(part.content)) as archive:
        names = [name for name in archive.namelist() if name.endswith(".jpg")]
        assert len(names) == 3 and all("/Photos from 2019/" in name for name in names), names
        sidecar = json.loads(archive.read(names[0] + ".json"))
    assert sidecar["photoTakenTime"]["formatted"] == "Jul 14, 2019, 9:30:00 AM UTC"

    assert accounts.services.jobs.failures() == []  # waiting is not failing
    with accounts.services.db.read() as session:
        attempts = session.scalar(select(Job.attempts).where(Job.kind == EXPORT_JOB))
    assert attempts == 1  # every wait was given back
