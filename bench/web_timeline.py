#!/usr/bin/env python3
"""Time to the first timeline screen with a large library: the server's time for `GET /` and a headless
Chromium page load of it on loopback (navigation start to the load event, thumbnails of the first screen
included), for a user with N assets (default 100,000). Not yet part of `bench/run.py`:

    .venv/bin/python bench/web_timeline.py [--assets 100000] [--repeats 10]

The library is made as database rows (no bytes), as the timeline reads only rows; their thumbnails are
still 'pending', which the page answers as quickly as a cached thumbnail. Prints a JSON line of figures.
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import httpx

PHONECLOUD = str(Path(sys.executable).with_name("phonecloud"))
PASSWORD = "correct horse battery"


def make_library(data_dir: Path, email: str, count: int) -> None:
    from sqlalchemy import insert

    from phonecloud.core.container import Services
    from phonecloud.core.settings import Settings
    from phonecloud.gallery.models import Asset

    services = Services.start(Settings(data_dir=data_dir))
    owner = services.accounts.create_user(email, PASSWORD).id
    newest = dt.datetime(2024, 6, 30, 20, 0, tzinfo=dt.UTC)
    for start in range(0, count, 10_000):
        rows = [dict(id=uuid.uuid4(), owner_id=owner, kind="photo", mime_type="image/jpeg",
                     original_filename=f"IMG_{n:06d}.jpg", size_bytes=3_000_000,
                     sha1=hashlib.sha1(str(n).encode()).hexdigest(), crc32=0, blob_key=f"bench/{n}",
                     file_modified_at=newest - dt.timedelta(hours=2 * n), uploaded_at=newest,
                     sort_at=newest - dt.timedelta(hours=2 * n), is_favorite=False, trashed_at=None)
                for n in range(start, min(count, start + 10_000))]
        with services.db.write() as session:
            session.execute(insert(Asset), rows)
    services.close()


def start_server(data_dir: Path) -> tuple[subprocess.Popen, str]:
    port = int(subprocess.check_output([sys.executable, "-c", "import socket; s=socket.socket(); s.bind(('127.0.0.1', 0)); print(s.getsockname()[1])"]))
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("PHONECLOUD_")},
           "PHONECLOUD_DATA_DIR": str(data_dir), "PHONECLOUD_EMBEDDED_WORKERS": "0"}
    server = subprocess.Popen([PHONECLOUD, "serve", "--port", str(port)], env=env, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    for _ in range(600):
        try:
            if httpx.get(f"{url}/api/v1/health", timeout=1).status_code == 200:
                return server, url
        except httpx.TransportError:
            time.sleep(0.1)
    server.kill()
    raise RuntimeError("server did not start")


def signed_in(url: str, email: str) -> httpx.Client:
    client = httpx.Client(base_url=url, timeout=30)
    token = re.search(r'name="csrf-token" content="([0-9a-f]+)"', client.get("/signin").text).group(1)
    client.post("/signin", data={"email": email, "password": PASSWORD, "csrf": token})
    return client


def server_times(client: httpx.Client, repeats: int) -> list[float]:
    times = []
    for _ in range(repeats + 1):
        started = time.perf_counter()
        answer = client.get("/")
        times.append((time.perf_counter() - started) * 1000)
        assert answer.status_code == 200 and 'class="tile"' in answer.text
    return times[1:]  # the first warms the connection pool and the templates


def browser_times(url: str, client: httpx.Client, repeats: int) -> list[float]:
    from playwright.sync_api import sync_playwright

    chromium = shutil.which("chromium") or "/usr/bin/chromium"
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, headless=True,
                                             args=["--no-sandbox"] if os.geteuid() == 0 else [])
        context = browser.new_context(base_url=url, viewport={"width": 1280, "height": 860})
        context.add_cookies([{"name": "phonecloud_session", "value": client.cookies["phonecloud_session"],
                              "url": url}])
        page = context.new_page()
        times = []
        for _ in range(repeats + 1):
            page.goto("/", wait_until="load")
            timing = page.evaluate("JSON.stringify(performance.getEntriesByType('navigation')[0])")
            times.append(json.loads(timing)["loadEventEnd"])
        browser.close()
    return times[1:]  # the first fills the browser's cache of the script and style sheet


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--assets", type=int, default=100_000)
    parser.add_argument("--repeats", type=int, default=10)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="phonecloud-web-bench-"))
    try:
        started = time.perf_counter()
        make_library(work / "data", "bench@example.org", args.assets)
        made = time.perf_counter() - started
        server, url = start_server(work / "data")
        try:
            client = signed_in(url, "bench@example.org")
            server_ms, browser_ms = server_times(client, args.repeats), browser_times(url, client, args.repeats)
        finally:
            server.terminate()
            server.wait(20)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print(json.dumps({"assets": args.assets, "library_made_s": round(made, 1),
                      "server_ms_median": round(statistics.median(server_ms), 1),
                      "server_ms_max": round(max(server_ms), 1),
                      "first_screen_ms_median": round(statistics.median(browser_ms), 1),
                      "first_screen_ms_max": round(max(browser_ms), 1), "repeats": args.repeats}))


if __name__ == "__main__":
    main()
