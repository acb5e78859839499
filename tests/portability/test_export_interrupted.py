"""An original that disappears while a part is being sent (deleted from the disk under the server): the
download stops short of its Content-Length, the server's log says why, asking again answers 410 naming
the file, and `phonecloud export` keeps what arrived as a .partial file, never as a whole part, and says
which part stopped where and why."""

from __future__ import annotations

import json
import os

import httpx

from cli_runner import client_env  # noqa: F401  (a fixture)
from client.test_export_cli import CuttingTestProxy, export_cli
from conftest import Accounts, User, upload
from media_fixtures import jpeg
from portability.test_export import blob_key, make_export, part_path

# Well beyond what the sockets between server and client buffer, so that when the originals vanish the
# server has not read the later ones yet (bytes after a JPEG's end keep it a JPEG).
PHOTOS, PADDING = 6, 6_000_000
FIRST_BYTES = 1 << 20


def large_library(user: User) -> list[str]:
    ids = []
    for n in range(PHOTOS):
        response = upload(user, jpeg(9100 + n) + os.urandom(PADDING), filename=f"IMG_{n:04d}.jpg")
        assert response.status_code == 201, response.text
        ids.append(response.json()["id"])
    return ids


def delete_originals(accounts: Accounts, ids: list[str]) -> None:
    """Behind the server's back, as a failing disk or an operator would: the library still lists them."""
    for asset_id in ids:
        accounts.services.blobs.delete(blob_key(accounts, asset_id))


def test_a_part_whose_originals_vanish_midway_stops_short_and_the_log_says_why(server, accounts, user):
    ids = large_library(user)
    export = make_export(user)
    size = export["parts"][0]["size"]
    received = 0
    with user.http.stream("GET", part_path(export, 1)) as response:
        assert response.status_code == 200 and int(response.headers["content-length"]) == size
        try:
            for chunk in response.iter_raw():
                received += len(chunk)
                if received >= FIRST_BYTES and ids:
                    delete_originals(accounts, ids)
                    ids = []
        except httpx.RemoteProtocolError:
            pass  # the connection closed before the declared length: what a client must notice
    assert FIRST_BYTES <= received < size
    log = server.log_text()
    assert f"export {export['id']} part 1: " in log and "was deleted from the library while the part was being sent" \
        in log
    again = user.http.get(part_path(export, 1))
    assert again.status_code == 410 and "make a new export" in again.json()["message"]


def test_export_keeps_a_part_cut_short_by_a_vanished_original_as_partial_and_says_why(server, accounts, user,
                                                                                      client_env, tmp_path):
    ids = large_library(user)
    with CuttingTestProxy(server.url, cut=0.05, midway=lambda: delete_originals(accounts, ids)) as proxy:
        run = export_cli(client_env, proxy.url, user, tmp_path / "out")
    assert run.returncode != 0
    out = tmp_path / "out"
    state = json.loads((out / ".phonecloud-export.json").read_text())
    export = user.http.get(f"/export/{state['export_id']}").json()
    part = export["parts"][0]
    partial = out / (part["name"] + ".partial")
    assert not (out / part["name"]).exists() and state["verified"] == []  # never taken as a whole part
    assert 0 < partial.stat().st_size < part["size"]
    assert f"part 1 ({part['name']}) stopped at {partial.stat().st_size} of {part['size']} bytes" in run.stderr
    assert "was deleted from the library" in run.stderr and "--new" in run.stderr
    assert proxy.ranges[0] is None and proxy.ranges[1] == f"bytes={partial.stat().st_size}-"  # it tried to resume
