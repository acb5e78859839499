"""The real camera and phone photos of ../shared/corpus/exif-samples: all stored, all bit-identical."""

import hashlib

import pytest

from conftest import shared_corpus_files, upload
from phonecloud.media.sniff import sniff

pytestmark = pytest.mark.in_process  # domain rules: the app in this process (tests/inprocess.py)

CORPUS = shared_corpus_files()
pytestmark = pytest.mark.skipif(not CORPUS, reason="../shared/corpus/exif-samples is not present")


def test_every_real_photo_uploads_and_downloads_bit_identical(accounts):
    owner = accounts.create(name="corpus")
    stored = {}
    for path in CORPUS:
        body = path.read_bytes()
        response = upload(owner, body, filename=path.name)
        if sniff(body[:4096]) is None:
            assert response.status_code == 415, path
            continue
        assert response.status_code in (200, 201), (path, response.text)
        stored[response.json()["id"]] = hashlib.sha1(body).hexdigest()
    assert len(stored) >= 90
    for asset_id, sha1 in stored.items():
        assert hashlib.sha1(owner.http.get(f"/assets/{asset_id}/original").content).hexdigest() == sha1


def test_heic_photos_from_phones_are_recognised():
    heic = [path for path in CORPUS if path.suffix.lower() in (".heic", ".heif")]
    assert heic
    for path in heic:
        assert sniff(path.read_bytes()[:4096]).mime in ("image/heic", "image/heif"), path
