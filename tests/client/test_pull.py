"""`phonecloud pull DIR` as a subprocess against a real server: a mirror of the library with capture times
and sidecars, incremental, resumable, verified, in year or album folders."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

from cli_runner import Run, phonecloud
from conftest import User, upload
from media_fixtures import jpeg
from portability.test_export import make_export, make_library

from .test_export_cli import CuttingTestProxy

YEAR = "Photos from 2022"


def pull(env: dict[str, str], url: str, user: User, folder: Path, *args: str) -> Run:
    run = phonecloud(env, "pull", str(folder), "--server", url, "--key", user.key, "--json", *args)
    assert run.returncode == 0, run.stderr
    return run


def mirrored(folder: Path) -> dict[str, Path]:
    return {path.relative_to(folder).as_posix(): path for path in folder.rglob("*")
            if path.is_file() and not path.name.startswith(".")}


def test_pull_mirrors_the_library_with_capture_times_and_sidecars(server, user, client_env, tmp_path):
    made = make_library(user, 2000)
    run = pull(client_env, server.url, user, tmp_path / "mirror")
    live = {name: asset for name, asset in made["assets"].items() if not asset["trashed"]}
    assert run.summary["fetched"] == len(live) and run.summary["failed"] == 0
    files = mirrored(tmp_path / "mirror")
    expected = {"IMG_0001.jpg": "Photos from 2019", "IMG_0002.jpg": YEAR, "VID_0003.mp4": "Photos from 2021"}
    assert set(files) == {f"{folder}/{name}{suffix}" for name, folder in expected.items() for suffix in ("", ".json")}
    for name, folder in expected.items():
        path = files[f"{folder}/{name}"]
        assert path.read_bytes() == made["bodies"][name]
        sidecar = json.loads(files[f"{folder}/{name}.json"].read_bytes())
        assert path.stat().st_mtime == int(sidecar["photoTakenTime"]["timestamp"])
        assert files[f"{folder}/{name}.json"].stat().st_mtime == path.stat().st_mtime  # the sidecar's too
        assert sidecar["title"] == name and sidecar["phonecloud"]["sha1"] == live[name]["sha1"]
    assert json.loads(files[f"{YEAR}/IMG_0002.jpg.json"].read_bytes())["favorited"] is True


def test_a_second_pull_fetches_nothing_and_after_one_upload_fetches_one(server, user, client_env, tmp_path):
    bodies = [jpeg(2100 + n) for n in range(5)]
    for number, body in enumerate(bodies):
        upload(user, body, filename=f"IMG_{number}.jpg")
    first = pull(client_env, server.url, user, tmp_path / "mirror")
    assert first.summary["fetched"] == 5
    second = pull(client_env, server.url, user, tmp_path / "mirror")
    assert second.summary | {"unchanged": 0} == first.summary | {
        "fetched": 0, "fetched_bytes": 0, "sidecars": 0, "unchanged": 0}
    assert second.summary["unchanged"] == 5
    upload(user, jpeg(2199), filename="IMG_0.jpg", modified_at="2022-01-01T00:00:00Z")  # sorts first, same name
    third = pull(client_env, server.url, user, tmp_path / "mirror")
    assert third.summary["fetched"] == 1 and third.summary["unchanged"] == 5 and third.summary["sidecars"] == 1
    files = mirrored(tmp_path / "mirror")
    assert files[f"{YEAR}/IMG_0.jpg"].read_bytes() == bodies[0]  # names stay: the newcomer gets IMG_0(1).jpg
    assert files[f"{YEAR}/IMG_0(1).jpg"].read_bytes() == jpeg(2199)


def test_pull_verifies_the_sha256_when_the_server_has_it(server, user, client_env, tmp_path):
    body = jpeg(2200)
    upload(user, body)
    make_export(user)  # computes the SHA-256 of every original
    run = pull(client_env, server.url, user, tmp_path / "mirror")
    sidecar = json.loads(mirrored(tmp_path / "mirror")[f"{YEAR}/IMG_0001.jpg.json"].read_bytes())
    assert run.summary["fetched"] == 1 and sidecar["phonecloud"]["sha256"] == hashlib.sha256(body).hexdigest()


def test_an_interrupted_download_is_resumed_with_a_range(server, user, client_env, tmp_path):
    body = jpeg(2300) + os.urandom(3_000_000)
    upload(user, body, filename="IMG_big.jpg")
    with CuttingTestProxy(server.url, cut=0.5, watch="/original") as proxy:
        run = pull(client_env, proxy.url, user, tmp_path / "mirror")
    assert run.summary["fetched"] == 1
    assert proxy.ranges[0] is None and proxy.ranges[1] not in (None, "bytes=0-")
    assert mirrored(tmp_path / "mirror")[f"{YEAR}/IMG_big.jpg"].read_bytes() == body


def test_a_partial_file_left_by_an_earlier_run_is_completed(server, user, client_env, tmp_path):
    body = jpeg(2400) + os.urandom(2_000_000)
    upload(user, body, filename="IMG_big.jpg")
    (tmp_path / "mirror" / YEAR).mkdir(parents=True)
    (tmp_path / "mirror" / YEAR / "IMG_big.jpg.partial").write_bytes(body[:1_000_000])
    with CuttingTestProxy(server.url, cut=1.0, watch="/original") as proxy:
        run = pull(client_env, proxy.url, user, tmp_path / "mirror")
    assert proxy.ranges == ["bytes=1000000-"] and run.summary["fetched"] == 1
    assert mirrored(tmp_path / "mirror")[f"{YEAR}/IMG_big.jpg"].read_bytes() == body


def test_album_layout_links_copies_and_keeps_unfiled_photos_in_year_folders(server, user, client_env, tmp_path):
    ids = [upload(user, jpeg(2500 + n), filename=f"IMG_{n}.jpg").json()["id"] for n in range(3)]
    albums = [user.http.post("/albums", json={"title": title}).json()["id"] for title in ("Beach", "Family")]
    for album in albums:
        user.http.put(f"/albums/{album}/assets", json={"asset_ids": ids[:2]})
    run = pull(client_env, server.url, user, tmp_path / "mirror", "--layout", "albums")
    assert run.summary["fetched"] == 3 and run.summary["linked"] == 2
    files = mirrored(tmp_path / "mirror")
    assert {path for path in files if not path.endswith(".json")} == {
        "Beach/IMG_0.jpg", "Beach/IMG_1.jpg", "Family/IMG_0.jpg", "Family/IMG_1.jpg", f"{YEAR}/IMG_2.jpg"}
    assert json.loads(files["Beach/metadata.json"].read_bytes())["title"] == "Beach"
    assert os.path.samefile(files["Beach/IMG_0.jpg"], files["Family/IMG_0.jpg"])
    user.http.patch(f"/albums/{albums[0]}", json={"title": "Seaside"})
    renamed = pull(client_env, server.url, user, tmp_path / "mirror", "--layout", "albums")
    assert renamed.summary["fetched"] == 0 and renamed.summary["linked"] == 2 and renamed.summary["stale"] == 2
    assert mirrored(tmp_path / "mirror")["Seaside/IMG_1.jpg"].read_bytes() == jpeg(2501)


def test_files_no_longer_in_the_library_are_kept_unless_delete(server, user, client_env, tmp_path):
    ids = [upload(user, jpeg(2600 + n), filename=f"IMG_{n}.jpg").json()["id"] for n in range(2)]
    pull(client_env, server.url, user, tmp_path / "mirror")
    user.http.post(f"/assets/{ids[0]}/trash")
    kept = pull(client_env, server.url, user, tmp_path / "mirror")
    assert kept.summary["stale"] == 1 and kept.summary["deleted"] == 0
    assert (tmp_path / "mirror" / YEAR / "IMG_0.jpg").exists()
    removed = pull(client_env, server.url, user, tmp_path / "mirror", "--delete")
    assert removed.summary["deleted"] == 1 and not (tmp_path / "mirror" / YEAR / "IMG_0.jpg").exists()
    assert (tmp_path / "mirror" / YEAR / "IMG_1.jpg").exists()


def test_a_foreign_file_in_the_way_is_left_alone_and_reported(server, user, client_env, tmp_path):
    upload(user, jpeg(2700), filename="IMG_0.jpg")
    (tmp_path / "mirror" / YEAR).mkdir(parents=True)
    (tmp_path / "mirror" / YEAR / "IMG_0.jpg").write_bytes(b"my own notes")
    run = phonecloud(client_env, "pull", str(tmp_path / "mirror"), "--server", server.url, "--key", user.key, "--json")
    assert run.returncode == 1 and run.summary["failed"] == 1 and "already there" in run.stderr
    assert (tmp_path / "mirror" / YEAR / "IMG_0.jpg").read_bytes() == b"my own notes"


def test_a_mirror_with_lost_state_recognises_its_files_without_fetching(server, user, client_env, tmp_path):
    upload(user, jpeg(2800), filename="IMG_0.jpg")
    pull(client_env, server.url, user, tmp_path / "mirror")
    for state in (tmp_path / "mirror").glob(".phonecloud-pull*"):
        state.unlink()
    os.utime(tmp_path / "mirror" / YEAR / "IMG_0.jpg", (0, 0))
    run = pull(client_env, server.url, user, tmp_path / "mirror")
    assert run.summary["fetched"] == 0 and run.summary["unchanged"] == 1
    sidecar = json.loads((tmp_path / "mirror" / YEAR / "IMG_0.jpg.json").read_bytes())
    assert (tmp_path / "mirror" / YEAR / "IMG_0.jpg").stat().st_mtime == int(sidecar["photoTakenTime"]["timestamp"])


def test_export_parts_are_not_needed_for_pull(server, user, client_env, tmp_path):
    """pull works on a server whose user never asked for an export (SHA-1 only)."""
    upload(user, jpeg(2900))
    assert user.http.get("/export").status_code == 404
    assert pull(client_env, server.url, user, tmp_path / "mirror").summary["fetched"] == 1


def test_the_mirror_state_records_a_file_only_once_it_is_durable_under_its_name(tmp_path, monkeypatch):
    """The checkpoint thread's order, observed on real files (every fsync really happens): each download is
    fsynced, then takes its name, then its folder is fsynced, and only then does the state record it."""
    from phonecloud.client.pull import checkpoints
    from phonecloud.client.pull.state import Placed, PullState

    events: list[tuple[str, str]] = []
    fsync = checkpoints.fsync_path

    def observed_fsync(path: Path, directory: bool = False) -> None:
        fsync(path, directory)
        events.append(("fsync", path.name))

    monkeypatch.setattr(checkpoints, "fsync_path", observed_fsync)
    state = PullState(tmp_path)
    record = state.record
    monkeypatch.setattr(state, "record", lambda rows: (record(rows), events.append(("record", len(rows)))))
    (tmp_path / "2020").mkdir()
    done = checkpoints.Checkpoints(state, tmp_path, batch=2, fsyncs=2)
    for n in range(3):
        partial = tmp_path / "2020" / f"IMG_{n}.jpg.partial"
        partial.write_bytes(jpeg(4400 + n))

        def place(partial: Path = partial, n: int = n) -> list[Placed]:
            os.replace(partial, tmp_path / "2020" / f"IMG_{n}.jpg")
            events.append(("name", f"IMG_{n}.jpg"))
            return [Placed(f"2020/IMG_{n}.jpg", f"asset-{n}", "0" * 40, 0, 0)]

        done.submit(checkpoints.Arrival([partial], place))
    done.close()
    assert sorted(state.load()) == ["2020/IMG_0.jpg", "2020/IMG_1.jpg", "2020/IMG_2.jpg"]
    for n in range(3):
        synced, named = events.index(("fsync", f"IMG_{n}.jpg.partial")), events.index(("name", f"IMG_{n}.jpg"))
        folder_synced = next(i for i, event in enumerate(events) if i > named and event == ("fsync", "2020"))
        in_state = next(i for i, event in enumerate(events) if i > folder_synced and event[0] == "record")
        assert synced < named < folder_synced < in_state
    assert sum(event[1] for event in events if event[0] == "record") == 3  # a batch of 2, then the rest
    state.close()
