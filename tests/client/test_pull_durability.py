"""How `phonecloud pull` stays right across crashes without waiting for the disk on every file, how --fsync
waits for it, and how a batch that breaks falls back to one file at a time. Real server, real files."""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

from cli_runner import phonecloud
from conftest import upload
from media_fixtures import jpeg
from portability.test_export_interrupted import delete_originals

from phonecloud.client.pull.checkpoints import current_boot
from phonecloud.client.pull.state import STATE_FILE

from .test_pull import YEAR, mirrored, pull


def rows(mirror: Path) -> dict[str, str | None]:
    """path → the boot that wrote it (None: known to be on disk)."""
    with sqlite3.connect(mirror / STATE_FILE) as db:
        return {os.fsdecode(path): boot for path, boot in db.execute("SELECT path, boot FROM files")}


def library(user, count: int) -> dict[str, bytes]:
    bodies = {}
    for n in range(count):
        body = jpeg(6100 + n) + os.urandom(200_000)
        assert upload(user, body, filename=f"IMG_{n}.jpg").status_code == 201
        bodies[f"{YEAR}/IMG_{n}.jpg"] = body
    return bodies


def test_files_are_recorded_with_the_boot_that_wrote_them_and_the_next_run_settles_them(server, user, client_env,
                                                                                          tmp_path):
    bodies = library(user, 3)
    mirror = tmp_path / "mirror"
    first = pull(client_env, server.url, user, mirror)
    assert first.summary["fetched"] == 3
    assert rows(mirror) == {path: current_boot() for path in bodies}  # written without waiting for the disk
    second = pull(client_env, server.url, user, mirror)
    assert second.summary["fetched"] == 0 and second.summary["verified"] == 0  # same boot: flushed, not re-read
    assert rows(mirror) == {path: None for path in bodies}


def test_after_a_restart_files_written_before_it_are_checked_and_damaged_ones_fetched_again(server, user,
                                                                                            client_env, tmp_path):
    bodies = library(user, 3)
    mirror = tmp_path / "mirror"
    pull(client_env, server.url, user, mirror)
    with sqlite3.connect(mirror / STATE_FILE) as db:  # as if the system had restarted since that pull
        db.execute("UPDATE files SET boot = 'an-earlier-boot'")
    damaged, emptied, sound = (mirror / path for path in bodies)
    times = damaged.stat()
    damaged.write_bytes(bytes(len(bodies[f"{YEAR}/IMG_0.jpg"])))  # right size and time, wrong bytes
    os.utime(damaged, ns=(times.st_atime_ns, times.st_mtime_ns))
    emptied.write_bytes(b"")  # what a power cut can leave of a file written just before it

    run = pull(client_env, server.url, user, mirror)
    assert (run.summary["verified"], run.summary["repaired"], run.summary["fetched"], run.summary["unchanged"]) == \
        (3, 2, 2, 1)
    files = mirrored(mirror)
    assert {path: files[path].read_bytes() for path in bodies} == bodies
    assert rows(mirror)[f"{YEAR}/{sound.name}"] is None  # checked: known to be on disk now


def test_the_summary_line_names_files_fetched_again_after_a_restart(server, user, client_env, tmp_path):
    bodies = library(user, 1)
    mirror = tmp_path / "mirror"
    pull(client_env, server.url, user, mirror)
    with sqlite3.connect(mirror / STATE_FILE) as db:
        db.execute("UPDATE files SET boot = 'an-earlier-boot'")
    (mirror / next(iter(bodies))).write_bytes(b"")
    run = phonecloud(client_env, "pull", str(mirror), "--server", server.url, "--key", user.key)
    assert run.returncode == 0, run.stderr
    assert "damaged by a restart and fetched again 1" in run.stdout + run.stderr


def test_with_fsync_every_file_is_recorded_as_on_disk(server, user, client_env, tmp_path):
    bodies = library(user, 2)
    mirror = tmp_path / "mirror"
    assert pull(client_env, server.url, user, mirror, "--fsync").summary["fetched"] == 2
    assert rows(mirror) == {path: None for path in bodies}


def test_a_lost_original_fails_alone_while_the_rest_of_its_batch_arrives(server, accounts, user, client_env,
                                                                         tmp_path):
    bodies = library(user, 4)
    listed = user.http.get("/assets").json()["items"]
    lost = next(item for item in listed if item["original_filename"] == "IMG_1.jpg")
    delete_originals(accounts, [lost["id"]])
    run = phonecloud(client_env, "pull", str(tmp_path / "mirror"), "--server", server.url, "--key", user.key, "--json")
    assert run.returncode == 1 and run.summary["fetched"] == 3 and run.summary["failed"] == 1
    assert f"{YEAR}/IMG_1.jpg: the original of asset {lost['id']} is missing from the server's storage" in run.stderr
    files = mirrored(tmp_path / "mirror")
    assert {path: files[path].read_bytes() for path in bodies if "IMG_1" not in path} == \
        {path: body for path, body in bodies.items() if "IMG_1" not in path}
    assert not list((tmp_path / "mirror").rglob("*.partial"))


def test_files_written_long_before_the_end_of_a_run_are_recorded_as_on_disk(server, user, tmp_path, monkeypatch):
    """In process, with the age that counts as 'long before' set to nothing: the run fsyncs what it wrote
    and records it as durable, so that a restart would put nothing in doubt."""
    from phonecloud.client.api import Api
    from phonecloud.client.config import Connection
    from phonecloud.client.progress import TransferReporter
    from phonecloud.client.pull import mirror as pull_module

    bodies = library(user, 2)
    monkeypatch.setattr(pull_module, "SETTLE_AFTER_SECONDS", 0.0)
    api = Api(Connection(server.url, user.key))
    try:
        with TransferReporter(rich=False, label="pulling") as reporter:
            summary = pull_module.pull(api, tmp_path / "mirror", "years", 2, False, reporter)
    finally:
        api.close()
    assert summary.fetched == 2 and summary.failed == 0
    assert rows(tmp_path / "mirror") == {path: None for path in bodies}


def test_where_the_boot_cannot_be_told_every_file_is_made_durable_before_it_is_recorded(server, user, tmp_path,
                                                                                       monkeypatch):
    """Without a boot to compare after a restart, only fsync can keep the state true (as --fsync)."""
    from phonecloud.client.api import Api
    from phonecloud.client.config import Connection
    from phonecloud.client.progress import TransferReporter
    from phonecloud.client.pull import checkpoints, mirror as pull_module

    bodies = library(user, 2)
    monkeypatch.setattr(pull_module, "current_boot", lambda: None)
    synced: list[str] = []
    fsync = checkpoints.fsync_path

    def observed(path: Path, directory: bool = False) -> None:
        fsync(path, directory)
        synced.append(Path(path).name)

    for module in (checkpoints, pull_module):
        monkeypatch.setattr(module, "fsync_path", observed)
    api = Api(Connection(server.url, user.key))
    files_synced = []
    try:
        for _ in range(2):  # the second run finds durable rows only: nothing to flush again
            with TransferReporter(rich=False, label="pulling") as reporter:
                pull_module.pull(api, tmp_path / "mirror", "years", 2, False, reporter)
            files_synced.append(sorted(name for name in synced if name.startswith("IMG_")))
            synced.clear()
            assert rows(tmp_path / "mirror") == {path: None for path in bodies}
    finally:
        api.close()
    assert files_synced == [["IMG_0.jpg.partial", "IMG_1.jpg.partial"], []]
