"""The whole real corpus through upload and the media pipeline, checked against independent readings."""

from __future__ import annotations

import datetime as dt
import io
import time

import exifread
import pytest
from PIL import Image, ImageChops, ImageStat

from conftest import shared_corpus_files, upload
from phonecloud.media.sniff import sniff

pytestmark = pytest.mark.in_process  # domain rules: the app in this process (tests/inprocess.py)

CORPUS = shared_corpus_files()
pytestmark = pytest.mark.skipif(not CORPUS, reason="../shared/corpus/exif-samples is not present")


@pytest.fixture(scope="module")
def processed(accounts):
    """Every corpus file uploaded by one user and processed: path → (asset record, thumbnail image)."""
    owner = accounts.create(name="pipeline-corpus")
    ids = {}
    for path in CORPUS:
        body = path.read_bytes()
        if sniff(body[:4096]) is None:
            continue
        response = upload(owner, body, filename=path.name)
        assert response.status_code in (200, 201), path
        ids[path] = response.json()["id"]
    deadline = time.monotonic() + 600
    records = {}
    while len(records) < len(set(ids.values())) and time.monotonic() < deadline:
        for asset_id in set(ids.values()) - set(records):
            record = owner.http.get(f"/assets/{asset_id}").json()
            if record["media"]["state"] != "pending":
                records[asset_id] = record
        time.sleep(0.2)
    assert len(records) == len(set(ids.values())), "some assets were never processed"
    return owner, {path: records[asset_id] for path, asset_id in ids.items()}


def thumbnail(owner, record) -> Image.Image:
    response = owner.http.get(f"/assets/{record['id']}/thumbnail")
    assert response.status_code == 200, response.text
    return Image.open(io.BytesIO(response.content)).convert("RGB")


def exif_tags(path):
    with open(path, "rb") as handle:
        return exifread.process_file(handle, details=False)


def test_every_file_is_stored_and_processed(processed):
    owner, records = processed
    assert len(records) >= 90
    assert all(record["media"]["state"] in ("ready", "failed") for record in records.values())
    failed = {path.name: record["media"]["error"] for path, record in records.items()
              if record["media"]["state"] == "failed"}
    assert all(failed.values()), "a failed asset must say why"
    assert set(failed) <= {"corrupted.jpg"} | {p.name for p in records if p.suffix.lower() in (".dng", ".nef")}


def test_every_valid_date_time_original_is_the_capture_time(processed):
    _, records = processed
    checked = 0
    for path, record in records.items():
        tag = exif_tags(path).get("EXIF DateTimeOriginal")
        try:
            stated = dt.datetime.strptime(str(tag).strip(), "%Y:%m:%d %H:%M:%S")
        except ValueError:
            continue  # absent or impossible: another source gives the date
        if not 1900 <= stated.year or stated > dt.datetime.now() + dt.timedelta(days=1):
            continue
        assert record["media"]["taken_at"][:19] == stated.isoformat(), path
        assert record["media"]["date_source"] == "exif", path
        checked += 1
    assert checked >= 50


def test_every_orientation_sample_gives_an_upright_thumbnail(processed):
    owner, records = processed
    for shape in ("landscape", "portrait"):
        samples = {path.stem[-1]: record for path, record in records.items()
                   if path.parent.name == "orientation" and path.stem.startswith(shape)}
        assert len(samples) == 8
        upright = thumbnail(owner, samples["1"])
        assert (upright.width > upright.height) == (shape == "landscape")
        for number, record in samples.items():
            picture = thumbnail(owner, record)
            assert picture.size == upright.size, (shape, number)
            mean = ImageStat.Stat(ImageChops.difference(picture, upright).convert("L")).mean[0]
            assert mean < 12, f"{shape}_{number} is not upright (mean pixel difference {mean:.1f})"


def _degrees(tag, ref) -> float:
    d, m, s = (float(value.num) / float(value.den) for value in tag.values)
    value = d + m / 60 + s / 3600
    return -value if str(ref).strip() in ("S", "W") else value


def test_gps_samples_give_the_right_coordinates(processed):
    _, records = processed
    checked = 0
    for path, record in records.items():
        if path.parent.name != "gps":
            continue
        tags = exif_tags(path)
        latitude = _degrees(tags["GPS GPSLatitude"], tags["GPS GPSLatitudeRef"])
        longitude = _degrees(tags["GPS GPSLongitude"], tags["GPS GPSLongitudeRef"])
        assert record["media"]["latitude"] == pytest.approx(latitude, abs=1e-5), path
        assert record["media"]["longitude"] == pytest.approx(longitude, abs=1e-5), path
        checked += 1
    assert checked >= 8


def test_phone_heic_files_get_thumbnails(processed):
    owner, records = processed
    heic = [record for path, record in records.items() if path.parent.name == "heic"]
    assert heic
    for record in heic:
        assert record["media"]["state"] == "ready"
        assert min(thumbnail(owner, record).size) <= 250


def test_originals_are_untouched_by_the_pipeline(processed):
    owner, records = processed
    for path, record in list(records.items())[:20]:
        assert owner.http.get(f"/assets/{record['id']}/original").content == path.read_bytes()
