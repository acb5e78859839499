"""A 1 GB upload by `phonecloud sync` over tus, interrupted at random points: the client killed, the
connection dropped, the server killed and restarted. It completes bit-identical, and fewer than two
chunks' worth of bytes cross the wire twice.

The client streams the rest of the file in one PATCH; the server makes progress durable every checkpoint
(PHONECLOUD_TUS_CHECKPOINT_SIZE, 8 MiB by default) with at most one checkpoint in flight, and keeps what
arrived when a connection breaks. So a crash of the server loses at most two checkpoints' worth plus what
sat in socket buffers: a "chunk" here is those two checkpoints, 16 MiB, the unit of progress a client can
lose. A killed client or a dropped connection costs well under one.
"""

from __future__ import annotations

import hashlib
import os
import random
import signal
import subprocess
import time
from pathlib import Path

import pytest

from conftest import PHONECLOUD, Accounts, Server
from media_fixtures import jpeg
from tcp_proxy import CountingProxy

SIZE = 1 << 30
CHECKPOINT = 8 << 20
CHUNK = 2 * CHECKPOINT
BLOCK = 1 << 20
RUN_TIMEOUT = 900  # seconds; a bound on the whole scenario (a loaded machine ran it in 305 s), never of speed


def write_big_photo(path: Path) -> str:
    """A 1 GB JPEG-headed file whose every block is different (its offset leads it), fast to write;
    returns its SHA-256."""
    digest = hashlib.sha256()
    filler = os.urandom(BLOCK)
    with open(path, "wb") as out:
        head = jpeg(4242)
        block = head + filler[len(head):]
        for number in range(SIZE // BLOCK):
            if number:
                block = number.to_bytes(8, "big") + filler[8:]
            out.write(block)
            digest.update(block)
    return digest.hexdigest()


def start_sync(folder: Path, url: str, key: str, client_dir: Path, log: Path) -> subprocess.Popen:
    env = {name: value for name, value in os.environ.items() if not name.startswith("PHONECLOUD_")}
    env["PHONECLOUD_CLIENT_DIR"] = str(client_dir)
    return subprocess.Popen([PHONECLOUD, "sync", str(folder), "--server", url, "--key", key, "--json"], env=env,
                            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=open(log, "ab"), text=True)


def wait_for(condition, what: str, deadline: float) -> None:
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up waiting for {what}")
        time.sleep(0.005)


@pytest.fixture
def resume_server(tmp_path):
    running = Server(tmp_path / "data", {"PHONECLOUD_TUS_CHECKPOINT_SIZE": str(CHECKPOINT),
                                         "PHONECLOUD_EMBEDDED_WORKERS": "0"}).start()
    yield running
    running.stop()


def test_one_gigabyte_upload_survives_client_kill_dropped_connection_and_server_restart(resume_server, tmp_path):
    server = resume_server
    accounts = Accounts(server)
    owner = accounts.create(quota_bytes=2 * SIZE)
    accounts.close()
    folder = tmp_path / "phone"
    folder.mkdir()
    expected_sha256 = write_big_photo(folder / "VID_big.jpg")
    proxy = CountingProxy(server.port)
    client_dir, log = tmp_path / "client", tmp_path / "sync.log"
    deadline = time.monotonic() + RUN_TIMEOUT
    # Three interruption points in random order, each at a random place between 10% and 90% of the file.
    rng = random.Random(os.environ.get("PYTEST_SEED") or time.time_ns())
    points = sorted(rng.sample(range(SIZE // 10, SIZE * 9 // 10, BLOCK), 3))
    events = rng.sample(["client killed", "connection dropped", "server restarted"], 3)
    try:
        sync = start_sync(folder, proxy.url, owner.key, client_dir, log)
        for point, event in zip(points, events):
            wait_for(lambda: proxy.sent >= point, f"{point} bytes sent before '{event}'", deadline)
            if event == "client killed":
                sync.send_signal(signal.SIGKILL)
                sync.wait()
                sync = start_sync(folder, proxy.url, owner.key, client_dir, log)
            elif event == "connection dropped":
                proxy.drop_connections()
            else:
                server.process.send_signal(signal.SIGKILL)
                server.process.wait()
                server.log.close()
                server.start()
        out, _ = sync.communicate(timeout=max(1, deadline - time.monotonic()))
    finally:
        proxy.close()
    report = f"events {list(zip(points, events))}; client log:\n{log.read_text()[-3000:]}"
    assert sync.returncode == 0, report
    assert '"uploaded": 1' in out, out + report
    resent = proxy.sent - SIZE
    print(f"bytes sent twice: {resent / 2**20:.1f} MiB ({resent / CHUNK:.2f} chunks) for {report[:200]}")
    assert resent < 2 * CHUNK, f"{resent} bytes sent twice; {report}"
    stored = [path for path in (server.blob_root / "users").rglob("*") if path.is_file()]
    assert len(stored) == 1
    with open(stored[0], "rb") as handle:
        assert hashlib.file_digest(handle, "sha256").hexdigest() == expected_sha256
    resumable = server.blob_root / ".resumable"  # on S3 (scale-out run) an emptied folder goes altogether
    assert not resumable.exists() or not list(resumable.iterdir())
