"""`phonecloud import-export`: an export imported into a fresh server reproduces the library (originals,
capture dates, albums, favourites, trash), from zip parts or the unzipped folder, once however often it
runs; hostile archives are refused or skipped with the reason, and never written anywhere."""

from __future__ import annotations

import io
import json
import struct
import zipfile
from pathlib import Path

import pytest

from cli_runner import Run, phonecloud
from conftest import User, serving
from media_fixtures import jpeg
from portability.test_export import make_library, unzip
from media.test_media_pipeline import exif_jpeg, wait_ready

from .test_export_cli import export_cli


@pytest.fixture(scope="module")
def fresh_server(tmp_path_factory):
    """A second server, empty: where exports are imported."""
    with serving(tmp_path_factory.mktemp("import-target") / "data") as running:
        yield running


def import_cli(env: dict[str, str], url: str, user: User, *sources: Path) -> Run:
    return phonecloud(env, "import-export", *map(str, sources), "--server", url, "--key", user.key, "--json")


def library_view(user: User) -> tuple[dict, dict]:
    """What the round trip must keep: per SHA-1 the name, dates, favourite, trash, description, archived flag
    and people; per album title its
    description, creation date and members (by SHA-1)."""
    assets = user.http.get("/assets", params={"limit": 1000}).json()["items"]
    assets += user.http.get("/assets", params={"limit": 1000, "trashed": True}).json()["items"]
    for asset in assets:
        wait_ready(user, asset["id"])
    assets = [user.http.get(f"/assets/{asset['id']}").json() for asset in assets]
    sha1_of = {asset["id"]: asset["sha1"] for asset in assets}
    view = {asset["sha1"]: (asset["original_filename"], asset["sort_at"], asset["media"]["taken_at"],
                            asset["media"]["date_source"], asset["is_favorite"], asset["trashed"],
                            asset["description"], asset["is_archived"], asset["people"]) for asset in assets}
    albums = {}
    for album in user.http.get("/albums").json():
        members = user.http.get(f"/albums/{album['id']}/assets").json()["items"]
        albums[album["title"]] = (album["description"], album["created_at"], {sha1_of[item["id"]] for item in members})
    return view, albums


def originals(user: User) -> dict[str, bytes]:
    items = user.http.get("/assets", params={"limit": 1000}).json()["items"]
    items += user.http.get("/assets", params={"limit": 1000, "trashed": True}).json()["items"]
    return {item["sha1"]: user.http.get(f"/assets/{item['id']}/original").content for item in items}


def test_export_then_import_on_a_fresh_server_reproduces_the_library(server, user, fresh_server, client_env, tmp_path):
    make_library(user, 3000)
    first = user.http.get("/assets", params={"limit": 1}).json()["items"][0]
    described = user.http.patch(f"/assets/{first['id']}", json={
        "description": "Grandma's 90th – Oma wird 90 🎂", "is_archived": True, "people": ["Oma", "Lena"]})
    assert described.status_code == 200 and described.json()["people"] == ["Oma", "Lena"], described.text
    exported = export_cli(client_env, server.url, user, tmp_path / "out")
    assert exported.returncode == 0, exported.stderr
    target_server, target_accounts = fresh_server
    target = target_accounts.create()
    imported = import_cli(client_env, target_server.url, target, tmp_path / "out")
    assert imported.returncode == 0, imported.stderr
    assert imported.summary | {"bytes": 0} == {"uploaded": 4, "duplicates": 0, "bytes": 0, "albums": 1,
                                               "favorites": 1, "described": 1, "trashed": 1, "skipped": 0,
                                               "matched": 4, "failed": 0,
                                               "messages": 0, "message_duplicates": 0, "calls": 0,
                                               "call_duplicates": 0,
                                               "contacts": 0, "contact_duplicates": 0}
    assert library_view(target) == library_view(user)
    assert originals(target) == originals(user)
    again = import_cli(client_env, target_server.url, target, tmp_path / "out")
    assert again.returncode == 0 and again.summary["uploaded"] == 0 and again.summary["duplicates"] == 4
    assert library_view(target) == library_view(user)


def test_an_unzipped_export_imports_the_same(server, user, fresh_server, client_env, tmp_path):
    make_library(user, 3100)
    assert export_cli(client_env, server.url, user, tmp_path / "out").returncode == 0
    folder = unzip(sorted((tmp_path / "out").glob("*.zip")), tmp_path / "unzipped")
    target_server, target_accounts = fresh_server
    target = target_accounts.create()
    imported = import_cli(client_env, target_server.url, target, folder)
    assert imported.returncode == 0, imported.stderr
    assert library_view(target) == library_view(user)


def test_a_takeout_sidecar_gives_the_capture_time_of_a_photo_without_one(fresh_server, client_env, tmp_path):
    """Google's own naming (`.supplemental-metadata.json`): photoTakenTime becomes the file's time."""
    target_server, target_accounts = fresh_server
    target = target_accounts.create()
    folder = tmp_path / "Takeout" / "Google Photos" / "Photos from 2015"
    folder.mkdir(parents=True)
    (folder / "IMG_20150601.jpg").write_bytes(jpeg(3200))
    (folder / "IMG_20150601.jpg.supplemental-metadata.json").write_text(json.dumps(
        {"title": "holiday.jpg", "photoTakenTime": {"timestamp": "1433160000"}, "favorited": True}))
    (folder / "IMG_exif.jpg").write_bytes(exif_jpeg(3201, "2015:06:02 10:00:00"))
    (folder / "IMG_exif.jpg.suppl.json").write_text(json.dumps({"title": "exif.jpg"}))
    assert import_cli(client_env, target_server.url, target, tmp_path / "Takeout").returncode == 0
    view, _ = library_view(target)
    by_name = {name: rest for name, *rest in view.values()}
    assert by_name["holiday.jpg"][0] == "2015-06-01T12:00:00Z" and by_name["holiday.jpg"][3] is True
    assert by_name["exif.jpg"][1] == "2015-06-02T10:00:00"


# -- hostile archives --------------------------------------------------------------------------------------


def add(archive: zipfile.ZipFile, name: str, data: bytes, mode: int = 0o100644, deflate: bool = False) -> None:
    info = zipfile.ZipInfo(name, (2022, 1, 1, 0, 0, 0))
    info.external_attr = mode << 16
    info.compress_type = zipfile.ZIP_DEFLATED if deflate else zipfile.ZIP_STORED
    archive.writestr(info, data)


def test_hostile_entries_are_skipped_with_their_reasons_and_the_rest_imported(fresh_server, client_env, tmp_path):
    target_server, target_accounts = fresh_server
    target = target_accounts.create()
    hostile = tmp_path / "hostile.zip"
    with zipfile.ZipFile(hostile, "w") as archive:
        add(archive, "Takeout/Google Photos/Photos from 2022/good.jpg", jpeg(3300))
        add(archive, "Takeout/Google Photos/Photos from 2022/good.jpg.json", b"{not json")
        add(archive, "../../escaped.jpg", jpeg(3301))
        add(archive, "/etc/absolute.jpg", jpeg(3302))
        add(archive, "Takeout\\windows.jpg", jpeg(3303))
        add(archive, "Takeout/link.jpg", b"/etc/passwd", mode=0o120777)
        add(archive, "Takeout/bomb.jpg", bytes(50_000_000), deflate=True)
        add(archive, "Takeout/Google Photos/Album/metadata.json", b"[" * 100_000 + b"]" * 100_000)
        add(archive, "Takeout/Google Photos/Album/notes.txt", b"not a photo")
    run = import_cli(client_env, target_server.url, target, hostile)
    assert run.returncode == 0, run.stderr
    assert run.summary["uploaded"] == 1 and run.summary["skipped"] == 7
    for why in ("'..'", "absolute path", "backslash", "symbolic link", "zip bomb", "not a photo or video",
                "a sidecar that is not a JSON object"):
        assert why in run.stderr, why
    assert not (tmp_path.parent / "escaped.jpg").exists() and not Path("/etc/absolute.jpg").exists()
    names = {item["original_filename"] for item in target.http.get("/assets").json()["items"]}
    assert names == {"good.jpg"}
    assert [album["title"] for album in target.http.get("/albums").json()] == ["Album"]


def test_overlapping_entries_are_refused_as_a_whole(fresh_server, client_env, tmp_path):
    """The overlapping-entries zip bomb: two central directory records that point at the same data."""
    target_server, target_accounts = fresh_server
    target = target_accounts.create()
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        add(archive, "a.jpg", jpeg(3400))
        add(archive, "b.jpg", jpeg(3401))
    data = bytearray(buffer.getvalue())
    second = data.index(b"PK\x01\x02", data.index(b"PK\x01\x02") + 4)
    data[second + 42:second + 46] = struct.pack("<I", 0)  # b.jpg's local header is now a.jpg's
    (tmp_path / "overlap.zip").write_bytes(bytes(data))
    run = import_cli(client_env, target_server.url, target, tmp_path / "overlap.zip")
    assert run.returncode == 1 and "overlap" in run.stderr
    assert target.http.get("/assets").json()["items"] == []


def test_a_file_that_is_not_a_zip_is_refused_clearly(fresh_server, client_env, tmp_path):
    target_server, target_accounts = fresh_server
    target = target_accounts.create()
    (tmp_path / "fake.zip").write_bytes(b"PK\x03\x04 certainly not a zip")
    run = import_cli(client_env, target_server.url, target, tmp_path / "fake.zip")
    assert run.returncode == 1 and "not a readable zip archive" in run.stderr


def test_an_album_keeps_the_date_it_is_created_with_and_refuses_one_in_the_future(user):
    made = user.http.post("/albums", json={"title": "Old", "created_at": "2015-03-01T10:00:00+02:00"})
    assert made.status_code == 201 and made.json()["created_at"].startswith("2015-03-01T08:00:00")
    naive = user.http.post("/albums", json={"title": "Naive", "created_at": "2016-01-02T03:04:05"}).json()
    assert naive["created_at"].startswith("2016-01-02T03:04:05")  # UTC when no offset is given
    future = user.http.post("/albums", json={"title": "Later", "created_at": "2199-01-01T00:00:00Z"})
    assert future.status_code == 400 and "future" in future.json()["message"]
    assert [album["title"] for album in user.http.get("/albums").json()] == ["Old", "Naive"]
