"""Starting, watching and stopping the servers under test, all on 127.0.0.1."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

LOOPBACK = "127.0.0.1"
READY_TIMEOUT_S = 60
STOP_TIMEOUT_S = 20
LOG_TAIL_BYTES = 4000


class BenchError(RuntimeError):
    """A step of the benchmark failed; the message says which and where its log is."""


def free_port() -> int:
    """A port that was free a moment ago: the kernel picks it when binding to port 0."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((LOOPBACK, 0))
        return probe.getsockname()[1]


def clean_env(**extra: str) -> dict[str, str]:
    """This process's environment without the user's phonecloud/rclone settings, plus `extra`.

    A stray RCLONE_* or PHONECLOUD_* variable in the caller's shell would otherwise change
    what is measured.
    """
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PHONECLOUD_", "RCLONE_"))}
    env.update(extra)
    return env


def log_tail(path: Path) -> str:
    try:
        with open(path, "rb") as log:
            log.seek(0, os.SEEK_END)
            log.seek(max(0, log.tell() - LOG_TAIL_BYTES))
            return log.read().decode(errors="replace")
    except OSError:
        return "(no log)"


@contextlib.contextmanager
def running_server(command: list[str], env: dict[str, str], log_path: Path, ready_url: str):
    """Start `command`, wait until `ready_url` answers 200, yield the process, always stop it."""
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with open(log_path, "ab") as log:
        process = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT,
                                   stdin=subprocess.DEVNULL)
    try:
        _wait_until_ready(process, ready_url, log_path)
        yield process
    finally:
        stop(process)


def _wait_until_ready(process: subprocess.Popen, url: str, log_path: Path) -> None:
    deadline = time.monotonic() + READY_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise BenchError(f"server exited with {process.returncode} before it was ready; "
                             f"log {log_path}:\n{log_tail(log_path)}")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, OSError):
            pass  # not listening yet
        time.sleep(0.1)
    raise BenchError(f"server not ready at {url} after {READY_TIMEOUT_S}s; log {log_path}:\n{log_tail(log_path)}")


def stop(process: subprocess.Popen) -> None:
    """Ask politely, then insist: the process is gone when this returns."""
    if process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(STOP_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(STOP_TIMEOUT_S)


@dataclass(frozen=True)
class ClientRun:
    seconds: float  # wall time, process start-up included (for both sides alike)
    stdout: str
    peak_rss_kib: int  # the client's own memory, sampled every 50 ms


def run_client(command: list[str], env: dict[str, str], timeout_s: float, log_path: Path) -> ClientRun:
    """Run a client to completion while sampling its memory. Fails with its output on error."""
    started = time.perf_counter()
    with subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                          stdin=subprocess.DEVNULL) as process:
        with RssSampler(process.pid) as rss:
            try:
                out, err = process.communicate(timeout=timeout_s)
            except subprocess.TimeoutExpired as timeout:
                process.kill()
                process.communicate()
                raise BenchError(f"{command[0]} did not finish within {timeout_s:.0f}s") from timeout
    seconds = time.perf_counter() - started
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with open(log_path, "a") as log:
        log.write(f"$ {' '.join(command)}\n{out}{err}\n")
    if process.returncode != 0:
        raise BenchError(f"{' '.join(command)} exited with {process.returncode}:\n{(out + err)[-LOG_TAIL_BYTES:]}")
    return ClientRun(seconds, out, rss.peak_kib)


# --- memory --------------------------------------------------------------------------------


def status_kib(pid: int, field: str) -> int:
    """A `VmRSS`/`VmHWM`-style field of /proc/<pid>/status, in KiB (0 once the process is gone)."""
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def child_pids(pid: int) -> list[int]:
    """The processes that any thread of `pid` started and that still run (per /proc/<pid>/task/*/children)."""
    children = []
    for listing in Path(f"/proc/{pid}/task").glob("*/children"):
        try:
            children += [int(child) for child in listing.read_text().split()]
        except OSError:
            pass  # the thread ended meanwhile
    return children


def command_line(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


class RssSampler:
    """Samples a process's VmRSS every 50 ms in a thread, from `with` entry to exit.

    VmHWM alone would include the peak of start-up; sampling shows what the measured work added.
    """

    INTERVAL_S = 0.05

    def __init__(self, pid: int):
        self.pid = pid
        self.before_kib = 0
        self.peak_kib = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def __enter__(self) -> RssSampler:
        self.before_kib = self.peak_kib = status_kib(self.pid, "VmRSS")
        self._thread.start()
        return self

    def __exit__(self, *_exc) -> None:
        self._stop.set()
        self._thread.join()
        self.peak_kib = max(self.peak_kib, status_kib(self.pid, "VmRSS"))

    def _sample(self) -> None:
        while not self._stop.wait(self.INTERVAL_S):
            self.peak_kib = max(self.peak_kib, status_kib(self.pid, "VmRSS"))

    @property
    def growth_kib(self) -> int:
        return self.peak_kib - self.before_kib
