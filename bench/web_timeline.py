"""The web workload: time to the first timeline screen in a large library (100,000 assets; 2,000 in
--quick), against the issue's target of 500 ms:

- the server's time for `GET /` (the signed-in timeline page with its first grid), from the client's side;
- a headless Chromium (Debian's, driven by Playwright) loading `/` on loopback: navigation start to the
  load event, script, style sheet and the first screen's thumbnails included (the browser's cache warm,
  as for someone who comes back to the page).

The library is made once as database rows (no bytes: the timeline reads only rows) and cached in
bench/.cache/; each run works on a copy. Its thumbnails are 'pending', which the page answers as quickly
as a cached thumbnail. Run alone: `.venv/bin/python bench/run.py --only web` (add --quick for the small one).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import re
import shutil
import statistics
import time
import uuid
from pathlib import Path

import httpx

from corpus import Corpus, cached_corpus
from scale import percentile
from servers import BenchError, clean_env, free_port, running_server
from workloads import Row, WorkloadResult

EMAIL = "bench@example.org"
PASSWORD = "correct horse battery"
TARGET_MS = 500.0  # the target for the first timeline screen
LOADS_PER_REPEAT = 10  # page loads are short: ten per timed run give a stable median


def make_library(data_dir: Path, email: str, count: int) -> None:
    """A user owning `count` photos as rows, one every two hours back from mid-2024."""
    from sqlalchemy import insert

    from phonecloud.server.container import Services
    from phonecloud.core.settings import Settings
    from phonecloud.gallery.models import Asset

    services = Services.start(Settings(data_dir=data_dir))
    try:
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
    finally:
        services.close()


def library_corpus(cache_dir: Path, assets: int) -> Corpus:
    """A phonecloud data folder holding the library (built once, then reused from the cache)."""
    return cached_corpus(cache_dir, f"web-library-{assets}", {"assets": assets},
                         lambda folder: make_library(folder, EMAIL, assets))


def describe_library(library: Corpus) -> str:
    assets = int(re.search(r"web-library-(\d+)", str(library.path)).group(1))
    return (f"timeline library: one user with {assets:,} photos as database rows (one every two hours), "
            f"SQLite, {library.bytes / 1e6:,.0f} MB")


def signed_in(url: str) -> httpx.Client:
    client = httpx.Client(base_url=url, timeout=30)
    token = re.search(r'name="csrf-token" content="([0-9a-f]+)"', client.get("/signin").text).group(1)
    client.post("/signin", data={"email": EMAIL, "password": PASSWORD, "csrf": token})
    if "phonecloud_session" not in client.cookies:
        raise BenchError("could not sign in to the bench server")
    return client


def server_times(client: httpx.Client, loads: int) -> list[float]:
    times = []
    for _ in range(loads + 1):
        started = time.perf_counter()
        answer = client.get("/")
        times.append((time.perf_counter() - started) * 1000)
        if answer.status_code != 200 or 'class="tile"' not in answer.text:
            raise BenchError(f"GET / answered {answer.status_code} without the timeline's grid")
    return times[1:]  # the first warms the connection pool and the templates


def browser_times(url: str, client: httpx.Client, loads: int) -> list[float]:
    from playwright.sync_api import sync_playwright

    chromium = os.environ.get("PHONECLOUD_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
    if not Path(chromium).exists():
        raise BenchError(f"no Chromium at {chromium}: apt-get install chromium (`make bench` does)")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, headless=True,
                                             args=["--no-sandbox"] if os.geteuid() == 0 else [])
        try:
            context = browser.new_context(base_url=url, viewport={"width": 1280, "height": 860})
            context.add_cookies([{"name": "phonecloud_session", "value": client.cookies["phonecloud_session"],
                                  "url": url}])
            page = context.new_page()
            times = []
            for _ in range(loads + 1):
                page.goto("/", wait_until="load")
                timing = page.evaluate("JSON.stringify(performance.getEntriesByType('navigation')[0])")
                times.append(json.loads(timing)["loadEventEnd"])
        finally:
            browser.close()
    return times[1:]  # the first fills the browser's cache of the script and style sheet


def first_screen(tools, library: Corpus, repeats: int) -> WorkloadResult:
    assets = int(re.search(r"web-library-(\d+)", str(library.path)).group(1))
    result = WorkloadResult(
        title=f"web: first timeline screen, {assets:,} assets", baseline=f"the {TARGET_MS:.0f} ms target",
        description=(f"Signed-in `GET /` of a user with {assets:,} assets: the server's time (client side, "
                     "keep-alive) and a headless Chromium loading the page on loopback to its load event "
                     f"(script, style and the first screen's thumbnails included; warm browser cache). "
                     f"{repeats} timed runs of {LOADS_PER_REPEAT} loads each, after one warm-up load."))
    data = tools.work_dir / "web" / "data"
    shutil.rmtree(data.parent, ignore_errors=True)
    shutil.copytree(library.path, data)  # the server writes (sessions, migrations): never into the cache
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = clean_env(PHONECLOUD_DATA_DIR=str(data), PHONECLOUD_EMBEDDED_WORKERS="0")
    server_ms, browser_ms = [], []
    with running_server([str(tools.phonecloud), "serve", "--port", str(port)], env,
                        tools.log_dir / "web.server.log", f"{url}/api/v1/health"):
        client = signed_in(url)
        try:
            for run in range(repeats):
                load_before = os.getloadavg()[0]
                served, loaded = server_times(client, LOADS_PER_REPEAT), browser_times(url, client, LOADS_PER_REPEAT)
                server_ms += served
                browser_ms += loaded
                result.runs.append(f"run {run + 1}: server median {statistics.median(served):.1f} ms, first screen "
                                   f"median {statistics.median(loaded):.0f} ms (max {max(loaded):.0f}); "
                                   f"load average before {load_before:.2f}")
        finally:
            client.close()
    shutil.rmtree(data.parent, ignore_errors=True)
    first = statistics.median(browser_ms)
    result.rows += [
        Row("server time for GET / (median)", "ms", statistics.median(server_ms), None),
        Row("server time for GET / (p95)", "ms", percentile(server_ms, 0.95), None),
        Row("first screen in Chromium, navigation to load event (median)", "ms", first, TARGET_MS,
            TARGET_MS / first, "target ÷ measured: above 1 is within the target"),
        Row("first screen in Chromium (p95)", "ms", percentile(browser_ms, 0.95), TARGET_MS,
            TARGET_MS / percentile(browser_ms, 0.95), "target ÷ measured"),
    ]
    return result
