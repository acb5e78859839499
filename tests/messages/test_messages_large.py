"""A large backup is imported by a server process in constant memory: the CLI uploads it resumably, the
server's job streams it through the reader, a batch at a time, and the server's own (anonymous) memory,
sampled while it works, grows by far less than the file beyond what a small import of the same kind of
file already took (the buffers of its blob store, its database driver and its threads, whatever the size)."""

from __future__ import annotations

import json
import threading
import time

from cli_runner import client_env  # noqa: F401  (a fixture)
from cli_runner import phonecloud
from conftest import serving
from messages.backup_files import write_large_sbr

MEMORY_BOUND = 100 << 20  # one batch of records and attachments, the parser's buffers, the database's caches


def _anonymous_memory(pid: int) -> int:
    """The process's resident memory that is not a mapped file (its heap): the database's memory-mapped
    pages, which the kernel may drop at will, are left out."""
    with open(f"/proc/{pid}/status") as status:
        line = next(line for line in status if line.startswith("RssAnon:"))
    return int(line.split()[1]) * 1024


def _import(client_env, server, user, backup) -> dict:
    run = phonecloud(client_env, "messages", "import", str(backup), "--json", "--server", server.url, "--key",
                     user.key, timeout=600)
    assert run.returncode == 0, run.stderr
    return json.loads(run.stdout.strip().splitlines()[-1])


def test_a_large_backup_is_imported_in_constant_server_memory(tmp_path, client_env):
    small, large = tmp_path / "sms-small.xml", tmp_path / "sms-large.xml"
    write_large_sbr(small, 12 << 20)
    count = write_large_sbr(large, 120 << 20)
    with serving(tmp_path / "data") as (server, accounts):
        user = accounts.create(quota_bytes=4 << 30)
        pid = server.process.pid
        _import(client_env, server, user, small)
        before = _anonymous_memory(pid)
        peak, done = before, threading.Event()

        def sample() -> None:
            nonlocal peak
            while not done.wait(0.05):
                peak = max(peak, _anonymous_memory(pid))

        sampler = threading.Thread(target=sample)
        sampler.start()
        started = time.monotonic()
        try:
            summary = _import(client_env, server, user, large)
        finally:
            done.set()
            sampler.join()
        assert summary["error"] is None and summary["imported"] + summary["duplicates"] == count
        assert summary["attachments"] >= count // 200 - summary["duplicates"] // 200 - 1
        growth = peak - before
        assert growth < MEMORY_BOUND, (f"the server's memory grew by {growth >> 20} MiB importing "
                                       f"{large.stat().st_size >> 20} MiB in {time.monotonic() - started:.0f} s, "
                                       f"after {before >> 20} MiB with a small import")
