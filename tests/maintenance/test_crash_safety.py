"""Crash safety: a server killed with SIGKILL in the middle of 200 concurrent uploads, five times over.

After each restart:
- every upload the client saw acknowledged (a 2xx with the asset's id) is there, its bytes hashing to
  what the client sent;
- every asset that is there is one the client sent, whole: either acknowledged, or one whose upload
  the server had completely stored (blob and row committed) when the kill took its answer away. The
  rule: an asset is visible after a crash if and only if its row was committed, and a row is only
  committed after its blob is durable, so a visible asset is always complete; nothing partial, no
  content the client never sent, never two assets for the same bytes of one user;
- no temporary data is left: the staging folders are empty and every original on disk is referenced
  by an asset (no unreferenced blobs);
- each user's used bytes are the sum of the sizes of their assets.

Restarts run with staging_max_age_seconds and orphan_min_age_seconds at 0: this server is the store's
only writer, so everything a crash left is removable at once. (The defaults, an hour each, protect the
uploads in flight of other server processes sharing one store; the same leftovers then go at a start
an hour later.) Media workers are off, so that only uploads write to the store.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import random
import signal
from dataclasses import dataclass

import httpx
from sqlalchemy import select

from conftest import Accounts, Server, User
from media_fixtures import jpeg

ROUNDS = 5
UPLOADS_PER_ROUND = 200
KILL_AFTER_ACKNOWLEDGED = 50  # then about 150 uploads are in flight or about to start
USERS = 4
ONE_WRITER = {"PHONECLOUD_EMBEDDED_WORKERS": "0", "PHONECLOUD_STAGING_MAX_AGE_SECONDS": "0",
              "PHONECLOUD_ORPHAN_MIN_AGE_SECONDS": "0"}


@dataclass
class Sent:
    user: int
    body: bytes
    sha1: str
    asset_id: str | None = None  # set when acknowledged


def bodies(round_number: int, rng: random.Random) -> list[Sent]:
    """Photos with random tails of 8 KiB to 512 KiB: a spread of times in flight."""
    sent = []
    for number in range(UPLOADS_PER_ROUND):
        body = jpeg(round_number * 10_000 + number) + os.urandom(rng.randint(8 << 10, 512 << 10))
        sent.append(Sent(number % USERS, body, hashlib.sha1(body).hexdigest()))
    return sent


async def upload_until_killed(server: Server, users: list[User], sent: list[Sent]) -> None:
    """All uploads at once; SIGKILL to the server as the KILL_AFTER_ACKNOWLEDGED-th answer arrives."""
    acknowledged = 0
    limits = httpx.Limits(max_connections=UPLOADS_PER_ROUND, max_keepalive_connections=0)
    async with httpx.AsyncClient(base_url=f"{server.url}/api/v1", limits=limits, timeout=120) as client:
        async def one(number: int, item: Sent) -> None:
            nonlocal acknowledged
            try:
                answer = await client.post("/assets", content=item.body, params={
                    "filename": f"crash-{number}.jpg", "modified_at": "2022-10-14T12:34:56Z"}, headers={
                    "Authorization": f"Bearer {users[item.user].key}", "Content-Type": "application/octet-stream"})
            except httpx.TransportError:
                return  # killed before its answer: not acknowledged
            assert answer.status_code == 201, answer.text  # every body is new: nothing but a new asset
            item.asset_id = answer.json()["id"]
            acknowledged += 1
            if acknowledged == KILL_AFTER_ACKNOWLEDGED:
                server.process.send_signal(signal.SIGKILL)

        await asyncio.gather(*(one(number, item) for number, item in enumerate(sent)))


def listing(http: httpx.Client) -> list[dict]:
    items, cursor = [], None
    while True:
        page = http.get("/assets", params={"limit": 1000, **({"cursor": cursor} if cursor else {})}).json()
        items += page["items"]
        if not (cursor := page["next_cursor"]):
            return items


def check_after_restart(server: Server, accounts: Accounts, users: list[User], all_sent: list[Sent]) -> None:
    from phonecloud.gallery.models import Asset

    for index, user in enumerate(users):
        mine = [item for item in all_sent if item.user == index]
        by_sha1 = {item.sha1: item for item in mine}
        with httpx.Client(base_url=f"{server.url}/api/v1", headers={"Authorization": f"Bearer {user.key}"},
                          timeout=60) as http:
            assets = listing(http)
            # Only what this user sent, each content once, and every acknowledged upload among it.
            assert all(asset["sha1"] in by_sha1 for asset in assets)
            assert len({asset["sha1"] for asset in assets}) == len(assets)
            visible = {asset["id"]: asset for asset in assets}
            for item in mine:
                if item.asset_id is not None:
                    assert item.asset_id in visible, f"acknowledged upload {item.asset_id} is gone"
            # Every visible asset, acknowledged or not, is whole: its bytes hash to what was sent.
            for asset in assets:
                expected = by_sha1[asset["sha1"]]
                assert asset["size_bytes"] == len(expected.body)
                original = http.get(f"/assets/{asset['id']}/original")
                assert original.status_code == 200 and hashlib.sha1(original.content).hexdigest() == expected.sha1
            assert http.get("/me").json()["used_bytes"] == sum(asset["size_bytes"] for asset in assets)
    # No temporary data, no unreferenced blob.
    for staging in (".staging", ".resumable"):
        folder = server.blob_root / staging
        assert not folder.exists() or not any(folder.iterdir()), f"{staging} holds {list(folder.iterdir())[:5]}"
    on_disk = {path.relative_to(server.blob_root).as_posix() for path in (server.blob_root / "users").rglob("*")
               if path.is_file()}
    with accounts.services.db.read() as session:
        referenced = set(session.scalars(select(Asset.blob_key)))
    assert on_disk == referenced


def test_acknowledged_uploads_survive_sigkill_five_times_and_nothing_else_is_left(tmp_path):
    data_dir = tmp_path / "data"
    server = Server(data_dir, ONE_WRITER).start()
    accounts = Accounts(server)
    users = [accounts.create(name=f"crash{number}") for number in range(USERS)]
    rng = random.Random(4)
    all_sent: list[Sent] = []
    try:
        for round_number in range(ROUNDS):
            sent = bodies(round_number, rng)
            all_sent += sent
            asyncio.run(upload_until_killed(server, users, sent))
            assert server.process.wait(60) == -signal.SIGKILL
            assert sum(item.asset_id is not None for item in sent) >= KILL_AFTER_ACKNOWLEDGED
            server.stop()
            server = Server(data_dir, ONE_WRITER).start()
            check_after_restart(server, accounts, users, all_sent)
        # Across the five crashes some uploads were in flight each time (else the test proved little).
        assert sum(item.asset_id is None for item in all_sent) >= ROUNDS * 50
    finally:
        server.stop()
        accounts.close()
