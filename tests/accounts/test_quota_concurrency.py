"""Quota under concurrency: 50 uploads at once, plain and resumable (tus) mixed, together 3.75 times the
quota. Used bytes never exceed the quota, at any moment watched or at the end; every refusal is a 413
with a JSON body naming the numbers (for tus, on the creation POST that would reserve the room); every
accepted file is intact; and exactly as many files as fit are accepted."""

from __future__ import annotations

import base64
import hashlib
import os
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import httpx

from conftest import staging_drains
from media_fixtures import jpeg

FILE_SIZE = 300_000
QUOTA = 4_000_000  # room for 13 files of the 50
UPLOADS = 50
TUS = {"Tus-Resumable": "1.0.0"}


@dataclass
class Outcome:
    body: bytes
    way: str  # plain, tus (creation then PATCHes) or tus-with-upload (creation-with-upload)
    status: int  # 201 accepted, 413 refused
    asset_id: str | None = None
    refusal: dict | None = None
    upload_id: str | None = None  # tus


def photo(seed: int) -> bytes:
    head = jpeg(seed)
    return head + os.urandom(FILE_SIZE - len(head))


def plain(http: httpx.Client, body: bytes, number: int) -> Outcome:
    answer = http.post("/assets", content=body, params={"filename": f"q{number}.jpg",
                                                        "modified_at": "2022-01-01T00:00:00Z"},
                       headers={"Content-Type": "application/octet-stream"})
    if answer.status_code == 201:
        return Outcome(body, "plain", 201, answer.json()["id"])
    return Outcome(body, "plain", answer.status_code, refusal=answer.json())


def resumable(http: httpx.Client, body: bytes, number: int, with_upload: bool) -> Outcome:
    """The tus creation extension, then PATCHes of 100 kB; or creation-with-upload, then the rest."""
    way = "tus-with-upload" if with_upload else "tus"
    headers = {**TUS, "Upload-Length": str(len(body)),
               "Upload-Metadata": "filename " + base64.b64encode(f"q{number}.jpg".encode()).decode()}
    first = body[:100_000] if with_upload else b""
    if with_upload:
        headers["Content-Type"] = "application/offset+octet-stream"
    created = http.post("/uploads/", content=first, headers=headers)
    if created.status_code != 201:
        return Outcome(body, way, created.status_code, refusal=created.json())
    location, offset = created.headers["location"], len(first)
    upload_id = location.rstrip("/").rsplit("/", 1)[1]
    answer = created
    while offset < len(body):
        answer = http.patch(location, content=body[offset:offset + 100_000], headers={
            **TUS, "Upload-Offset": str(offset), "Content-Type": "application/offset+octet-stream"})
        if answer.status_code != 204:
            return Outcome(body, way, answer.status_code, refusal=answer.json(), upload_id=upload_id)
        offset = int(answer.headers["upload-offset"])
    return Outcome(body, way, 201, answer.headers["phonecloud-asset-id"], upload_id=upload_id)


def test_fifty_parallel_uploads_over_the_quota(server, accounts):
    owner = accounts.create(quota_bytes=QUOTA, name="quota")
    bodies = [photo(6000 + number) for number in range(UPLOADS)]
    seen_usage: list[int] = []
    done = threading.Event()

    def watch() -> None:  # what /me reports while the uploads run
        with httpx.Client(base_url=f"{server.url}/api/v1", headers=owner.http.headers, timeout=60) as http:
            while not done.is_set():
                seen_usage.append(http.get("/me").json()["used_bytes"])

    def one(number: int) -> Outcome:
        with httpx.Client(base_url=f"{server.url}/api/v1", headers=owner.http.headers, timeout=120) as http:
            if number % 2 == 0:
                return plain(http, bodies[number], number)
            return resumable(http, bodies[number], number, with_upload=number % 4 == 1)

    watcher = threading.Thread(target=watch)
    watcher.start()
    try:
        with ThreadPoolExecutor(UPLOADS) as pool:
            outcomes = list(pool.map(one, range(UPLOADS)))
    finally:
        done.set()
        watcher.join(60)

    assert {outcome.status for outcome in outcomes} <= {201, 413}, [(o.way, o.status, o.refusal) for o in outcomes]
    accepted = [outcome for outcome in outcomes if outcome.status == 201]
    refused = [outcome for outcome in outcomes if outcome.status == 413]
    assert len(accepted) == QUOTA // FILE_SIZE  # usage only grows, so each refusal left less than a file free
    # Which way lost the race varies; once the quota is full, each way is refused, one after the other.
    with httpx.Client(base_url=f"{server.url}/api/v1", headers=owner.http.headers, timeout=120) as http:
        late = [plain(http, photo(7000), 1000), resumable(http, photo(7001), 1001, with_upload=False),
                resumable(http, photo(7002), 1002, with_upload=True)]
    assert [outcome.status for outcome in late] == [413, 413, 413]
    for outcome in refused + late:
        assert outcome.refusal["error"] == "quota_exceeded", outcome.refusal
        assert outcome.refusal["quota_bytes"] == QUOTA and outcome.refusal["file_size"] == FILE_SIZE
        assert "quota exceeded" in outcome.refusal["message"]
    assert seen_usage and max(seen_usage) <= QUOTA
    me = owner.http.get("/me").json()
    assert me["used_bytes"] == FILE_SIZE * len(accepted) <= QUOTA
    assert me["asset_count"] == len(accepted)
    for outcome in accepted:
        original = owner.http.get(f"/assets/{outcome.asset_id}/original")
        assert hashlib.sha1(original.content).hexdigest() == hashlib.sha1(outcome.body).hexdigest()
    assert staging_drains(server)
    assert not [o.upload_id for o in outcomes + late if o.upload_id and (server.blob_root / ".resumable" / o.upload_id).exists()]
