"""The S3 blob store against a real S3 server (rclone serve s3 on loopback): streamed multipart uploads,
nothing visible before commit, ranged reads, listing per user, and staging a crash leaves behind."""

from __future__ import annotations

import hashlib
import os
import tracemalloc

import pytest

from phonecloud.core.blobstore import BlobNotFound, open_blob_store
from phonecloud.core.blobstore.s3 import S3BlobStore

MIB = 1 << 20


@pytest.fixture
def store(s3_url) -> S3BlobStore:
    """Parts of S3's smallest size, so that a few MiB already make a multipart upload."""
    return open_blob_store(s3_url + "&part_size=5MiB")


def staged(store: S3BlobStore) -> list[str]:
    return [key for key, _ in store.staging()]


def test_the_url_chooses_the_s3_store_with_its_options(s3_url):
    store = open_blob_store(s3_url + "&part_size=8MiB&region=eu-west-3")
    assert isinstance(store, S3BlobStore)
    assert store.bucket == s3_url.removeprefix("s3://").split("/")[0]
    assert store.prefix.endswith("/") and "/t-" in store.prefix
    assert store.part_size == 8 * MIB
    assert store.client.meta.region_name == "eu-west-3"


@pytest.mark.parametrize("url, problem", [
    ("s3:///prefix", "names its bucket"),
    ("s3://bucket/p?endpoint=http://127.0.0.1:9&colour=blue", "unknown S3 URL option"),
    ("s3://bucket/p?part_size=1MiB", "at least"),
])
def test_bad_urls_are_refused_naming_the_problem(url, problem):
    with pytest.raises(ValueError, match=problem):
        open_blob_store(url)


def test_small_blob_round_trip_with_ranges(store):
    body = bytes(range(256)) * 40
    assert store.put("users/1/originals/ab/small", [body[:100], body[100:]]) == len(body)
    assert b"".join(store.get("users/1/originals/ab/small")) == body
    assert store.size("users/1/originals/ab/small") == len(body)
    assert store.exists("users/1/originals/ab/small")
    for start, end in [(0, 1), (5, 5000), (100, None), (len(body) - 1, None), (len(body), None), (7, 7),
                       (len(body) + 10, None), (20, len(body) + 100)]:
        assert b"".join(store.get("users/1/originals/ab/small", start, end)) == body[start:end], (start, end)


def test_missing_keys_raise_before_any_byte(store):
    with pytest.raises(BlobNotFound):
        store.get("users/1/nothing-here")
    with pytest.raises(BlobNotFound):
        store.get("users/1/nothing-here", 3, 3)
    with pytest.raises(BlobNotFound):
        store.size("users/1/nothing-here")
    assert not store.exists("users/1/nothing-here")
    store.delete("users/1/nothing-here")  # deleting what is not there is not an error


def test_large_blob_streams_in_parts_and_appears_only_at_commit(store):
    digest = hashlib.sha1()
    with store.writer() as writer:
        for _ in range(12):
            chunk = os.urandom(MIB)
            digest.update(chunk)
            writer.write(chunk)
        assert list(store.iterate("users/2/")) == []  # two parts sent, nothing visible
        writer.seal()
        assert len(staged(store)) == 1 and list(store.iterate("users/2/")) == []
        writer.commit("users/2/originals/cd/large")
    assert list(store.iterate("users/2/")) == ["users/2/originals/cd/large"]
    assert store.size("users/2/originals/cd/large") == 12 * MIB
    assert hashlib.sha1(b"".join(store.get("users/2/originals/cd/large"))).hexdigest() == digest.hexdigest()
    assert staged(store) == []


def test_memory_stays_within_a_part_or_two_whatever_the_size(store):
    chunk = os.urandom(MIB)
    tracemalloc.start()
    try:
        with store.writer() as writer:
            for _ in range(40):
                writer.write(chunk)
            writer.commit("users/3/originals/ef/forty")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert store.size("users/3/originals/ef/forty") == 40 * MIB
    assert peak < 3 * store.part_size + 2 * MIB, peak  # far below the 40 MiB of the blob


@pytest.mark.parametrize("size_mib, seal", [(1, False), (7, False), (7, True)])
def test_abort_leaves_nothing_anywhere(store, size_mib, seal):
    writer = store.writer()
    writer.write(os.urandom(size_mib * MIB))
    if seal:
        writer.seal()
    writer.abort()
    writer.abort()  # twice is fine
    assert list(store.iterate()) == [] and staged(store) == []


def test_commit_replaces_a_blob_atomically(store):
    store.put("users/4/k", [b"old"])
    with store.writer() as writer:
        writer.write(b"new" * 3 * MIB)
        assert b"".join(store.get("users/4/k")) == b"old"
        writer.commit("users/4/k")
    assert b"".join(store.get("users/4/k")) == b"new" * 3 * MIB


def test_listing_is_per_user_and_never_shows_staging(store):
    for key in ["users/5/originals/aa/x", "users/5/derived/id/thumbnail.webp", "users/51/originals/bb/y"]:
        store.put(key, [b"bytes"])
    pending = store.writer()
    pending.write(os.urandom(6 * MIB))
    pending.seal()
    try:
        assert sorted(store.iterate("users/5/")) == ["users/5/derived/id/thumbnail.webp", "users/5/originals/aa/x"]
        assert len(list(store.iterate())) == 3
        for key in list(store.iterate("users/5/")):
            store.delete(key)
        assert list(store.iterate()) == ["users/51/originals/bb/y"]
    finally:
        pending.abort()


def test_staging_left_by_a_crash_is_removed_once_stale(store):
    crashed = store.writer()
    crashed.write(os.urandom(6 * MIB))
    crashed.seal()  # then the process dies: neither commit nor abort
    assert store.remove_stale_staging(older_than_seconds=3600) == 0
    assert len(staged(store)) == 1
    assert store.remove_stale_staging(older_than_seconds=-1) == 1
    assert staged(store) == [] and list(store.iterate()) == []


@pytest.mark.parametrize("key", ["", "../escape", "a//b", ".staging/x", "users/1/.hidden", "nul\x00"])
def test_keys_outside_the_layout_are_refused(store, key):
    with pytest.raises(ValueError):
        store.put(key, [b"x"])
    with pytest.raises(ValueError):
        store.get(key)


def test_local_file_gives_decoders_a_temporary_copy(store):
    store.put("users/6/originals/ab/photo", [b"pixels" * 1000])
    with store.local_file("users/6/originals/ab/photo") as path:
        assert open(path, "rb").read() == b"pixels" * 1000
    assert not os.path.exists(path)


# -- resumable staging (tus) ---------------------------------------------------------------------------------

def test_resumable_bytes_arrive_over_many_requests_and_processes(store, s3_url):
    body = os.urandom(13 * MIB + 12345)
    pieces = [body[:3 * MIB], body[3 * MIB:11 * MIB], body[11 * MIB:]]
    for piece in pieces:  # each request through a store of its own, as another process would
        blob = open_blob_store(s3_url + "&part_size=5MiB").resumable("upload-1")
        blob.truncate(blob.size())
        blob.write_many([piece[:MIB], piece[MIB:]])
        blob.seal()
        blob.abort()
    blob = store.resumable("upload-1")
    assert blob.size() == len(body)
    assert b"".join(blob.read()) == body
    assert b"".join(blob.read(5 * MIB - 3, 6 * MIB)) == body[5 * MIB - 3:6 * MIB]
    assert list(store.iterate()) == [] and list(store.resumable_names()) == ["upload-1"]
    blob.commit("users/7/originals/ab/tus")
    blob.commit("users/7/originals/ab/tus")  # again, as after a crash before the caller's bookkeeping
    assert b"".join(store.get("users/7/originals/ab/tus")) == body
    blob.discard()
    blob.discard()
    assert list(store.resumable_names()) == [] and store.resumable("upload-1").size() == 0
    assert list(store.iterate()) == ["users/7/originals/ab/tus"]


def test_resumable_truncate_drops_what_was_never_acknowledged(store):
    body = os.urandom(9 * MIB)
    blob = store.resumable("upload-2")
    blob.write_many([body[:2 * MIB]])
    blob.seal()
    acknowledged = blob.size()
    blob.write_many([b"\xff" * (6 * MIB)])  # a request that wrote (one part even reached the store) then died
    blob.abort()
    again = store.resumable("upload-2")
    assert again.size() >= acknowledged
    again.truncate(acknowledged)
    again.write_many([body[2 * MIB:]])
    again.seal()
    assert b"".join(store.resumable("upload-2").read()) == body
    cut = store.resumable("upload-2")
    cut.truncate(3 * MIB)  # inside a segment: the kept bytes stay, the rest goes
    assert cut.size() == 3 * MIB and b"".join(cut.read()) == body[:3 * MIB]
    with pytest.raises(BlobNotFound):
        cut.truncate(4 * MIB)  # more than is staged
    cut.discard()


def test_resumable_staging_survives_the_stale_staging_sweep(store):
    blob = store.resumable("upload-3")
    blob.write_many([b"kept for hours"])
    blob.seal()
    store.remove_stale_staging(older_than_seconds=-1)
    assert b"".join(store.resumable("upload-3").read()) == b"kept for hours"
    with pytest.raises(ValueError):
        store.resumable("../escape")
    blob.discard()
