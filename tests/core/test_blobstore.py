"""The local blob store: durable put, ranged get, delete, exists, iterate, staging that never leaks."""

import os

import pytest

from phonecloud.core.blobstore import BlobNotFound, LocalBlobStore, open_blob_store


@pytest.fixture
def store(tmp_path):
    return LocalBlobStore(tmp_path / "blobs")


def test_put_and_get_whole_and_ranges(store):
    data = os.urandom(3 * 1024 * 1024 + 17)
    assert store.put("users/1/originals/ab/cd/abcd", iter([data[:1000], data[1000:]])) == len(data)
    assert b"".join(store.get("users/1/originals/ab/cd/abcd")) == data
    assert b"".join(store.get("users/1/originals/ab/cd/abcd", 10, 20)) == data[10:20]
    assert b"".join(store.get("users/1/originals/ab/cd/abcd", len(data) - 5)) == data[-5:]
    assert b"".join(store.get("users/1/originals/ab/cd/abcd", 5, 10**9)) == data[5:]
    assert store.size("users/1/originals/ab/cd/abcd") == len(data)


def test_missing_keys(store):
    with pytest.raises(BlobNotFound):
        store.get("users/1/nothing")
    with pytest.raises(BlobNotFound):
        store.size("users/1/nothing")
    assert not store.exists("users/1/nothing")
    store.delete("users/1/nothing")  # not an error


def test_delete_exists_iterate(store):
    for key in ("users/1/a", "users/1/b", "users/2/c"):
        store.put(key, [key.encode()])
    assert sorted(store.iterate()) == ["users/1/a", "users/1/b", "users/2/c"]
    assert sorted(store.iterate("users/1/")) == ["users/1/a", "users/1/b"]
    store.delete("users/1/a")
    assert not store.exists("users/1/a") and store.exists("users/1/b")


def test_abort_leaves_nothing_and_commit_replaces_atomically(store):
    with store.writer() as writer:
        writer.write(b"never visible")
    assert list((store.root / ".staging").iterdir()) == []
    store.put("k/one", [b"first"])
    writer = store.writer()
    writer.write(b"second")
    assert b"".join(store.get("k/one")) == b"first"  # staging is invisible until commit
    writer.commit("k/one")
    writer.abort()  # after commit: does nothing
    assert b"".join(store.get("k/one")) == b"second"
    assert list((store.root / ".staging").iterdir()) == []


@pytest.mark.parametrize("key", ["", "../escape", "a/../../b", "/abs", "a//b", ".staging/x", "a/.hidden", "nul\x00"])
def test_keys_that_could_escape_or_collide_with_staging_are_refused(store, key):
    with pytest.raises(ValueError):
        store.put(key, [b"x"])


def test_stale_staging_is_removed(store):
    writer = store.writer()
    writer.write(b"abandoned by a crash")
    old = next((store.root / ".staging").iterdir())
    os.utime(old, (0, 0))
    assert store.remove_stale_staging(older_than_seconds=3600) == 1
    assert list((store.root / ".staging").iterdir()) == []


def test_urls_choose_the_store(tmp_path):
    assert isinstance(open_blob_store((tmp_path / "x").as_uri()), LocalBlobStore)
    assert isinstance(open_blob_store(str(tmp_path / "y")), LocalBlobStore)
    with pytest.raises(ValueError, match="unsupported"):
        open_blob_store("ftp://example.org/x")
