"""`phonecloud import takeout`: a hand-built two-part Google Takeout with Google's naming quirks imports each
file once with the capture time of its own sidecar (matched through clipped, counted and edited names), the
albums of the other part (localised metadata, a title other than the folder's), favourites and the trash;
what cannot be used is skipped with its reason; a second import adds nothing."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import zipfile
from pathlib import Path

import pytest

from cli_runner import Run, phonecloud
from media_fixtures import image_bytes, jpeg
from media.test_media_pipeline import exif_jpeg

ROOT = "Takeout/Google Photos"
LONG = "Holiday_at_the_seaside_with_the_whole_family_and_friends.jpg"


def sidecar(title: str, taken: str, **flags) -> bytes:
    moment = dt.datetime.fromisoformat(taken)
    return json.dumps({"title": title, "photoTakenTime": {"timestamp": str(int(moment.timestamp())),
                                                          "formatted": moment.strftime("%b %d, %Y")},
                       "creationTime": {"timestamp": "1700000000"}, **flags}).encode()


def write_zip(path: Path, entries: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in entries.items():
            info = zipfile.ZipInfo(name, (2024, 1, 2, 3, 4, 6))  # the export's time, never a capture time
            archive.writestr(info, data)
    return path


@pytest.fixture
def takeout(tmp_path) -> dict:
    """Two zip parts; what each file is (by name) and its bytes."""
    bodies = {name: jpeg(8100 + n) for n, name in enumerate(
        ("IMG_0001.jpg", "IMG_0001(1).jpg", "IMG_0002.jpg", "IMG_0002-edited.jpg", "bad.jpg", "IMG_2020.jpg",
         "IMG_0003.jpg"))}
    bodies[LONG] = image_bytes("PNG", 8120)
    bodies["no_sidecar.jpg"] = exif_jpeg(8121, "2019:05:05 10:00:00")
    year = f"{ROOT}/Photos from 2019"
    first = write_zip(tmp_path / "takeout-20241201T000000Z-001.zip", {
        f"{year}/IMG_0001.jpg": bodies["IMG_0001.jpg"],
        f"{year}/IMG_0001.jpg.supplemental-metadata.json": sidecar("IMG_0001.jpg", "2019-07-14T09:30:00+00:00",
                                                                   favorited=True),
        f"{year}/IMG_0001(1).jpg": bodies["IMG_0001(1).jpg"],
        f"{year}/IMG_0001.jpg.supplemental-metadata(1).json": sidecar("IMG_0001.jpg", "2019-07-15T08:00:00+00:00"),
        f"{year}/IMG_0002.jpg": bodies["IMG_0002.jpg"],
        f"{year}/IMG_0002-edited.jpg": bodies["IMG_0002-edited.jpg"],
        f"{year}/IMG_0002.jpg.json": sidecar("IMG_0002.jpg", "2019-08-01T12:00:00+00:00"),
        f"{year}/{LONG}": bodies[LONG],
        f"{year}/{(LONG + '.supplemental-metadata')[:46]}.json": sidecar(LONG, "2019-09-09T09:09:09+00:00"),
        f"{year}/no_sidecar.jpg": bodies["no_sidecar.jpg"],
        f"{year}/bad.jpg": bodies["bad.jpg"],
        f"{year}/bad.jpg.json": b"{not json",
        f"{year}/orphan.jpg.json": sidecar("orphan.jpg", "2019-01-01T00:00:00+00:00"),
        f"{year}/IMG_0003.jpg": bodies["IMG_0003.jpg"],
        f"{year}/IMG_0003.jpg.supplemental-metad.json": sidecar("IMG_0003.jpg", "2019-10-10T10:00:00+00:00",
                                                                trashed=True),
    })
    album = f"{ROOT}/Sommerurlaub"
    second = write_zip(tmp_path / "takeout-20241201T000000Z-002.zip", {
        f"{album}/Metadaten.json": json.dumps({"title": "Summer holiday 2019", "description": "At the lake",
                                               "date": {"timestamp": "1563000000"}}).encode(),
        f"{album}/IMG_0001.jpg": bodies["IMG_0001.jpg"],
        f"{album}/IMG_0001.jpg.supplemental-metadata.json": sidecar("IMG_0001.jpg", "2019-07-14T09:30:00+00:00"),
        f"{album}/IMG_0002-edited.jpg": bodies["IMG_0002-edited.jpg"],
        f"{ROOT}/Fotos von 2020/IMG_2020.jpg": bodies["IMG_2020.jpg"],
        f"{ROOT}/Fotos von 2020/IMG_2020.jpg.json": sidecar("IMG_2020.jpg", "2020-02-02T20:20:00+00:00"),
    })
    return {"parts": [first, second], "bodies": bodies}


def import_takeout(env: dict[str, str], url: str, user, parts: list[Path]) -> Run:
    return phonecloud(env, "import", "takeout", *map(str, parts), "--server", url, "--key", user.key, "--json")


def by_sha1(user) -> dict[str, dict]:
    items = user.http.get("/assets", params={"limit": 1000}).json()["items"]
    items += user.http.get("/assets", params={"limit": 1000, "trashed": True}).json()["items"]
    return {item["sha1"]: item for item in items}


def test_a_two_part_takeout_with_googles_quirks_imports_once_with_its_dates_albums_and_flags(server, accounts,
                                                                                          client_env, takeout):
    user = accounts.create(name="takeout")
    run = import_takeout(client_env, server.url, user, takeout["parts"])
    assert run.returncode == 0, run.stderr
    summary = run.summary
    bodies = takeout["bodies"]
    assert summary["uploaded"] == len(bodies) and summary["failed"] == 0, summary
    assert summary["skipped"] == 2 and summary["matched"] == len(bodies) - 2, summary  # all but no_sidecar, bad
    assert "orphan.jpg.json: skipped: a sidecar with no photo or video of its name beside it" in run.stderr
    assert "bad.jpg.json: skipped: a sidecar that is not a JSON object" in run.stderr

    kept = by_sha1(user)
    sha1 = {name: hashlib.sha1(body).hexdigest() for name, body in bodies.items()}
    assert set(kept) == set(sha1.values())
    expected = {"IMG_0001.jpg": "2019-07-14T09:30:00Z", "IMG_0001(1).jpg": "2019-07-15T08:00:00Z",
                "IMG_0002.jpg": "2019-08-01T12:00:00Z", "IMG_0002-edited.jpg": "2019-08-01T12:00:00Z",
                LONG: "2019-09-09T09:09:09Z", "IMG_2020.jpg": "2020-02-02T20:20:00Z",
                "IMG_0003.jpg": "2019-10-10T10:00:00Z"}
    for name, moment in expected.items():
        assert kept[sha1[name]]["file_modified_at"] == moment, name
    assert kept[sha1["IMG_0002-edited.jpg"]]["original_filename"] == "IMG_0002-edited.jpg"  # its own name
    assert kept[sha1["IMG_0001(1).jpg"]]["original_filename"] == "IMG_0001.jpg"  # the sidecar's title
    assert [name for name in bodies if kept[sha1[name]]["is_favorite"]] == ["IMG_0001.jpg"]
    assert [name for name in bodies if kept[sha1[name]]["trashed"]] == ["IMG_0003.jpg"]
    for name, body in bodies.items():
        assert user.http.get(f"/assets/{kept[sha1[name]]['id']}/original").content == body, name

    albums = user.http.get("/albums").json()
    assert [(album["title"], album["description"]) for album in albums] == [("Summer holiday 2019", "At the lake")]
    members = user.http.get(f"/albums/{albums[0]['id']}/assets").json()["items"]
    assert {item["sha1"] for item in members} == {sha1["IMG_0001.jpg"], sha1["IMG_0002-edited.jpg"]}

    again = import_takeout(client_env, server.url, user, takeout["parts"])
    assert again.returncode == 0, again.stderr
    assert (again.summary["uploaded"], again.summary["duplicates"]) == (0, len(bodies)), again.summary
    assert by_sha1(user).keys() == kept.keys()
    assert [album["title"] for album in user.http.get("/albums").json()] == ["Summer holiday 2019"]

    unzipped = takeout["parts"][0].parent / "unzipped"  # the same photos, saved off as a folder tree
    for part in takeout["parts"]:
        with zipfile.ZipFile(part) as archive:
            archive.extractall(unzipped)
    synced = phonecloud(client_env, "sync", str(unzipped), "--server", server.url, "--key", user.key, "--json")
    assert synced.returncode == 0, synced.stderr
    assert synced.summary["uploaded"] == 0 and synced.summary["duplicates"] == len(bodies) + 2, synced.summary
    assert by_sha1(user).keys() == kept.keys()
