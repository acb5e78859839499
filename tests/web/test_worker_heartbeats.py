"""Job workers' health by heartbeat: the admin page shows the embedded workers of `phonecloud serve` and a
`phonecloud worker` process as live; a killed worker turns stale once it has missed its beats, a stopped
one shows as stopped; rows of workers gone for long are pruned."""

from __future__ import annotations

import datetime as dt
import signal
import socket
import subprocess
import time

import pytest

from conftest import PHONECLOUD, Accounts, Server

from .test_admin import promote

BEAT_SECONDS = "0.3"
DEADLINE = 60  # seconds for a state to show: generous, the states come after a second or two


@pytest.fixture
def beating(tmp_path):
    """A server of its own whose workers beat every 0.3 s, and a way to start worker processes on it."""
    env = {"PHONECLOUD_EMBEDDED_WORKERS": "1", "PHONECLOUD_WORKER_HEARTBEAT_SECONDS": BEAT_SECONDS}
    server = Server(tmp_path / "data", env).start()
    accounts = Accounts(server)
    processes: list[subprocess.Popen] = []

    def worker() -> subprocess.Popen:
        processes.append(subprocess.Popen([PHONECLOUD, "worker", "--threads", "1"], env=server.env,
                                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        return processes[-1]

    yield server, accounts, worker
    for process in processes:
        if process.poll() is None:
            process.kill()
            process.wait()
    accounts.close()
    server.stop()


def name_of(process: subprocess.Popen) -> str:
    return f"{socket.gethostname()}:{process.pid}"


def wait_for_state(page, worker: str, state: str):
    """Reloads the job workers page until the worker's row shows the state."""
    deadline = time.monotonic() + DEADLINE
    while True:
        page.goto("/admin/jobs")
        row = page.locator(f'tr[data-worker="{worker}"]')
        if row.count() == 1 and row.get_attribute("data-state") == state:
            return row
        assert time.monotonic() < deadline, f"{worker} is not {state} after {DEADLINE} s: {row.count()} rows"
        time.sleep(0.2)


def test_a_killed_worker_turns_stale_and_a_stopped_one_shows_as_stopped(browse, beating):
    server, accounts, worker = beating
    admin = accounts.create(name="admin")
    promote(accounts, admin)
    console = browse(on=server)
    console.sign_in(admin)
    page = console.page
    killed, stopped = worker(), worker()
    embedded = name_of(server.process)
    for name in (embedded, name_of(killed), name_of(stopped)):
        wait_for_state(page, name, "live")

    killed.send_signal(signal.SIGKILL)
    killed.wait()
    row = wait_for_state(page, name_of(killed), "stale")
    assert row.get_by_text("not responding").is_visible()
    assert f"a worker stopped responding ({name_of(killed)})" in page.locator("[data-queue-state]").inner_text()
    assert page.locator(f'tr[data-worker="{embedded}"]').get_attribute("data-state") == "live"

    stopped.send_signal(signal.SIGTERM)
    assert stopped.wait(30) == 0
    row = wait_for_state(page, name_of(stopped), "gone")
    assert row.get_by_text("stopped").is_visible()
    console.screenshot("admin-worker-heartbeats")
    assert console.errors == []


def test_rows_of_workers_gone_for_long_are_pruned(beating):
    from sqlalchemy import select, update

    from phonecloud.jobs.heartbeat import PRUNE_AFTER, Beat
    from phonecloud.jobs.models import WorkerHeartbeat

    _server, accounts, _worker = beating
    services = accounts.services
    now = dt.datetime.now(dt.UTC)
    # A stand-in for a worker process that died long ago: its last beat, then back-dated.
    services.heartbeats.beat(Beat("0" * 32, "old-host", 1, 1, now - 2 * PRUNE_AFTER, 3, 0, []))
    with services.db.write() as session:
        session.execute(update(WorkerHeartbeat).where(WorkerHeartbeat.id == "0" * 32)
                        .values(last_seen_at=now - PRUNE_AFTER - dt.timedelta(minutes=1)))
    # Shown as gone until then, unless a beat of the embedded workers has pruned it already.
    assert [status.state for status in services.heartbeats.workers() if status.name == "old-host:1"] in ([], ["gone"])

    deadline = time.monotonic() + DEADLINE  # the server's embedded workers prune at their next beat
    while True:
        with services.db.read() as session:
            if session.scalar(select(WorkerHeartbeat).where(WorkerHeartbeat.id == "0" * 32)) is None:
                break
        assert time.monotonic() < deadline, "not pruned"
        time.sleep(0.1)
