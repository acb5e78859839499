"""`phonecloud migrate --to TARGET` as a subprocess against real servers: the library moved into another
phonecloud account and into rclone remotes (a local folder, `rclone serve webdav`), every item verified and
recorded, a second run sending nothing, a dry run sending nothing."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import signal
import subprocess
import threading
from contextlib import contextmanager
from pathlib import Path

import pytest

from cli_runner import Run, phonecloud
from contacts.vcard_samples import plain_30
from messages.backup_files import sbr_messages_xml
from messages.server_helpers import finished, upload_backup
from conftest import PHONECLOUD, User, free_port, upload
from portability.test_export import make_library
from tcp_proxy import CountingProxy
from tus_helpers import photo
from scaleout import ACCESS_KEY, BUCKET, RCLONE, SECRET_KEY, S3Server, _wait_for_port, stop_process

from phonecloud.client.api import Api
from phonecloud.client.config import Connection
from phonecloud.client.migrate import to_rclone
from phonecloud.client.migrate.engine import Migration
from phonecloud.client.migrate.record import SENDING, VERIFIED, MigrationRecord
from phonecloud.client.migrate.source import ApiSource
from phonecloud.client.progress import TransferReporter

from .test_sync_tus import resumable_rows

DESCRIPTION = "Grandma's garden"
PLACE = {"latitude": 48.1, "longitude": 11.5, "altitude": 520.0}


def migrate(env: dict[str, str], server, user: User, *args: str) -> Run:
    return phonecloud(env, "migrate", "--server", server.url, "--key", user.key, "--json", *args)


def library_of(user: User) -> dict[str, dict]:
    """sha1 → asset, the trash included."""
    listed = [*user.http.get("/assets", params={"limit": 1000}).json()["items"],
              *user.http.get("/assets", params={"limit": 1000, "trashed": "true"}).json()["items"]]
    return {asset["sha1"]: asset for asset in listed}


def described_library(user: User, seed: int) -> dict:
    made = make_library(user, seed)
    answer = user.http.patch(f"/assets/{made['assets']['IMG_0001.jpg']['id']}",
                             json={"description": DESCRIPTION, "people": ["Ada"], "place": PLACE})
    assert answer.status_code == 200, answer.text
    return made


def test_the_library_moves_to_another_phonecloud_account_with_everything_and_a_second_run_sends_nothing(
        server, user, other_user, client_env):
    made = described_library(user, 3100)
    target = ["--to", "phonecloud", "--to-server", server.url, "--to-key", other_user.key]
    dry = migrate(client_env, server, user, *target, "--dry-run")
    assert dry.returncode == 0, dry.stderr
    assert dry.summary | {"to_send_bytes": 0} == dry.summary | {"to_send": 4, "sent": 0, "items": 4, "dry_run": True,
                                                                  "to_send_bytes": 0}
    assert dry.summary["to_send_bytes"] == sum(len(body) for body in made["bodies"].values())
    assert library_of(other_user) == {}

    run = migrate(client_env, server, user, *target)
    assert run.returncode == 0, run.stderr
    summary = run.summary
    assert {key: summary[key] for key in ("sent", "verified", "already_there", "failed", "bytes")} == {
        "sent": 4, "verified": 4, "already_there": 0, "failed": 0, "bytes": dry.summary["to_send_bytes"]}
    source, moved = library_of(user), library_of(other_user)
    assert moved.keys() == source.keys()
    for sha1, asset in source.items():
        copy = moved[sha1]
        for key in ("original_filename", "size_bytes", "sort_at", "is_favorite", "trashed", "description",
                    "people", "place", "is_archived"):
            assert copy[key] == asset[key], (key, asset["original_filename"])
    albums = other_user.http.get("/albums").json()
    assert [(album["title"], album["description"]) for album in albums] == [("Summer: Brittany/2019", "By the sea")]
    members = other_user.http.get(f"/albums/{albums[0]['id']}/assets").json()["items"]
    assert {asset["original_filename"] for asset in members} == {"IMG_0001.jpg", "VID_0003.mp4"}

    again = migrate(client_env, server, user, *target)
    assert again.returncode == 0, again.stderr
    assert (again.summary["sent"], again.summary["already_there"], again.summary["failed"]) == (0, 4, 0)
    assert len(other_user.http.get("/albums").json()) == 1  # the album filled again, not made twice
    assert library_of(other_user).keys() == source.keys()


def test_wrong_targets_are_refused_with_one_line_and_exit_2(server, user, client_env):
    for args, message in [
        (["--to", "nowhere"], "unknown target 'nowhere'"),
        (["--to", "phonecloud"], "--to phonecloud needs --to-server URL and --to-key KEY"),
        (["--to", "phonecloud", "--to-server", server.url, "--to-key", user.key], "the target is the library"),
    ]:
        run = migrate(client_env, server, user, *args)
        assert run.returncode == 2 and message in run.stderr and "Traceback" not in run.stderr, run.stderr


@contextmanager
def webdav(root: Path):
    """`rclone serve webdav` of a folder on loopback; the rclone connection string of its `photos` folder."""
    port, log = free_port(), root.parent / "webdav.log"
    process = subprocess.Popen([RCLONE, "serve", "webdav", str(root), "--addr", f"127.0.0.1:{port}"],
                               stdout=open(log, "ab"), stderr=subprocess.STDOUT)
    try:
        _wait_for_port(port, process, "rclone serve webdav", log)
        yield f":webdav,url='http://127.0.0.1:{port}',vendor=rclone:photos"
    finally:
        stop_process(process, signal.SIGTERM)


def remote_listing(remote: str) -> dict[str, dict]:
    listed = subprocess.run([RCLONE, "lsjson", remote, "--recursive", "--files-only"], capture_output=True, text=True)
    assert listed.returncode == 0, listed.stderr
    return {entry["Path"]: entry for entry in json.loads(listed.stdout)}


def check_remote_layout(remote: str, made: dict, user: User) -> None:
    """By album and year, the trash apart, each file with its capture time and a sidecar naming it."""
    files = remote_listing(remote)
    album, year = "Summer_ Brittany_2019", "Photos from 2022"
    expected = {f"{album}/IMG_0001.jpg", f"{album}/VID_0003.mp4", f"{year}/IMG_0002.jpg", "Trash/IMG_0004.jpg"}
    assert set(files) == expected | {f"{path}.json" for path in expected} | {f"{album}/metadata.json"}, files
    by_name = {asset["original_filename"]: asset for asset in library_of(user).values()}
    for path in expected:
        name = path.rpartition("/")[2]
        assert files[path]["Size"] == len(made["bodies"][name])
        taken = dt.datetime.fromisoformat(by_name[name]["sort_at"]).replace(microsecond=0)
        assert dt.datetime.fromisoformat(files[path]["ModTime"]) == taken, path


def test_the_library_moves_to_a_local_rclone_remote_laid_out_by_album_and_year(server, user, client_env, tmp_path):
    made = described_library(user, 3200)
    remote = tmp_path / "remote"
    run = migrate(client_env, server, user, "--to", f"rclone:{remote}")
    assert run.returncode == 0, run.stderr
    assert (run.summary["sent"], run.summary["verified"], run.summary["failed"]) == (4, 4, 0), run.stdout
    assert run.summary["verified_by"] == {"sha1": 4}  # a local folder gives SHA-1s
    check_remote_layout(str(remote), made, user)
    sidecar = json.loads((remote / "Summer_ Brittany_2019" / "IMG_0001.jpg.json").read_bytes())
    assert sidecar["description"] == DESCRIPTION and sidecar["title"] == "IMG_0001.jpg"
    album = json.loads((remote / "Summer_ Brittany_2019" / "metadata.json").read_bytes())
    assert (album["title"], album["description"]) == ("Summer: Brittany/2019", "By the sea")
    again = migrate(client_env, server, user, "--to", f"rclone:{remote}")
    assert (again.summary["sent"], again.summary["already_there"]) == (0, 4), again.stdout


def test_the_library_moves_to_rclone_serve_webdav_checked_by_size_and_date(server, user, client_env, tmp_path):
    made = described_library(user, 3300)
    (tmp_path / "dav").mkdir()
    with webdav(tmp_path / "dav") as remote:
        run = migrate(client_env, server, user, "--to", f"rclone:{remote}")
        assert run.returncode == 0, run.stderr
        assert run.summary["verified_by"] == {"size+date": 4}  # rclone's WebDAV server gives no hashes
        check_remote_layout(remote, made, user)
        assert (tmp_path / "dav" / "photos" / "Photos from 2022" / "IMG_0002.jpg").read_bytes() == \
            made["bodies"]["IMG_0002.jpg"]


def test_the_library_moves_to_rclone_serve_s3_checked_by_md5(server, user, client_env, tmp_path):
    made = described_library(user, 3400)
    s3 = S3Server().start()
    try:
        remote = (f":s3,provider=Rclone,endpoint='{s3.endpoint}',access_key_id={ACCESS_KEY},"
                  f"secret_access_key={SECRET_KEY}:{BUCKET}/photos")
        run = migrate(client_env, server, user, "--to", f"rclone:{remote}")
        assert run.returncode == 0, run.stderr
        assert run.summary["verified_by"] == {"md5": 4}
        check_remote_layout(remote, made, user)
        again = migrate(client_env, server, user, "--to", f"rclone:{remote}")
        assert (again.summary["sent"], again.summary["already_there"]) == (0, 4), again.stdout
    finally:
        s3.stop()


def test_a_file_of_someone_elses_at_a_path_is_left_as_it_is_and_named(server, user, client_env, tmp_path):
    made = described_library(user, 3500)
    theirs = tmp_path / "remote" / "Photos from 2022" / "IMG_0002.jpg"
    theirs.parent.mkdir(parents=True)
    theirs.write_bytes(b"a file the remote's owner keeps")
    run = migrate(client_env, server, user, "--to", f"rclone:{tmp_path / 'remote'}")
    assert run.returncode == 1 and (run.summary["verified"], run.summary["failed"]) == (3, 1), run.stdout
    assert "IMG_0002.jpg" in run.stderr and "another file is already at Photos from 2022/IMG_0002.jpg" in run.stderr
    assert theirs.read_bytes() == b"a file the remote's owner keeps"
    assert made["bodies"]["IMG_0002.jpg"] != theirs.read_bytes()


def test_an_unknown_remote_or_a_missing_path_is_refused_with_rclones_reason(server, user, client_env):
    run = migrate(client_env, server, user, "--to", "rclone:nosuchremote:photos")
    assert run.returncode == 1 and "Traceback" not in run.stderr, run.stderr
    assert "rclone could not reach the remote" in run.stderr and "nosuchremote" in run.stderr, run.stderr
    run = migrate(client_env, server, user, "--to", "rclone:photos")
    assert run.returncode == 1 and "names no remote" in run.stderr, run.stderr


def test_a_run_killed_in_the_middle_resumes_without_sending_anything_twice(server, accounts, user, client_env):
    """Every item over tus (a low threshold); the client killed while the network holds an upload half-way."""
    target = accounts.create(name="target")
    bodies = [photo(3 << 20, seed=3600 + number) for number in range(8)]
    for number, body in enumerate(bodies):
        assert upload(user, body, filename=f"IMG_{number}.jpg").status_code == 201
    env = {**client_env, "PHONECLOUD_SYNC_TUS_THRESHOLD": "1MiB"}
    proxy = CountingProxy(server.port, hold_at=10 << 20)
    arguments = ["--to", "phonecloud", "--to-server", proxy.url, "--to-key", target.key, "--transfers", "1"]
    try:
        killed = subprocess.Popen([PHONECLOUD, "migrate", "--server", server.url, "--key", user.key, *arguments],
                                  env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                  stderr=subprocess.DEVNULL)
        assert proxy.holding.wait(120), "the migration never reached the held upload"
        killed.kill()
        killed.wait()
        proxy.release()
        before = library_of(target)
        assert 0 < len(before) < len(bodies)
        run = migrate(env, server, user, *arguments)
    finally:
        proxy.close()
    assert run.returncode == 0, run.stderr
    assert (run.summary["already_there"], run.summary["sent"]) == (len(before), len(bodies) - len(before)), run.stdout
    after = library_of(target)
    assert sorted(after) == sorted(hashlib.sha1(body).hexdigest() for body in bodies)
    assert len(resumable_rows(accounts, target)) == len(bodies)  # the held upload went on; none started twice


def test_items_the_target_refuses_are_named_and_a_second_run_sends_only_those(server, accounts, user, client_env):
    made = described_library(user, 3700)
    sizes = sorted(len(body) for body in made["bodies"].values())
    target = accounts.create(name="small", quota_bytes=sizes[0] + sizes[1])
    arguments = ["--to", "phonecloud", "--to-server", server.url, "--to-key", target.key, "--transfers", "1"]
    run = migrate(client_env, server, user, *arguments)
    assert run.returncode == 1 and run.summary["failed"] >= 2 and run.summary["verified"] >= 1, run.stdout
    assert "quota" in run.stderr.lower(), run.stderr
    accounts.services.accounts.set_quota(target.email, 1 << 30)
    again = migrate(client_env, server, user, *arguments)
    assert again.returncode == 0, again.stderr
    assert (again.summary["sent"], again.summary["already_there"]) == (run.summary["failed"], run.summary["verified"])
    assert len(library_of(target)) == 4


def test_the_library_moves_to_immich_through_its_api_with_everything(server, user, other_user, client_env):
    """Against phonecloud's own Immich-compatible API (checked with Immich's own clients in tests/immich)."""
    made = described_library(user, 3800)
    archived = made["assets"]["IMG_0002.jpg"]["id"]
    assert user.http.patch(f"/assets/{archived}", json={"is_archived": True}).status_code == 200
    target = ["--to", "immich", "--to-server", f"{server.url}/api", "--to-key", other_user.key]
    run = migrate(client_env, server, user, *target)
    assert run.returncode == 0, run.stderr
    assert (run.summary["sent"], run.summary["verified"], run.summary["failed"]) == (4, 4, 0), run.stdout
    source, moved = library_of(user), library_of(other_user)
    assert moved.keys() == source.keys()
    for sha1, asset in source.items():
        copy = moved[sha1]
        for key in ("original_filename", "size_bytes", "sort_at", "is_favorite", "trashed", "description",
                    "is_archived"):
            assert copy[key] == asset[key], (key, asset["original_filename"])
    place = moved[made["assets"]["IMG_0001.jpg"]["sha1"]]["place"]
    # Immich keeps a position without its altitude
    assert (place["latitude"], place["longitude"]) == (PLACE["latitude"], PLACE["longitude"])
    [album] = other_user.http.get("/albums").json()
    members = other_user.http.get(f"/albums/{album['id']}/assets").json()["items"]
    assert {asset["original_filename"] for asset in members} == {"IMG_0001.jpg", "VID_0003.mp4"}
    again = migrate(client_env, server, user, *target)
    assert (again.summary["sent"], again.summary["already_there"]) == (0, 4), again.stdout
    assert len(other_user.http.get("/albums").json()) == 1


def test_a_run_killed_while_rclone_writes_resumes_and_replaces_only_what_it_left_cut_short(
        server, user, client_env, tmp_path):
    bodies = {f"IMG_{number}.jpg": photo(3 << 20, seed=3900 + number) for number in range(6)}
    for name, body in bodies.items():
        assert upload(user, body, filename=name).status_code == 201
    (tmp_path / "dav").mkdir()
    with webdav(tmp_path / "dav") as remote:
        port = int(remote.split("127.0.0.1:")[1].split("'")[0])
        proxy = CountingProxy(port, hold_at=8 << 20)
        through = remote.replace(f"127.0.0.1:{port}", f"127.0.0.1:{proxy.port}")
        command = [PHONECLOUD, "migrate", "--server", server.url, "--key", user.key, "--to", f"rclone:{through}",
                   "--json"]
        try:
            killed = subprocess.Popen(command, env=client_env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                      stderr=subprocess.DEVNULL, start_new_session=True)
            assert proxy.holding.wait(120), "rclone never reached the held upload"
            os.killpg(killed.pid, signal.SIGKILL)  # phonecloud and the rclone it runs
            killed.wait()
            proxy.release()
            run = migrate(client_env, server, user, "--to", f"rclone:{through}")
        finally:
            proxy.close()
    assert run.returncode == 0, run.stderr
    assert run.summary["failed"] == 0 and run.summary["sent"] + run.summary["already_there"] == 6, run.stdout
    assert run.summary["sent"] < 6  # what the killed run had sent whole stayed
    for name, body in bodies.items():
        assert (tmp_path / "dav" / "photos" / "Photos from 2022" / name).read_bytes() == body


def test_messages_calls_and_contacts_go_to_another_phonecloud_too_and_only_once(server, user, other_user, client_env):
    answer = upload_backup(user, sbr_messages_xml())
    assert answer.status_code == 201 and finished(user, answer.json()["id"])["state"] == "done", answer.text
    assert user.http.post("/contacts/imports", content=plain_30(), headers={"Content-Type": "text/vcard"}).status_code \
        == 201
    target = ["--to", "phonecloud", "--to-server", server.url, "--to-key", other_user.key]
    run = migrate(client_env, server, user, *target)
    assert run.returncode == 0, run.stderr
    usage = user.http.get("/me").json()["usage"]
    assert other_user.http.get("/me").json()["usage"] | {"gallery": None} == usage | {"gallery": None}
    kinds = run.summary["kinds"]
    assert kinds["messages"]["imported"] == usage["messages"]["items"] - kinds["calls"]["imported"]
    assert kinds["contacts"] == {"imported": usage["contacts"]["items"], "already_there": 0}
    again = migrate(client_env, server, user, *target)
    assert again.returncode == 0, again.stderr
    assert all(moved["imported"] == 0 for moved in again.summary["kinds"].values()), again.summary
    assert other_user.http.get("/me").json()["usage"] | {"gallery": None} == usage | {"gallery": None}


def test_an_rclone_migration_goes_in_growing_batches_each_recorded_in_one_write(server, user, tmp_path, monkeypatch):
    """Six photos of 64 KiB and a first batch of 64 KiB: batches of one, two and three photos (each up to twice
    the one before), each recorded as being sent and then as arrived in one write apiece, not one per photo."""
    bodies = {f"IMG_{number}.jpg": photo(64 << 10, seed=4100 + number) for number in range(6)}
    for name, body in bodies.items():
        assert upload(user, body, filename=name).status_code == 201
    monkeypatch.setattr(to_rclone, "FIRST_BATCH_BYTES", 64 << 10)
    writes: list[list[str]] = []
    put_all = MigrationRecord._put_all

    def recording(record, outcomes):
        writes.append([outcome[3] for outcome in outcomes])  # the states kept in this write
        put_all(record, outcomes)

    monkeypatch.setattr(MigrationRecord, "_put_all", recording)
    api = Api(Connection(server.url, user.key), 2)
    source, remote, work = ApiSource(api), tmp_path / "remote", tmp_path / "work"
    destination = to_rclone.RcloneDestination(source, str(remote), 2, TransferReporter(rich=False), workdir=work)
    record = MigrationRecord(tmp_path / "record.sqlite3")
    try:
        summary = Migration(source, destination, record, TransferReporter(rich=False)).run()
        rows = record.load()
    finally:
        record.close()
        api.close()
    assert (summary.sent, summary.verified, summary.failed) == (6, 6, 0), summary
    # A batch's read-back may be kept after the next batch is recorded as being sent: it overlaps that copy.
    assert sorted(writes) == sorted([[state] * count for count in (1, 2, 3) for state in (SENDING, VERIFIED)])
    assert {row.state for row in rows.values()} == {VERIFIED} and len(rows) == 6
    for name, body in bodies.items():
        assert (remote / "Photos from 2022" / name).read_bytes() == body
    assert list(work.iterdir()) == []  # no staging left behind


def test_outcomes_told_together_are_kept_in_one_write_at_the_end_even_when_the_block_fails(tmp_path):
    record = MigrationRecord(tmp_path / "record.sqlite3")
    elsewhere = threading.Thread(target=record.failed, args=("c", "sha-c", 3, "refused"))
    try:
        with pytest.raises(RuntimeError), record.together():
            record.sending("a", "sha-a", 1, "Photos from 2022/a.jpg")
            record.arrived("b", "sha-b", 2, VERIFIED, "Photos from 2022/b.jpg", "sha1")
            elsewhere.start()  # another thread's outcome is kept at once
            elsewhere.join()
            assert set(kept_in(record.path)) == {"c"}
            raise RuntimeError("the batch went wrong")
    finally:
        record.close()
    kept = kept_in(record.path)
    assert {asset_id: row.state for asset_id, row in kept.items()} == {"a": SENDING, "b": VERIFIED, "c": "failed"}


def kept_in(path: Path) -> dict:
    """What another reader of the record file finds kept in it."""
    reader = MigrationRecord(path)
    try:
        return reader.load()
    finally:
        reader.close()
