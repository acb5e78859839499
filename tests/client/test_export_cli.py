"""`phonecloud export --out DIR` as a subprocess against a real server: downloads every part, verifies
them, resumes an interrupted download (in the same run and in a later one) and changes nothing when done."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import threading
import time
import zipfile
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from cli_runner import Run, phonecloud
from conftest import PHONECLOUD, User, upload
from media_fixtures import jpeg
from portability.test_export import ROOT, make_library, unzip

from .loopback import Loopback, QuietHandler

WAIT = 60  # seconds; a bound on waiting for the client, never an expectation of speed


def export_cli(env: dict[str, str], url: str, user: User, out: Path, *args: str) -> Run:
    return phonecloud(env, "export", "--out", str(out), "--server", url, "--key", user.key, "--json", *args)


def big_library(user: User, count: int = 4, padding: int = 1_500_000) -> dict[str, bytes]:
    """Photos large enough that a part is several megabytes (bytes after a JPEG's end keep it a JPEG)."""
    bodies = {f"IMG_{n:04d}.jpg": jpeg(5000 + n) + os.urandom(padding) for n in range(count)}
    for name, body in bodies.items():
        assert upload(user, body, filename=name).status_code == 201
    return bodies


class CuttingTestProxy(Loopback):
    """A stand-in for a network that fails: forwards everything to the server, except that the first
    download (GET or POST) whose path contains `watch` stops after `cut` of its bytes, and then hangs (`hang`) or drops
    the connection; or, given `midway`, calls it there and forwards the rest of what the server sends.
    Records the Range header of each of those downloads."""

    def __init__(self, upstream: str, cut: float = 0.5, hang: bool = False, watch: str = "/parts/",
                 midway: Callable[[], None] | None = None):
        self.upstream, self.cut, self.hang, self.watch, self.midway = upstream, cut, hang, watch, midway
        self.ranges: list[str | None] = []
        self.cut_done = threading.Event()
        self._release = threading.Event()
        super().__init__(self._handler())

    def close(self) -> None:
        self._release.set()
        super().close()

    def _handler(self):
        proxy = self

        class Handler(QuietHandler):
            def forward(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                headers = {k: v for k, v in self.headers.items() if k.lower() not in ("host", "connection")}
                is_part = self.command in ("GET", "POST") and proxy.watch in self.path
                first = is_part and not proxy.ranges
                if is_part:
                    proxy.ranges.append(self.headers.get("Range"))
                with httpx.stream(self.command, proxy.upstream + self.path, headers=headers, content=body,
                                  timeout=60) as reply:
                    self.send_response(reply.status_code)
                    for name, value in reply.headers.items():
                        if name.lower() not in ("connection", "transfer-encoding"):
                            self.send_header(name, value)
                    self.end_headers()
                    limit = int(int(reply.headers.get("content-length", 0)) * proxy.cut) if first else None
                    sent = 0
                    for chunk in reply.iter_raw():
                        if limit is not None and sent + len(chunk) > limit and proxy.midway:
                            proxy.midway()
                            limit = None
                        if limit is not None and sent + len(chunk) > limit:
                            self.wfile.write(chunk[:limit - sent])
                            self.wfile.flush()
                            proxy.cut_done.set()
                            if proxy.hang:
                                proxy._release.wait(WAIT)
                            return
                        self.wfile.write(chunk)
                        sent += len(chunk)

            do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = forward

        return Handler


def check_out_dir(out: Path, export_id: str) -> list[Path]:
    parts = sorted(out.glob("*.zip"))
    assert parts and not list(out.glob("*.partial"))
    assert json.loads((out / ".phonecloud-export.json").read_text())["export_id"] == export_id
    return parts


def test_export_downloads_and_verifies_every_part_then_a_second_run_downloads_nothing(server, user, client_env,
                                                                                      tmp_path):
    made = make_library(user, 1300)
    first = export_cli(client_env, server.url, user, tmp_path / "out")
    assert first.returncode == 0, first.stderr
    summary = first.summary
    assert summary["verified_parts"] == summary["parts"] == 1 and summary["failed"] == 0
    parts = check_out_dir(tmp_path / "out", summary["export_id"])
    assert summary["downloaded_bytes"] == sum(path.stat().st_size for path in parts)
    on_server = user.http.get(f"/export/{summary['export_id']}").json()
    assert on_server["verified_at"] == summary["verified_at"] and summary["verified_at"] is not None
    assert all(part["downloaded_at"] for part in on_server["parts"])
    files = unzip(parts, tmp_path / "unzipped")
    assert (files / ROOT / "Photos from 2019" / "IMG_0001.jpg").read_bytes() == made["bodies"]["IMG_0001.jpg"]
    again = export_cli(client_env, server.url, user, tmp_path / "out")
    assert again.returncode == 0 and again.summary["downloaded_bytes"] == 0
    assert again.summary["export_id"] == summary["export_id"]
    newer = export_cli(client_env, server.url, user, tmp_path / "out", "--new")
    assert newer.returncode == 0 and newer.summary["export_id"] != summary["export_id"]


def test_a_download_cut_halfway_is_resumed_in_the_same_run(server, user, client_env, tmp_path):
    bodies = big_library(user)
    with CuttingTestProxy(server.url, cut=0.5, hang=False) as proxy:
        run = export_cli(client_env, proxy.url, user, tmp_path / "out")
    assert run.returncode == 0, run.stderr
    assert proxy.ranges[0] is None and proxy.ranges[1].startswith("bytes=") and proxy.ranges[1] != "bytes=0-"
    parts = check_out_dir(tmp_path / "out", run.summary["export_id"])
    resumed_from = int(proxy.ranges[1].removeprefix("bytes=").rstrip("-"))
    assert run.summary["downloaded_bytes"] == parts[0].stat().st_size and resumed_from > 0
    with zipfile.ZipFile(parts[0]) as archive:
        assert archive.read(f"{ROOT}/Photos from 2022/IMG_0002.jpg") == bodies["IMG_0002.jpg"]


def test_an_export_killed_at_half_resumes_from_its_partial_file_in_the_next_run(server, user, client_env, tmp_path):
    bodies = big_library(user)
    out = tmp_path / "out"
    with CuttingTestProxy(server.url, cut=0.5, hang=True) as proxy:
        process = subprocess.Popen([PHONECLOUD, "export", "--out", str(out), "--server", proxy.url, "--key", user.key],
                                   env=client_env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                   stderr=subprocess.DEVNULL)
        try:
            assert proxy.cut_done.wait(WAIT), "the client never reached half of the part"
            deadline = time.monotonic() + WAIT
            while not any(path.stat().st_size for path in out.glob("*.partial")):
                assert time.monotonic() < deadline, "nothing was written to the partial file"
                time.sleep(0.05)
        finally:
            process.send_signal(signal.SIGKILL)
            process.wait(WAIT)
    partial = next(out.glob("*.partial"))
    kept = partial.stat().st_size
    total = user.http.get("/export").json()["parts"][0]["size"]
    assert 0 < kept <= total // 2
    with CuttingTestProxy(server.url, cut=1.0) as counting:
        run = export_cli(client_env, counting.url, user, out)
    assert run.returncode == 0, run.stderr
    assert counting.ranges == [f"bytes={kept}-"]
    assert run.summary["downloaded_bytes"] == total - kept
    parts = check_out_dir(out, run.summary["export_id"])
    with zipfile.ZipFile(parts[0]) as archive:
        assert archive.testzip() is None
        assert hashlib.sha256(archive.read(f"{ROOT}/Photos from 2022/IMG_0003.jpg")).digest() == \
            hashlib.sha256(bodies["IMG_0003.jpg"]).digest()


def test_a_part_that_does_not_verify_is_removed_and_fetched_again(server, user, client_env, tmp_path):
    big_library(user, count=2, padding=10_000)
    out = tmp_path / "out"
    assert export_cli(client_env, server.url, user, out).returncode == 0
    part = check_out_dir(out, user.http.get("/export").json()["id"])[0]
    (out / ".phonecloud-export.json").write_text(json.dumps(
        {**json.loads((out / ".phonecloud-export.json").read_text()), "verified": []}))
    damaged = bytearray(part.read_bytes())
    damaged[200] ^= 0xFF  # inside the first photo: its CRC-32 no longer matches
    part.write_bytes(bytes(damaged))
    failed = export_cli(client_env, server.url, user, out)
    assert failed.returncode == 1 and failed.summary["failed"] == 1
    assert "IMG_0000.jpg" in failed.stderr or "valid zip" in failed.stderr
    assert not part.exists()
    again = export_cli(client_env, server.url, user, out)
    assert again.returncode == 0 and again.summary["verified_parts"] == 1 and again.summary["downloaded_bytes"] > 0


def test_export_takes_its_connection_from_the_environment(server, user, client_env, tmp_path):
    upload(user, jpeg(5100))
    env = {**client_env, "PHONECLOUD_SERVER": server.url, "PHONECLOUD_KEY": user.key}
    run = phonecloud(env, "export", "--out", str(tmp_path / "out"), "--json")
    assert run.returncode == 0, run.stderr
    missing = phonecloud(client_env, "export", "--out", str(tmp_path / "other"))
    assert missing.returncode == 2 and "--server" in missing.stderr


@pytest.mark.parametrize("key", ["pck_wrong", None])
def test_a_wrong_key_fails_with_the_servers_reason(server, client_env, tmp_path, key):
    args = ["export", "--out", str(tmp_path / "out"), "--server", server.url]
    run = phonecloud(client_env, *args, *(["--key", key] if key else []))
    assert run.returncode in (1, 2) and ("refused the API key" in run.stderr or "--key" in run.stderr)


def test_export_pull_and_import_run_in_the_base_install(server, user, client_env, tmp_path, base_install):
    """The client's base install (no FastAPI, SQLAlchemy, Pillow ...) is enough for all three commands."""
    upload(user, jpeg(5300), filename="IMG_base.jpg")
    connection = ["--server", server.url, "--key", user.key, "--json"]
    for command in (["export", "--out", str(tmp_path / "out")], ["pull", str(tmp_path / "mirror")],
                    ["import-export", str(tmp_path / "out")]):
        done = phonecloud(client_env, *command, *connection, program=(str(base_install),))
        assert done.returncode == 0, done.stderr
    assert (tmp_path / "mirror" / "Photos from 2022" / "IMG_base.jpg").read_bytes() == jpeg(5300)
