"""A hand-built two-part Google Takeout with Google's naming quirks (clipped, counted and edited names, a
localised album metadata file, an album in the other part, a sidecar that is not JSON, an orphan sidecar), and
what importing it must give: shared by the client's `phonecloud import takeout` and the server's Takeout job."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import zipfile
from pathlib import Path

from media_fixtures import image_bytes, jpeg
from media.test_media_pipeline import exif_jpeg

ROOT = "Takeout/Google Photos"
LONG = "Holiday_at_the_seaside_with_the_whole_family_and_friends.jpg"
DESCRIPTION = "Sunrise at the lake – Sonnenaufgang am See 🌅"
# Where Google Photos placed a photo whose file has no GPS (Takeout writes zeros for none).
PLACE = {"latitude": 47.6596, "longitude": 9.1753, "altitude": 395.0, "latitudeSpan": 0.0, "longitudeSpan": 0.0}
NOWHERE = {"latitude": 0.0, "longitude": 0.0, "altitude": 0.0, "latitudeSpan": 0.0, "longitudeSpan": 0.0}


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


def build_takeout(folder: Path) -> dict:
    """Two zip parts; what each file is (by name) and its bytes."""
    bodies = {name: jpeg(8100 + n) for n, name in enumerate(
        ("IMG_0001.jpg", "IMG_0001(1).jpg", "IMG_0002.jpg", "IMG_0002-edited.jpg", "bad.jpg", "IMG_2020.jpg",
         "IMG_0003.jpg"))}
    bodies[LONG] = image_bytes("PNG", 8120)
    bodies["no_sidecar.jpg"] = exif_jpeg(8121, "2019:05:05 10:00:00")
    year = f"{ROOT}/Photos from 2019"
    first = write_zip(folder / "takeout-20241201T000000Z-001.zip", {
        f"{year}/IMG_0001.jpg": bodies["IMG_0001.jpg"],
        f"{year}/IMG_0001.jpg.supplemental-metadata.json": sidecar("IMG_0001.jpg", "2019-07-14T09:30:00+00:00",
                                                                   favorited=True, description=DESCRIPTION,
                                                                   people=[{"name": "Anna"}, {"name": "Ben"}]),
        f"{year}/IMG_0001(1).jpg": bodies["IMG_0001(1).jpg"],
        f"{year}/IMG_0001.jpg.supplemental-metadata(1).json": sidecar("IMG_0001.jpg", "2019-07-15T08:00:00+00:00"),
        f"{year}/IMG_0002.jpg": bodies["IMG_0002.jpg"],
        f"{year}/IMG_0002-edited.jpg": bodies["IMG_0002-edited.jpg"],
        f"{year}/IMG_0002.jpg.json": sidecar("IMG_0002.jpg", "2019-08-01T12:00:00+00:00", geoData=PLACE,
                                             geoDataExif=NOWHERE),
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
    second = write_zip(folder / "takeout-20241201T000000Z-002.zip", {
        f"{album}/Metadaten.json": json.dumps({"title": "Summer holiday 2019", "description": "At the lake",
                                               "date": {"timestamp": "1563000000"}}).encode(),
        f"{album}/IMG_0001.jpg": bodies["IMG_0001.jpg"],
        f"{album}/IMG_0001.jpg.supplemental-metadata.json": sidecar("IMG_0001.jpg", "2019-07-14T09:30:00+00:00"),
        f"{album}/IMG_0002-edited.jpg": bodies["IMG_0002-edited.jpg"],
        f"{ROOT}/Fotos von 2020/IMG_2020.jpg": bodies["IMG_2020.jpg"],
        f"{ROOT}/Fotos von 2020/IMG_2020.jpg.json": sidecar("IMG_2020.jpg", "2020-02-02T20:20:00+00:00",
                                                              archived=True),
    })
    return {"parts": [first, second], "bodies": bodies}



def by_sha1(user) -> dict[str, dict]:
    items = user.http.get("/assets", params={"limit": 1000}).json()["items"]
    items += user.http.get("/assets", params={"limit": 1000, "trashed": True}).json()["items"]
    return {item["sha1"]: item for item in items}


def check_library(user, takeout: dict) -> dict[str, dict]:
    """The user's library holds each file of the Takeout once, with its sidecar's capture time, title and
    flags, and the album of the other part; the library by SHA-1."""
    bodies = takeout["bodies"]
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
    assert [name for name in bodies if kept[sha1[name]]["is_archived"]] == ["IMG_2020.jpg"]
    described = {name: (kept[sha1[name]]["description"], kept[sha1[name]]["people"]) for name in bodies
                 if kept[sha1[name]]["description"] or kept[sha1[name]]["people"]}
    assert described == {"IMG_0001.jpg": (DESCRIPTION, ["Anna", "Ben"])}
    placed = {name: kept[sha1[name]]["place"] for name in bodies if kept[sha1[name]]["place"]}
    expected_place = {"latitude": 47.6596, "longitude": 9.1753, "altitude": 395.0}
    assert placed == {"IMG_0002.jpg": expected_place, "IMG_0002-edited.jpg": expected_place}  # its original's
    for name, body in bodies.items():
        assert user.http.get(f"/assets/{kept[sha1[name]]['id']}/original").content == body, name

    albums = user.http.get("/albums").json()
    assert [(album["title"], album["description"]) for album in albums] == [("Summer holiday 2019", "At the lake")]
    members = user.http.get(f"/albums/{albums[0]['id']}/assets").json()["items"]
    assert {item["sha1"] for item in members} == {sha1["IMG_0001.jpg"], sha1["IMG_0002-edited.jpg"]}
    return kept


# What the importer reports of the Takeout's two unusable entries.
SKIPS = ("orphan.jpg.json: skipped: a sidecar with no photo or video of its name beside it",
         "bad.jpg.json: skipped: a sidecar that is not a JSON object")
