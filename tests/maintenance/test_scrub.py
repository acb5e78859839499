"""`phonecloud admin scrub` on a real server's data: every original re-hashed, derivatives checked on
request, damage reported by asset and owner with a non-zero exit, in constant memory."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest

from cli_runner import Run, clean_env, phonecloud
from conftest import Accounts, Server, serving, upload
from media_fixtures import jpeg
from route_table import settled


def scrub(server: Server, *args: str) -> Run:
    # In a scale-out run: the server's database and bucket.
    env = clean_env(PHONECLOUD_DATA_DIR=str(server.data_dir), **server.storage_env)
    return phonecloud(env, "admin", "scrub", *args, timeout=300)


# The scrub in a fresh interpreter that reports its own peak resident memory (VmHWM starts anew with exec,
# unlike a child's rusage, which would count the pages of the test process it was forked from).
_MEASURED = """
import sys
from phonecloud.cli import app
try:
    app(["admin", "scrub"])
finally:
    peak = next(line for line in open("/proc/self/status") if line.startswith("VmHWM:"))
    sys.stderr.write(f"PEAK {int(peak.split()[1]) * 1024}\\n")
"""


def scrub_measured(server: Server) -> tuple[int, int]:
    """(exit code, peak resident memory in bytes) of one scrub."""
    env = {**os.environ, "PHONECLOUD_DATA_DIR": str(server.data_dir), **server.storage_env}
    done = phonecloud(env, timeout=300, program=(sys.executable, "-c", _MEASURED))
    return done.returncode, int(done.stderr.rsplit("PEAK ", 1)[1])


def json_lines(done: Run) -> tuple[set[tuple], dict]:
    lines = [json.loads(line) for line in done.stdout.splitlines()]
    problems = {(p["asset_id"], p["owner"], p["blob"], p["problem"]) for p in lines[:-1]}
    return problems, lines[-1]["summary"]


@pytest.fixture
def library(tmp_path):
    """Two users' photos, each with its thumbnail and preview made, on a stopped server (the app run in this
    process to make them: the scrub command is what is tested)."""
    with serving(tmp_path / "data", {"PHONECLOUD_EMBEDDED_WORKERS": "1"}, in_process=True) as (server, accounts):
        alice, bob = accounts.create(name="alice"), accounts.create(name="bob")
        assets = {}
        for owner in (alice, bob):
            for seed in range(3):
                asset = upload(owner, jpeg(seed + (100 if owner is bob else 0)), filename=f"IMG_{seed}.jpg").json()
                assets[(owner.email, seed)] = asset["id"]
        for (email, _), asset_id in assets.items():
            media = settled(alice if email == alice.email else bob, asset_id)["media"]
            assert (media["state"], media["preview_state"]) == ("ready", "ready")  # the preview follows
    reader = Accounts(server)  # the stopped server's database, for the tests to look into
    yield server, reader, alice, bob, assets
    reader.close()


def blob_path(server: Server, accounts: Accounts, asset_id: str, column: str = "blob_key") -> Path:
    import uuid

    from phonecloud.gallery.models import Asset
    from phonecloud.media.models import AssetMedia

    with accounts.services.db.read() as session:
        if column == "blob_key":
            key = session.get(Asset, uuid.UUID(asset_id)).blob_key
        else:
            key = getattr(session.get(AssetMedia, uuid.UUID(asset_id)), column)
    return server.blob_root / key


def test_an_intact_library_scrubs_clean(library):
    server, *_ = library
    done = scrub(server, "--derivatives")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "checked 6 originals" in done.stdout and "12 derivatives: no problems" in done.stdout


def test_a_damaged_and_a_missing_original_are_named_with_their_owners(library):
    server, accounts, alice, bob, assets = library
    damaged, missing = assets[(alice.email, 1)], assets[(bob.email, 2)]
    path = blob_path(server, accounts, damaged)
    body = bytearray(path.read_bytes())
    body[len(body) // 2] ^= 0xFF  # one flipped bit-pattern: same size, other content
    path.write_bytes(bytes(body))
    blob_path(server, accounts, missing).unlink()

    done = scrub(server)
    assert done.returncode == 1, done.stdout + done.stderr
    assert "Traceback" not in done.stderr
    lines = done.stdout.splitlines()
    assert any(f"asset {damaged} of {alice.email}: original corrupt" in line for line in lines), done.stdout
    assert any(f"asset {missing} of {bob.email}: original missing" in line for line in lines), done.stdout
    assert "2 problems" in lines[-1]

    done = scrub(server, "--json")
    assert done.returncode == 1
    problems, summary = json_lines(done)
    assert problems == {(damaged, alice.email, "original", "corrupt"), (missing, bob.email, "original", "missing")}
    assert summary["problems"] == 2 and summary["assets"] == 6


def test_derivatives_are_checked_only_when_asked(library):
    server, accounts, alice, bob, assets = library
    gone, cut = assets[(alice.email, 0)], assets[(bob.email, 0)]
    blob_path(server, accounts, gone, "thumbnail_key").unlink()
    preview = blob_path(server, accounts, cut, "preview_key")
    preview.write_bytes(preview.read_bytes()[:-100])  # truncated: the JPEG lost its end
    thumbnail = blob_path(server, accounts, cut, "thumbnail_key")
    thumbnail.write_bytes(thumbnail.read_bytes()[:-10])  # shorter than its RIFF header says

    assert scrub(server).returncode == 0  # originals only: all intact
    done = scrub(server, "--derivatives", "--json")
    assert done.returncode == 1
    problems, summary = json_lines(done)
    assert problems == {(gone, alice.email, "thumbnail", "missing"), (cut, bob.email, "preview", "malformed"),
                        (cut, bob.email, "thumbnail", "malformed")}
    assert summary["derivatives"] == 12


def test_scrubbing_streams_in_constant_memory(tmp_path):
    with serving(tmp_path / "data", {"PHONECLOUD_EMBEDDED_WORKERS": "0"}, in_process=True) as (server, accounts):
        owner = accounts.create()
        assert upload(owner, jpeg(1)).status_code == 201
        _, small_peak = scrub_measured(server)
        big = jpeg(2) + os.urandom(128 << 20)  # a 128 MiB "video"
        assert upload(owner, big, filename="big.jpg").status_code == 201
        del big
        code, big_peak = scrub_measured(server)
    assert code == 0
    assert big_peak - small_peak < 50 << 20, (small_peak, big_peak)
