"""Standard tus clients work unchanged: tuspy (Python) and tus-js-client under Node."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest
from tusclient import client as tus_client

from conftest import ROOT
from tus_helpers import head, photo, used_bytes

NODE_MODULES = ROOT / ".venv" / "tus-js" / "node_modules"
NODE_SCRIPT = Path(__file__).with_name("tus_js_upload.js")
NODE_TIMEOUT = 120  # seconds: a bound on one client run, not an expectation


def tuspy(server, user) -> tus_client.TusClient:
    return tus_client.TusClient(f"{server.url}/api/v1/uploads/", headers={"Authorization": f"Bearer {user.key}"})


def write_photo(tmp_path: Path, size: int, seed: int) -> tuple[Path, bytes]:
    body = photo(size, seed)
    path = tmp_path / f"IMG_{seed}.jpg"
    path.write_bytes(body)
    return path, body


@pytest.mark.parametrize("chunk_size, checksum", [(None, False), (1_000_000, True)])
def test_tuspy_uploads_a_file_that_becomes_an_asset(server, user, tmp_path, chunk_size, checksum):
    path, body = write_photo(tmp_path, 3_200_000, seed=20 + bool(checksum))
    options = {"chunk_size": chunk_size} if chunk_size else {}
    uploader = tuspy(server, user).uploader(str(path), metadata={"filename": path.name}, upload_checksum=checksum,
                                            **options)
    uploader.upload()
    assert uploader.offset == len(body)
    asset_id = uploader.request.response_headers["phonecloud-asset-id"]
    assert user.http.get(f"/assets/{asset_id}/original").content == body
    assert user.http.get(f"/assets/{asset_id}").json()["original_filename"] == path.name
    assert used_bytes(user) == len(body)


def test_tuspy_resumes_a_stopped_upload_at_the_servers_offset(server, user, tmp_path):
    path, body = write_photo(tmp_path, 2_000_000, seed=22)
    first = tuspy(server, user).uploader(str(path), chunk_size=500_000)
    first.upload(stop_at=1_000_000)
    assert int(head(user, first.url).headers["upload-offset"]) == 1_000_000
    second = tuspy(server, user).uploader(str(path), url=first.url, chunk_size=500_000)
    assert second.offset == 1_000_000  # from the server's HEAD
    second.upload()
    asset_id = head(user, first.url).headers["phonecloud-asset-id"]
    assert hashlib.sha1(user.http.get(f"/assets/{asset_id}/original").content).hexdigest() == \
        hashlib.sha1(body).hexdigest()


def run_node(*args: str, env: dict | None = None) -> dict:
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not installed here (CI installs nodejs and npm); the tus-js-client test needs it")
    if not (NODE_MODULES / "tus-js-client").is_dir():
        pytest.fail(f"tus-js-client is not installed in {NODE_MODULES}: run `make test`, which installs it")
    done = subprocess.run([node, str(NODE_SCRIPT), *args], capture_output=True, text=True, timeout=NODE_TIMEOUT,
                          env={**os.environ, "NODE_PATH": str(NODE_MODULES), **(env or {})})
    lines = done.stdout.strip().splitlines()
    assert lines, f"no output from node (exit {done.returncode}):\n{done.stderr}"
    return json.loads(lines[-1])


@pytest.mark.parametrize("chunk_size", [0, 700_000])
def test_tus_js_client_under_node_uploads_a_file_that_becomes_an_asset(server, user, tmp_path, chunk_size):
    path, body = write_photo(tmp_path, 2_500_000, seed=30 + bool(chunk_size))
    result = run_node(f"{server.url}/api/v1/uploads/", user.key, str(path), str(chunk_size))
    assert "error" not in result, result
    assert result["assetId"], result
    assert user.http.get(f"/assets/{result['assetId']}/original").content == body
    assert user.http.get(f"/assets/{result['assetId']}").json()["file_modified_at"] == "2023-05-06T07:08:09Z"
    assert head(user, result["url"]).headers["phonecloud-asset-id"] == result["assetId"]


def test_tus_js_client_resumes_an_aborted_upload(server, user, tmp_path):
    path, body = write_photo(tmp_path, 3_000_000, seed=32)
    endpoint = f"{server.url}/api/v1/uploads/"
    stopped = run_node(endpoint, user.key, str(path), "500000", "1000000")
    offset = int(head(user, stopped["url"]).headers["upload-offset"])
    assert 1_000_000 <= offset < len(body)
    result = run_node(endpoint, user.key, str(path), "500000", env={"TUS_RESUME_URL": stopped["url"]})
    assert result["url"] == stopped["url"] and result["assetId"]
    assert user.http.get(f"/assets/{result['assetId']}/original").content == body
