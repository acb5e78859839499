"""Exports through the API: zip parts laid out like Google Takeout that zipfile and unzip
accept, bit-identical originals with their capture times, ranges, snapshots, isolation and bad input."""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import json
import os
import subprocess
import time
import uuid
import zipfile
from pathlib import Path

import pytest

from conftest import Accounts, User, serving, upload
from media_fixtures import jpeg, mp4
from portability.test_export_zip import unzip_program
from media.test_media_pipeline import exif_jpeg, wait_ready

pytestmark = pytest.mark.in_process  # domain rules: the app in this process (tests/inprocess.py)

ROOT = "Takeout/Google Photos"
PREPARE_TIMEOUT = 120  # seconds; a bound, never an expectation of speed
ALBUM_MADE = "2019-07-20T18:00:00Z"  # whole seconds: what Takeout's album metadata.json keeps


# -- helpers shared by the export, pull and import tests ---------------------------------------------------


def wait_export(user: User, export_id: str) -> dict:
    deadline = time.monotonic() + PREPARE_TIMEOUT
    while time.monotonic() < deadline:
        export = user.http.get(f"/export/{export_id}").json()
        if export["state"] != "preparing":
            return export
        time.sleep(0.1)
    raise AssertionError(f"export {export_id} still preparing after {PREPARE_TIMEOUT} s")


def make_export(user: User) -> dict:
    response = user.http.post("/export")
    assert response.status_code == 202, response.text
    export = wait_export(user, response.json()["id"])
    assert export["state"] == "ready", export
    return export


def part_path(export: dict, number: int) -> str:
    return f"/export/{export['id']}/parts/{number}"


def download_parts(user: User, export: dict, folder: Path) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for part in export["parts"]:
        response = user.http.get(part_path(export, part["number"]))
        assert response.status_code == 200 and len(response.content) == part["size"]
        paths.append(folder / part["name"])
        paths[-1].write_bytes(response.content)
    return paths


def unzip(parts: list[Path], into: Path) -> Path:
    """Every part checked by zipfile and by `unzip -t`, then extracted by unzip (which sets the mtimes)."""
    for path in parts:
        with zipfile.ZipFile(path) as archive:
            assert archive.testzip() is None
        tested = subprocess.run([unzip_program(), "-tq", str(path)], capture_output=True, text=True)
        assert tested.returncode == 0, tested.stdout + tested.stderr
        subprocess.run([unzip_program(), "-qo", str(path), "-d", str(into)], check=True)
    return into


def library_files(into: Path) -> dict[str, Path]:
    """Relative path → file, for every file extracted."""
    return {path.relative_to(into).as_posix(): path for path in into.rglob("*") if path.is_file()}


def make_library(user: User, seed: int) -> dict:
    """A small library: photos with and without EXIF dates, a video, an album, a favourite and the trash.
    Returns {"assets": {name: asset}, "bodies": {name: bytes}, "album": album}."""
    bodies = {
        "IMG_0001.jpg": exif_jpeg(seed, "2019:07:14 09:30:00"),
        "IMG_0002.jpg": jpeg(seed + 1),
        "VID_0003.mp4": mp4({"creation_time": "2021-05-01T12:00:00Z"}),
        "IMG_0004.jpg": jpeg(seed + 2),
    }
    assets = {}
    for name, body in bodies.items():
        answer = upload(user, body, filename=name, modified_at="2022-10-14T12:34:56Z")
        assert answer.status_code == 201, answer.text
        assets[name] = answer.json()["asset"]
    for asset in assets.values():
        wait_ready(user, asset["id"])
    album = user.http.post("/albums", json={"title": "Summer: Brittany/2019", "description": "By the sea",
                                            "created_at": ALBUM_MADE}).json()
    user.http.put(f"/albums/{album['id']}/assets",
                  json={"asset_ids": [assets["IMG_0001.jpg"]["id"], assets["VID_0003.mp4"]["id"]]})
    user.http.put(f"/assets/{assets['IMG_0002.jpg']['id']}/favorite")
    user.http.post(f"/assets/{assets['IMG_0004.jpg']['id']}/trash")
    assets = {name: user.http.get(f"/assets/{asset['id']}").json() for name, asset in assets.items()}
    return {"assets": assets, "bodies": bodies, "album": album}


def capture_time(asset: dict) -> float:
    return dt_parse(asset["sort_at"]).timestamp()


def dt_parse(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text)


# -- the archive -----------------------------------------------------------------------------------------


def test_export_is_prepared_then_describes_its_parts_and_manifest(user):
    made = make_library(user, 100)
    created = user.http.post("/export")
    assert created.status_code == 202 and created.json()["state"] == "preparing"
    export = wait_export(user, created.json()["id"])
    assert export["state"] == "ready" and export["error"] is None
    assert export["asset_count"] == len(made["assets"])
    assert [part["number"] for part in export["parts"]] == [1]
    part = export["parts"][0]
    assert part["name"].startswith("phonecloud-export-") and part["name"].endswith("-001.zip")
    assert part["size"] == export["total_bytes"] and part["url"] == f"/api/v1/export/{export['id']}/parts/1"
    manifest = user.http.get(f"/export/{export['id']}/manifest")
    assert hashlib.sha256(manifest.content).hexdigest() == export["manifest"]["sha256"]
    assert len(manifest.content) == export["manifest"]["size"]
    assert user.http.get("/export").json()["id"] == export["id"]


def test_parts_pass_zipfile_and_unzip_and_hold_the_originals_bit_identical_with_capture_times(user, tmp_path):
    made = make_library(user, 200)
    export = make_export(user)
    files = library_files(unzip(download_parts(user, export, tmp_path / "parts"), tmp_path / "out"))
    manifest = json.loads(files.pop("Takeout/manifest.json").read_bytes())
    listed = {item["path"]: item for item in manifest["files"]}
    assert set(listed) == set(files)
    for relative, path in files.items():
        assert hashlib.sha256(path.read_bytes()).hexdigest() == listed[relative]["sha256"]
        assert path.stat().st_size == listed[relative]["size"]
    for name, body in made["bodies"].items():
        asset = made["assets"][name]
        folder = "Trash" if asset["trashed"] else f"Photos from {dt_parse(asset['media']['taken_at']).year}"
        path = files[f"{ROOT}/{folder}/{name}"]
        assert path.read_bytes() == body
        assert path.stat().st_mtime == int(capture_time(asset))
    assert files[f"{ROOT}/Photos from 2019/IMG_0001.jpg"].stat().st_mtime == dt_parse("2019-07-14T09:30:00Z").timestamp()


def test_takeout_layout_albums_sidecars_and_index(user, tmp_path):
    made = make_library(user, 300)
    export = make_export(user)
    files = library_files(unzip(download_parts(user, export, tmp_path / "parts"), tmp_path / "out"))
    album = f"{ROOT}/Summer_ Brittany_2019"
    assert json.loads(files[f"{album}/metadata.json"].read_bytes())["title"] == "Summer: Brittany/2019"
    assert json.loads(files[f"{album}/metadata.json"].read_bytes())["description"] == "By the sea"
    for name in ("IMG_0001.jpg", "VID_0003.mp4"):  # in its year and in its album, as Takeout does
        in_album = files[f"{album}/{name}"]
        assert in_album.read_bytes() == made["bodies"][name]
        assert sum(path.name == name for path in files.values()) == 2
    sidecar = json.loads(files[f"{ROOT}/Photos from 2019/IMG_0001.jpg.json"].read_bytes())
    asset = made["assets"]["IMG_0001.jpg"]
    assert sidecar["title"] == "IMG_0001.jpg" and sidecar["description"] == ""
    assert sidecar["photoTakenTime"]["timestamp"] == str(int(capture_time(asset)))
    assert sidecar["photoTakenTime"]["formatted"] == "Jul 14, 2019, 9:30:00 AM UTC"
    assert set(sidecar) >= {"creationTime", "geoData", "geoDataExif", "favorited", "archived", "trashed", "url"}
    assert sidecar["phonecloud"]["sha1"] == asset["sha1"] and sidecar["phonecloud"]["albums"] == ["Summer_ Brittany_2019"]
    favourite = json.loads(files[f"{ROOT}/Photos from 2022/IMG_0002.jpg.json"].read_bytes())
    assert favourite["favorited"] is True and favourite["trashed"] is False
    assert json.loads(files[f"{ROOT}/Trash/IMG_0004.jpg.json"].read_bytes())["trashed"] is True
    index = files["Takeout/index.html"].read_text()
    assert "Photos from 2019" in index and "Summer_%20Brittany_2019/VID_0003.mp4" in index


def test_hostile_names_are_rewritten_deterministically_and_kept_in_the_sidecar(user, tmp_path):
    names = ["../../etc/passwd.jpg", "a/b\\c:d.jpg", "CON.jpg", "nul\x00byte.jpg", "é" * 300 + ".jpg",
             "IMG.JPG", "img.jpg", "metadata.json", " .. "]
    for number, name in enumerate(names):
        assert upload(user, jpeg(4000 + number), filename=name).status_code == 201
    first, second = make_export(user), make_export(user)
    parts = download_parts(user, first, tmp_path / "first")
    with zipfile.ZipFile(parts[0]) as archive:
        entries = archive.namelist()
    with zipfile.ZipFile(download_parts(user, second, tmp_path / "second")[0]) as archive:
        assert archive.namelist() == entries  # the same names every time
    folder = [entry for entry in entries if entry.startswith(f"{ROOT}/Photos from 2022/")]
    assert len(folder) == 2 * len(names)
    assert len({entry.casefold() for entry in folder}) == len(folder)
    for entry in entries:
        parts_of_path = entry.split("/")
        assert ".." not in parts_of_path and "\\" not in entry and ":" not in entry and "\x00" not in entry
        assert all(0 < len(part.encode()) <= 255 for part in parts_of_path)
    files = library_files(unzip(parts, tmp_path / "out"))
    titles = {json.loads(files[relative + ".json"].read_bytes())["title"] for relative in files
              if relative.startswith(f"{ROOT}/Photos from 2022/") and relative + ".json" in files}
    assert titles == {name.replace("\x00", "\u2400") for name in names}


# -- ranges and snapshots ---------------------------------------------------------------------------------


def test_a_range_in_the_middle_is_the_same_bytes_as_the_whole_part(user):
    make_library(user, 400)
    export = make_export(user)
    whole = user.http.get(part_path(export, 1)).content
    size = len(whole)
    for start, end in [(size // 2, size // 2 + 1000), (size // 3, size - 1), (0, 0), (size - 10, size - 1)]:
        response = user.http.get(part_path(export, 1), headers={"Range": f"bytes={start}-{end}"})
        assert response.status_code == 206
        assert response.headers["content-range"] == f"bytes {start}-{end}/{size}"
        assert response.content == whole[start:end + 1]
    suffix = user.http.get(part_path(export, 1), headers={"Range": "bytes=-100"})
    assert suffix.status_code == 206 and suffix.content == whole[-100:]
    etag = suffix.headers["etag"]
    resumed = user.http.get(part_path(export, 1), headers={"Range": f"bytes={size // 2}-", "If-Range": etag})
    assert resumed.status_code == 206 and resumed.content == whole[size // 2:]
    stale = user.http.get(part_path(export, 1), headers={"Range": "bytes=10-", "If-Range": '"another"'})
    assert stale.status_code == 200 and stale.content == whole
    head = user.http.head(part_path(export, 1))
    assert head.status_code == 200 and int(head.headers["content-length"]) == size and head.content == b""


def test_out_of_bounds_ranges_are_416_and_missing_parts_404(user):
    make_library(user, 500)
    export = make_export(user)
    size = export["parts"][0]["size"]
    for wanted in (f"bytes={size}-", f"bytes={size + 5}-{size + 10}", "bytes=20-10", "bytes=abc"):
        response = user.http.get(part_path(export, 1), headers={"Range": wanted})
        assert response.status_code == 416, wanted
        assert response.headers["content-range"] == f"bytes */{size}"
        assert response.json()["error"] == "range_not_satisfiable"
    missing = user.http.get(part_path(export, 2))
    assert missing.status_code == 404 and "has 1 parts" in missing.json()["message"]
    assert user.http.get(f"/export/{export['id']}/parts/0").status_code == 422


def test_the_same_part_twice_is_identical_whatever_the_library_does_since(user):
    made = make_library(user, 600)
    export = make_export(user)
    before = user.http.get(part_path(export, 1)).content
    upload(user, jpeg(650), filename="new.jpg")
    user.http.post(f"/assets/{made['assets']['IMG_0001.jpg']['id']}/trash")
    user.http.patch(f"/albums/{made['album']['id']}", json={"title": "Renamed"})
    user.http.put(f"/assets/{made['assets']['VID_0003.mp4']['id']}/favorite")
    assert user.http.get(part_path(export, 1)).content == before
    newer = make_export(user)
    assert newer["id"] != export["id"] and newer["asset_count"] == export["asset_count"] + 1


def blob_key(accounts: Accounts, asset_id: str) -> str:
    from phonecloud.gallery.models import Asset

    with accounts.services.db.read() as session:
        return session.get(Asset, uuid.UUID(asset_id)).blob_key


def test_an_original_deleted_after_the_snapshot_fails_the_part_clearly(accounts, user):
    made = make_library(user, 700)
    export = make_export(user)
    accounts.services.blobs.delete(blob_key(accounts, made["assets"]["IMG_0002.jpg"]["id"]))
    response = user.http.get(part_path(export, 1))
    assert response.status_code == 410 and response.json()["error"] == "gone"
    assert "IMG_0002.jpg" in response.json()["message"] and "make a new export" in response.json()["message"]
    index_at = user.http.get(f"/export/{export['id']}/manifest")  # the generated files are still there
    assert index_at.status_code == 200


def test_a_damaged_original_fails_the_export_with_the_reason(accounts, user):
    asset = upload(user, jpeg(800), filename="damaged.jpg").json()["asset"]
    wait_ready(user, asset["id"])
    body = bytearray(user.http.get(f"/assets/{asset['id']}/original").content)
    body[-3] ^= 0xFF  # same size, other bytes: what a failing disk does
    accounts.services.blobs.put(blob_key(accounts, asset["id"]), [bytes(body)])
    export = wait_export(user, user.http.post("/export").json()["id"])
    assert export["state"] == "failed" and "no longer matches what was uploaded" in export["error"]
    assert user.http.get(part_path(export, 1)).status_code == 409


# -- the API around it ------------------------------------------------------------------------------------


def test_another_users_export_is_404_on_every_route(user, other_user):
    make_library(other_user, 900)
    export = make_export(other_user)
    verified = {"manifest_sha256": export["manifest"]["sha256"]}
    for method, path in [("GET", f"/export/{export['id']}"), ("GET", part_path(export, 1)),
                         ("HEAD", part_path(export, 1)), ("GET", f"/export/{export['id']}/manifest"),
                         ("POST", f"/export/{export['id']}/verified"), ("DELETE", f"/export/{export['id']}")]:
        response = user.http.request(method, path, json=verified if method == "POST" else None)
        assert response.status_code == 404, (method, path)
        if method != "HEAD":
            assert response.json()["error"] == "not_found"
    assert user.http.get("/export").status_code == 404
    assert user.http.get("/export/digests").json()["items"] == []
    assert other_user.http.get(part_path(export, 1)).status_code == 200
    assert other_user.http.get(f"/export/{export['id']}").json()["verified_at"] is None


def test_a_part_counts_as_downloaded_once_a_response_delivered_its_last_byte(user):
    make_library(user, 910)
    export = make_export(user)
    assert [part["downloaded_at"] for part in export["parts"]] == [None]
    size = export["parts"][0]["size"]
    for partial in ({"Range": "bytes=0-99"}, {"Range": f"bytes=100-{size - 2}"}):
        assert user.http.get(part_path(export, 1), headers=partial).status_code == 206
    assert user.http.head(part_path(export, 1)).status_code == 200
    assert user.http.get(f"/export/{export['id']}").json()["parts"][0]["downloaded_at"] is None
    assert user.http.get(part_path(export, 1), headers={"Range": f"bytes={size - 1}-"}).status_code == 206
    marked = user.http.get(f"/export/{export['id']}").json()["parts"][0]["downloaded_at"]
    assert marked is not None and dt_parse(marked) >= dt_parse(export["ready_at"])


def test_the_client_says_every_part_was_verified_against_the_manifest_it_names(user):
    make_library(user, 920)
    export = make_export(user)
    path = f"/export/{export['id']}/verified"
    other = hashlib.sha256(b"another manifest").hexdigest()
    refused = user.http.post(path, json={"manifest_sha256": other})
    assert refused.status_code == 400 and "another manifest" in refused.json()["message"], refused.text
    assert user.http.post(path, json={"manifest_sha256": "abc"}).status_code == 422
    assert user.http.get(f"/export/{export['id']}").json()["verified_at"] is None
    done = user.http.post(path, json={"manifest_sha256": export["manifest"]["sha256"]})
    assert done.status_code == 200 and done.json()["verified_at"] is not None, done.text
    assert user.http.get(f"/export/{export['id']}").json()["verified_at"] == done.json()["verified_at"]


def test_asking_twice_while_preparing_gives_one_export_and_old_ones_are_removed(user):
    upload(user, jpeg(1000))
    first = user.http.post("/export").json()
    again = user.http.post("/export").json()
    assert again["id"] == first["id"] or wait_export(user, first["id"])["state"] == "ready"
    wait_export(user, again["id"])
    made = [make_export(user)["id"] for _ in range(3)]
    assert user.http.get(f"/export/{first['id']}").status_code == 404  # only the newest three are kept
    assert user.http.get("/export").json()["id"] == made[-1]
    assert user.http.delete(f"/export/{made[-1]}").status_code == 204
    assert user.http.get(f"/export/{made[-1]}").status_code == 404


def test_asking_for_an_export_wakes_the_job_workers_at_once(server, user, monkeypatch):
    woken = []
    wake = server.services.jobs.wake
    monkeypatch.setattr(server.services.jobs, "wake", lambda: (woken.append(True), wake()))
    export_id = user.http.post("/export").json()["id"]
    assert woken  # the person waits for the export: its job starts now, not at the workers' next poll
    assert wait_export(user, export_id)["state"] == "ready"


def test_two_exports_asked_for_in_the_same_second_have_parts_of_their_own_names(user):
    upload(user, jpeg(1200))
    first, second = make_export(user), make_export(user)  # an export of one photo is ready in a blink
    assert first["id"] != second["id"]
    assert first["parts"][0]["name"] != second["parts"][0]["name"]  # one folder can hold both


def test_digests_list_the_sha256_of_hashed_originals(user):
    bodies = [jpeg(1100 + n) for n in range(3)]
    ids = {upload(user, body).json()["id"]: hashlib.sha256(body).hexdigest() for body in bodies}
    make_export(user)
    page = user.http.get("/export/digests", params={"limit": 2}).json()
    rest = user.http.get("/export/digests", params={"cursor": page["next_cursor"]}).json()
    assert {item["asset_id"]: item["sha256"] for item in page["items"] + rest["items"]} == ids
    assert rest["next_cursor"] is None


def test_an_empty_library_exports_its_index_and_manifest(user):
    export = make_export(user)
    with zipfile.ZipFile(io.BytesIO(user.http.get(part_path(export, 1)).content)) as archive:
        assert archive.namelist() == ["Takeout/index.html", "Takeout/manifest.json"]
    assert export["asset_count"] == 0


# -- parts and ZIP64, on servers configured for them --------------------------------------------------------


@pytest.fixture(scope="module")
def small_parts_server(tmp_path_factory):
    settings = {"PHONECLOUD_EXPORT_PART_SIZE": "40KB", "PHONECLOUD_EXPORT_ZIP64_FROM": "2000"}
    with serving(tmp_path_factory.mktemp("small-parts") / "data", settings, in_process=True) as running:
        yield running


def test_small_parts_with_zip64_each_a_valid_archive_together_the_whole_library(small_parts_server, tmp_path):
    server, made = small_parts_server
    user = made.create()
    bodies = {f"IMG_{n:04d}.jpg": jpeg(1200 + n) + os.urandom(6000) for n in range(12)}
    bodies["VID_big.mp4"] = mp4() + os.urandom(60_000)  # larger than a part: a part of its own
    for name, body in bodies.items():
        assert upload(user, body, filename=name).status_code == 201
    export = make_export(user)
    assert len(export["parts"]) > 3
    parts = download_parts(user, export, tmp_path / "parts")
    for path, part in zip(parts, export["parts"]):
        with zipfile.ZipFile(path) as archive:
            assert part["size"] <= 40_000 or len(archive.namelist()) == 1  # a file larger than a part: alone
    # ZIP64 end records, as offsets from 2,000 bytes are written as ZIP64
    assert all(b"PK\x06\x06" in path.read_bytes()[-200:] for path in parts)
    files = library_files(unzip(parts, tmp_path / "out"))
    for name, body in bodies.items():
        assert files[f"{ROOT}/Photos from 2022/{name}"].read_bytes() == body
    manifest = json.loads(files["Takeout/manifest.json"].read_bytes())
    assert {item["path"] for item in manifest["files"]} == set(files) - {"Takeout/manifest.json"}
    assert max(item["part"] for item in manifest["files"]) <= len(parts)
