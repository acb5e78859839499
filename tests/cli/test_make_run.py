"""`make run`, as the README has it: it says where the `phonecloud` command is (the venv's bin, not on the
PATH), a path that works as printed, then serves with the embedded defaults."""

from __future__ import annotations

import os
import signal
import subprocess
import threading
import time
from pathlib import Path

import httpx

from conftest import ROOT, free_port


def test_make_run_prints_the_full_path_of_the_phonecloud_command_then_serves(tmp_path):
    port = free_port()
    # As from a shell: none of the suite's settings, nor the make that runs the suite (its jobserver flags).
    env = {name: value for name, value in os.environ.items()
           if not name.startswith("PHONECLOUD_") and name not in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL")}
    env["PHONECLOUD_DATA_DIR"] = str(tmp_path / "data")  # not the checkout's ./data
    process = subprocess.Popen(["make", "--no-print-directory", "run", f"PORT={port}"], cwd=ROOT, env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True)
    said: list[str] = []
    threading.Thread(target=lambda: said.extend(process.stdout), daemon=True).start()  # make run never ends
    try:
        deadline = time.monotonic() + 180  # the first time, it also installs the server's packages
        while not (told := [line for line in said if line.startswith("The phonecloud command")]):
            assert process.poll() is None and time.monotonic() < deadline, "".join(said)
            time.sleep(0.1)
        command = told[0].rsplit(": ", 1)[1].strip()
        assert Path(command) == ROOT / ".venv" / "bin" / "phonecloud", said
        version = subprocess.run([command, "--version"], capture_output=True, text=True, env=env)
        assert version.returncode == 0 and version.stdout.startswith("phonecloud "), version
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/api/v1/health", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert process.poll() is None and time.monotonic() < deadline, "".join(said)
            time.sleep(0.2)
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(30)
