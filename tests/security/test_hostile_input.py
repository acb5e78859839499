"""The hostile input corpus (tests/hostile_cases.py): every case gets its exact answer, the server stays
healthy, and nothing changes for the requester or for a bystander. Then what cannot be one request:
slow-loris trickling, media bombs and corrupt media, and file names that try to escape."""

from __future__ import annotations

import hashlib
import socket
import time

import httpx
import pytest

from conftest import Server, User, upload
from hostile_cases import CASES, GOOD_METADATA, PARSER_REFUSAL, TUS, Case, World, json_error, request_bytes
from media_fixtures import ACCEPTED, jpeg, png_declaring
from route_table import holdings, ready_export, settled

from phonecloud.core.names import MEDIA_EXTENSIONS

BIDI_CONTROLS = set("\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")

TUS_TARGET_LENGTH = 3000


def _objects(user: User, seed: int) -> dict[str, object]:
    asset_id = upload(user, jpeg(seed), filename=f"own-{seed}.jpg").json()["id"]
    settled(user, asset_id)
    album = user.http.post("/albums", json={"title": f"album {seed}"}).json()
    user.http.put(f"/albums/{album['id']}/assets", json={"asset_ids": [asset_id]})
    # An unfinished upload at offset 0, the target of the PATCH cases.
    created = user.http.post("/uploads/", headers={"Tus-Resumable": TUS, "Upload-Length": str(TUS_TARGET_LENGTH),
                                                  "Upload-Metadata": GOOD_METADATA})
    assert created.status_code == 201, created.text
    upload_id = created.headers["location"].rstrip("/").rsplit("/", 1)[1]
    return {"asset_id": asset_id, "album_id": album["id"], "upload_id": upload_id}


@pytest.fixture(scope="module")
def world(server, accounts):
    """The requester (mallory) and a bystander (alice), each with objects of their own."""
    alice, mallory = accounts.create(name="alice"), accounts.create(name="mallory")
    alice_ids, mallory_ids = _objects(alice, 8001), _objects(mallory, 8002)
    mallory_ids["export_id"] = ready_export(mallory)
    made = mallory.http.post("/shares", json={"album_id": mallory_ids["album_id"]}).json()  # a link to her album
    mallory_ids.update(share_id=made["id"], share_token=made["url"].rsplit("/", 1)[1])

    def snapshot():
        return holdings(alice, alice_ids), holdings(mallory, mallory_ids)

    return World(server.url, mallory.key, mallory_ids), mallory, snapshot


@pytest.fixture(scope="module")
def last_snapshot():
    """The snapshot a passing case ended with, which is the next case's starting point (half the requests)."""
    return {}


def staging(server: Server) -> set[str]:
    folder = server.blob_root / ".staging"  # on S3, there only while a large blob is being written
    return {entry.name for entry in folder.iterdir()} if folder.is_dir() else set()


def staging_back_to(server: Server, before: set[str], timeout: float = 15) -> bool:
    """Whether the staging folder returns to what it held before (a refused body's part is removed)."""
    deadline = time.monotonic() + timeout
    while staging(server) - before:
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True


def unexpected_errors(server: Server) -> int:
    return server.log_text().count("unexpected error on")


def healthy(server: Server) -> bool:
    return httpx.get(f"{server.url}/api/v1/health", timeout=30).json() == {"status": "ok"}


def test_the_corpus_has_at_least_60_cases_without_tus_and_more_with_it():
    assert len([case for case in CASES if not case.tus]) >= 60
    assert len({case.name for case in CASES}) == len(CASES)


@pytest.mark.parametrize("case", [
    pytest.param(case, id=case.name, marks=[pytest.mark.xfail(strict=True, reason=case.bug)] if case.bug else [])
    for case in CASES])
def test_hostile_request_gets_its_exact_answer_and_changes_nothing(case: Case, world, server, last_snapshot):
    target, _, snapshot = world
    before = last_snapshot.pop("passed", None) or snapshot()
    staged, errors = staging(server), unexpected_errors(server)

    answer = case.send(target)

    assert answer.status == case.status, (answer.status, answer.body[:300])
    if case.kind == "json":
        body = json_error(answer)
        assert body["error"] == case.error, body
        assert case.mentions.lower() in body["message"].lower(), body
    elif case.kind == "parser":
        assert answer.body == PARSER_REFUSAL and answer.closed
    elif case.kind == "closed":
        assert answer.closed
    assert healthy(server)
    assert staging_back_to(server, staged)
    assert unexpected_errors(server) == errors
    after = snapshot()
    assert after == before
    last_snapshot["passed"] = after


# -- slow-loris: bounded trickling while others are served ------------------------------------------------


def test_slow_loris_connections_do_not_stop_others_being_served(world, server, accounts):
    target, mallory, snapshot = world
    before, staged = snapshot(), staging(server)
    port = target.port
    headers_trickle = [socket.create_connection(("127.0.0.1", port), timeout=10) for _ in range(40)]
    body_trickle = [socket.create_connection(("127.0.0.1", port), timeout=10) for _ in range(10)]
    upload_head = request_bytes("POST", b"/api/v1/assets?filename=slow.jpg&modified_at=2022-01-01T00:00:00Z", [
        (b"Authorization", f"Bearer {target.key}".encode()), (b"Content-Type", b"application/octet-stream"),
        (b"Content-Length", b"1000000")])
    for connection in body_trickle:
        connection.sendall(upload_head + jpeg(8101)[:4])  # a photo's first bytes, then almost nothing
    for connection in headers_trickle:
        connection.sendall(b"GET /api/v1/health HTTP/1.1\r\nHost: x\r\n")
    others = accounts.create(name="patient")
    try:
        for round_number in range(15):  # bounded: 15 rounds of one byte per connection
            for connection in headers_trickle:
                connection.sendall(b"X")  # a header name that never ends
            for connection in body_trickle:
                connection.sendall(b"\0")
            # Meanwhile, another client is served completely: health, an upload, a listing, a download.
            assert healthy(server)
            photo = jpeg(8200 + round_number)
            stored = upload(others, photo, filename=f"meanwhile-{round_number}.jpg")
            assert stored.status_code == 201, stored.text
            assert others.http.get(f"/assets/{stored.json()['id']}/original").content == photo
            time.sleep(0.05)
    finally:
        for connection in headers_trickle + body_trickle:
            connection.close()
    assert others.http.get("/me").json()["asset_count"] == 15
    assert staging_back_to(server, staged)  # the trickled bodies' parts are gone with their connections
    assert snapshot() == before  # nothing half-sent became an asset


# -- media bombs and corrupt media: the bytes are kept (it is a backup), rendering refuses cleanly --------

BAD_MEDIA = {
    "png-declaring-10-gigapixels": (lambda: png_declaring(100_000, 100_000), "pixels"),
    "jpeg-header-then-zeros": (lambda: b"\xff\xd8\xff\xe0" + b"\x00" * 5000, ""),
    "jpeg-cut-in-half": (lambda: jpeg(8301)[: len(jpeg(8301)) // 2], ""),
    "mp4-with-random-media-data": (ACCEPTED["mp4"][0], ""),
    "heic-with-random-media-data": (ACCEPTED["heic"][0], ""),
}


@pytest.mark.parametrize("name", sorted(BAD_MEDIA))
def test_bombs_and_corrupt_media_are_kept_and_refused_only_for_previews(name, world, server, accounts):
    _, _, snapshot = world
    make, problem = BAD_MEDIA[name]
    owner = accounts.create(name="bombed")
    body = make()
    before, errors = snapshot(), unexpected_errors(server)
    stored = upload(owner, body, filename=f"{name}.bin")
    assert stored.status_code == 201, stored.text
    asset = settled(owner, stored.json()["id"])
    assert asset["media"]["state"] == "failed" and problem in asset["media"]["error"], asset["media"]
    for derivative in ("thumbnail", "preview"):
        refused = owner.http.get(f"/assets/{asset['id']}/{derivative}")
        assert refused.status_code == 404 and refused.json()["state"] == "failed", refused.text
    assert owner.http.get(f"/assets/{asset['id']}/original").content == body
    assert healthy(server) and unexpected_errors(server) == errors
    assert snapshot() == before


# -- names that try to escape: kept as data, never used as a path -------------------------------------------

ESCAPING_NAMES = [
    "../../../../../../etc/passwd",
    "..\\..\\..\\windows\\win.ini",
    "/etc/passwd",
    "nul\x00byte.jpg",
    "%2e%2e%2f%2e%2e%2fescaped.jpg",
    "\u202egpj.exe",  # right-to-left override
    "\u202egpj.hta",  # shows as "ath.jpg"
    "\u2067photo\u2069.jpg.html",
    "CON",
    "." * 300,
]


@pytest.mark.parametrize("name", ESCAPING_NAMES, ids=range(len(ESCAPING_NAMES)))
def test_a_name_that_tries_to_escape_is_only_data(name, world, server, accounts):
    _, _, snapshot = world
    owner = accounts.create(name="namer")
    body = jpeg(8400 + ESCAPING_NAMES.index(name))
    before = snapshot()
    roots = {server.data_dir.parent, server.blob_root}  # on S3 (scale-out run) the blobs are elsewhere
    files_before = {path for root in roots for path in root.rglob("*")}
    stored = upload(owner, body, filename=name)
    assert stored.status_code == 201, stored.text
    asset = stored.json()["asset"]
    assert asset["original_filename"] == name.replace("\x00", "\u2400")  # kept as sent, NUL made visible
    safe = asset["filename"]
    assert not ({"/", "\\", "\x00"} & set(safe)) and not safe.startswith(".") and len(safe.encode()) <= 200
    assert not set(safe) & BIDI_CONTROLS and safe.rsplit(".", 1)[1].lower() in MEDIA_EXTENSIONS
    download = owner.http.get(f"/assets/{asset['id']}/original")
    assert download.content == body
    assert "/" not in download.headers["content-disposition"].split("''", 1)[1]
    assert download.headers["x-content-type-options"] == "nosniff"
    new_files = {path for root in roots for path in root.rglob("*")} - files_before
    originals = [path for path in new_files if path.is_file() and "originals" in path.parts]
    assert [hashlib.sha1(path.read_bytes()).hexdigest() for path in originals] == [asset["sha1"]]
    assert all(path.is_relative_to(server.blob_root) for path in originals)
    assert all(path.is_relative_to(server.data_dir) or path.is_relative_to(server.blob_root)
               for path in new_files)  # nothing written elsewhere
    assert snapshot() == before


def test_a_name_reversed_by_a_bidi_override_is_offered_as_what_the_file_is(user):
    stored = upload(user, jpeg(8499), filename="\u202egpj.hta")
    asset = stored.json()["asset"]
    assert asset["original_filename"] == "\u202egpj.hta" and asset["filename"] == "gpj.hta.jpg"
    download = user.http.get(f"/assets/{asset['id']}/original")
    assert download.headers["content-disposition"] == "attachment; filename*=UTF-8''gpj.hta.jpg"
