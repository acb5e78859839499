"""The import job itself, run by hand on a server without job workers: a run that stops in the middle (a
crash, a database restart) resumes after the last batch it stored, counting every record once; one that
keeps failing is given up as failed, saying why, with its file kept; a run that another run of the same
import has overtaken stores nothing."""

from __future__ import annotations

import pytest

from conftest import serving
from messages.backup_files import write_large_sbr
from messages.server_helpers import upload_backup
from phonecloud.messages import importer
from phonecloud.messages.importer import IMPORT_ATTEMPTS, IMPORT_JOB, ImportService, Overtaken, job_subject
from phonecloud.messages.models import MessageImport

BATCH_RECORDS = 500  # smaller than the server's, so that a small file makes several batches


class Crash(Exception):
    """Stands for the process dying in the middle of a batch."""


@pytest.fixture
def quiet(tmp_path, monkeypatch):
    """A server of its own, in process, whose jobs run only when a test runs them: (services, user)."""
    monkeypatch.setattr(importer, "BATCH_RECORDS", BATCH_RECORDS)
    with serving(tmp_path / "data", {"PHONECLOUD_EMBEDDED_WORKERS": "0"}, in_process=True) as (server, accounts):
        yield server.services, accounts.create()


def _queued_import(user, tmp_path) -> tuple[str, int]:
    path = tmp_path / "sms.xml"
    count = write_large_sbr(path, 5 << 20)
    assert count > 3 * BATCH_RECORDS
    answer = upload_backup(user, path.read_bytes())
    assert answer.status_code == 201 and answer.json()["state"] == "queued", answer.text
    return answer.json()["id"], count


def _crashing_at_batch(monkeypatch, crash_at: int) -> None:
    store, calls = ImportService._store_batch, []

    def crashing(self, running, batch):
        calls.append(1)
        if len(calls) == crash_at:
            raise Crash("the process died here")
        return store(self, running, batch)

    monkeypatch.setattr(ImportService, "_store_batch", crashing)


def test_a_run_that_stops_resumes_after_its_last_batch(quiet, tmp_path, monkeypatch):
    services, user = quiet
    import_id, count = _queued_import(user, tmp_path)
    run = services.kind("messages").jobs[IMPORT_JOB]
    store = ImportService._store_batch
    _crashing_at_batch(monkeypatch, 3)
    with pytest.raises(Crash):
        run(job_subject(import_id))
    halfway = user.http.get(f"/messages/imports/{import_id}").json()
    assert (halfway["state"], halfway["records_read"], halfway["imported"]) == ("running", 2 * BATCH_RECORDS,
                                                                                 2 * BATCH_RECORDS)
    monkeypatch.setattr(ImportService, "_store_batch", store)
    run(job_subject(import_id))
    done = user.http.get(f"/messages/imports/{import_id}").json()
    assert (done["state"], done["imported"], done["duplicates"], done["records_read"]) == ("done", count, 0, count)
    assert user.http.get("/me").json()["usage"]["messages"]["items"] == count


def test_an_import_that_keeps_failing_is_given_up_with_its_reason(quiet, tmp_path, monkeypatch):
    services, user = quiet
    import_id, _ = _queued_import(user, tmp_path)
    run = services.kind("messages").jobs[IMPORT_JOB]
    monkeypatch.setattr(ImportService, "_store_batch", lambda *arguments: (_ for _ in ()).throw(Crash("disk on fire")))
    for _ in range(IMPORT_ATTEMPTS):
        with pytest.raises(Crash):
            run(job_subject(import_id))
    run(job_subject(import_id))  # the job's last attempt gives it up
    failed = user.http.get(f"/messages/imports/{import_id}").json()
    assert failed["state"] == "failed" and "gave up after 3 attempts" in failed["error"]
    assert "disk on fire" in failed["error"] and failed["file_kept"]
    run(job_subject(import_id))  # a finished import is left as it is
    assert user.http.get(f"/messages/imports/{import_id}").json() == failed


def test_a_run_overtaken_by_another_run_of_the_same_import_stores_nothing_more(quiet, tmp_path, monkeypatch):
    services, user = quiet
    import_id, count = _queued_import(user, tmp_path)
    run = services.kind("messages").jobs[IMPORT_JOB]
    store, calls = ImportService._store_batch, []

    def overtaken_at_the_second_batch(self, running, batch):
        calls.append(1)
        if len(calls) == 2:  # another run (a job claimed again) stored this batch and more meanwhile
            with services.db.write() as session:
                session.get(MessageImport, running.import_id).records_read += 2 * BATCH_RECORDS
        return store(self, running, batch)

    monkeypatch.setattr(ImportService, "_store_batch", overtaken_at_the_second_batch)
    with pytest.raises(Overtaken):
        run(job_subject(import_id))
    after = user.http.get(f"/messages/imports/{import_id}").json()
    assert (after["state"], after["imported"], after["records_read"]) == ("running", BATCH_RECORDS,
                                                                          3 * BATCH_RECORDS)
    assert user.http.get("/me").json()["usage"]["messages"]["items"] == BATCH_RECORDS
