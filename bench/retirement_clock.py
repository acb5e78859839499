"""How late a retirement's steps start on the real clock: `phonecloud serve` at its defaults (embedded
workers) on a fresh data folder, one user with a photo in an affected country, and a plan whose dates are a
minute apart. Each step's lateness is the time of its audit event minus the time it was due.

    .venv/bin/python bench/retirement_clock.py [--gap SECONDS]

About four gaps long (a minute each by default). Prints one line per step and the largest lateness."""

from __future__ import annotations

import argparse
import datetime as dt
import io
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
from PIL import Image

PHONECLOUD = str(Path(sys.executable).with_name("phonecloud"))
STEPS = (("announce", "announced"), ("stop_sync", "sync-stopped"), ("delete", "deletion-started"))


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def admin(env: dict, *args: str) -> str:
    return subprocess.run([PHONECLOUD, "admin", *args], env=env, check=True, capture_output=True, text=True).stdout


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--gap", type=float, default=60.0, help="seconds between the plan's dates")
    gap = parser.parse_args().gap
    with tempfile.TemporaryDirectory(prefix="retirement-clock-") as folder:
        env = {**os.environ, "PHONECLOUD_DATA_DIR": str(Path(folder) / "data")}
        port = free_port()
        server = subprocess.Popen([PHONECLOUD, "serve", "--host", "127.0.0.1", "--port", str(port)], env=env,
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            url = f"http://127.0.0.1:{port}"
            for _ in range(300):
                try:
                    httpx.get(f"{url}/api/v1/health")
                    break
                except httpx.TransportError:
                    time.sleep(0.1)
            admin(env, "create-user", "leaving@example.org", "--password", "correct horse battery", "--region",
                  "DE")
            key = admin(env, "create-key", "leaving@example.org").strip().splitlines()[-1]
            photo = io.BytesIO()
            Image.new("RGB", (64, 64), "teal").save(photo, "JPEG")
            answer = httpx.post(f"{url}/api/v1/assets", content=photo.getvalue(),
                                params={"filename": "IMG_1.jpg", "modified_at": "2022-10-14T12:00:00Z"},
                                headers={"Authorization": f"Bearer {key}", "Content-Type": "application/octet-stream"})
            assert answer.status_code == 201, answer.text
            admin(env, "region-group", "add", "Europe", "DE")
            start = dt.datetime.now(dt.UTC).replace(microsecond=0) + dt.timedelta(seconds=15)
            due = {name: start + dt.timedelta(seconds=gap * n) for n, name in
                   enumerate(("announce", "stop_sync", "deadline", "delete"))}
            planned = admin(env, "retirement", "plan", "gallery", "--groups", "Europe", "--announce",
                            due["announce"].isoformat(), "--stop-sync", due["stop_sync"].isoformat(), "--deadline",
                            due["deadline"].isoformat(), "--delete", due["delete"].isoformat(), "--refund", "none")
            plan_id = planned.strip().splitlines()[-1]
            while True:
                shown = json.loads(admin(env, "retirement", "show", plan_id, "--json"))
                if shown["state"] == "done":
                    break
                time.sleep(1)
        finally:
            server.terminate()
            server.wait(30)
    happened = {event["action"]: dt.datetime.fromisoformat(event["at"]) for event in shown["audit"]}
    late = []
    for step, action in STEPS:
        seconds = (happened[action] - due[step]).total_seconds()
        late.append(seconds)
        print(f"{step:10} due {due[step]:%H:%M:%S}  started {happened[action]:%H:%M:%S.%f}  late {seconds:6.2f} s")
    print(f"largest lateness: {max(late):.2f} s (dates {gap:g} s apart)")


if __name__ == "__main__":
    main()
