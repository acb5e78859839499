"""The scale workload: the embedded default (SQLite + local disk) against the scale-out configuration
(PostgreSQL + S3: Debian's PostgreSQL started in a temporary folder, `rclone serve s3` on loopback, as the
scale-out tests run them):

- listing the newest 200 assets of a user who owns a large library (1,000,000 assets; 20,000 in --quick),
  made as rows (the listing reads only rows): p50 and p99 of GET /api/v1/assets?limit=200;
- the bulk pre-upload check of 10,000 hashes (half of them known): p50 and p99 of POST /api/v1/assets/check;
- photo ingest through one API process and through two behind a round-robin client (the machine has two
  cores), with each process's CPU seconds, which shows where the time goes.

Run alone: `.venv/bin/python bench/run.py --only scale` (add --quick for the small version).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import itertools
import os
import sys
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx

from corpus import Corpus, iter_files
from servers import clean_env, free_port, running_server
from workloads import Row, WorkloadResult

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
import scaleout  # noqa: E402  (the tests' PostgreSQL and S3 servers)

PAGE = 200
CHECK_ITEMS = 10_000
LISTINGS = 300
CHECKS = 30
TRANSFERS = 8
PASSWORD = "correct horse battery"


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(fraction * (len(ordered) - 1))))]


def cpu_seconds(root: int) -> float:
    """CPU time (user + system) of a process and all its descendants, live or already waited for
    (PostgreSQL's backends are children of its postmaster)."""
    stats = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError):
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
                stats[int(entry.name)] = (int(fields[1]), fields)  # (parent, fields)
    tree, frontier = {root}, [root]
    while frontier:
        parent = frontier.pop()
        children = [pid for pid, (ppid, _) in stats.items() if ppid == parent]
        tree.update(children)
        frontier.extend(children)
    ticks = sum(int(stats[pid][1][11]) + int(stats[pid][1][12]) for pid in tree if pid in stats)
    ticks += int(stats[root][1][13]) + int(stats[root][1][14]) if root in stats else 0
    return ticks / os.sysconf("SC_CLK_TCK")


@contextlib.contextmanager
def configuration(name: str, work: Path):
    """{PHONECLOUD_* settings} of a fresh, empty configuration, and the pids of its storage servers."""
    data = work / name
    data.mkdir(parents=True)
    if name == "embedded":
        yield {"PHONECLOUD_DATA_DIR": str(data)}, {}
        return
    postgres, s3 = scaleout.PostgresServer(), scaleout.S3Server()
    try:
        postgres.start()
        s3.start()
        yield ({"PHONECLOUD_DATA_DIR": str(data), "PHONECLOUD_DATABASE_URL": scaleout.new_database(postgres.url),
                "PHONECLOUD_BLOB_URL": s3.url("bench"), **scaleout.credentials()},
               {"postgres": postgres.process.pid, "rclone": s3.process.pid})
    finally:
        s3.stop()
        postgres.stop()


def make_library(settings: dict[str, str], assets: int) -> tuple[str, list[str]]:
    """A user owning `assets` assets as rows; returns an API key and the SHA-1s of the library."""
    from sqlalchemy import insert, text

    from phonecloud.server.container import Services
    from phonecloud.core.settings import Settings
    from phonecloud.gallery.models import Asset

    services = Services.start(Settings(data_dir=Path(settings["PHONECLOUD_DATA_DIR"]),
                                       database_url=settings.get("PHONECLOUD_DATABASE_URL"),
                                       blob_url=settings.get("PHONECLOUD_BLOB_URL")))
    try:
        owner = services.accounts.create_user(f"bench-{uuid.uuid4().hex[:8]}@example.org", PASSWORD,
                                              quota_bytes=1 << 40).id
        key = services.accounts.create_api_key(owner, "bench").key
        newest = dt.datetime(2025, 6, 30, 20, 0, tzinfo=dt.UTC)
        sha1s = [hashlib.sha1(f"asset {n}".encode()).hexdigest() for n in range(assets)]
        for start in range(0, assets, 10_000):
            rows = [dict(id=uuid.uuid4(), owner_id=owner, kind="photo", mime_type="image/jpeg",
                         original_filename=f"IMG_{n:07d}.jpg", size_bytes=3_000_000, sha1=sha1s[n], crc32=0,
                         blob_key=f"users/{owner}/originals/{sha1s[n][:2]}/{sha1s[n]}.bench",
                         file_modified_at=newest - dt.timedelta(minutes=7 * n), uploaded_at=newest,
                         sort_at=newest - dt.timedelta(minutes=7 * n), is_favorite=False, trashed_at=None)
                    for n in range(start, min(assets, start + 10_000))]
            with services.db.write() as session:
                session.execute(insert(Asset), rows)
        with services.db.write() as session:  # fresh statistics, as autovacuum would gather them
            session.execute(text("ANALYZE"))
        return key, sha1s
    finally:
        services.close()


def api_process(settings: dict[str, str], log: Path):
    port = free_port()
    env = clean_env(**settings, PHONECLOUD_EMBEDDED_WORKERS="0")
    command = [str(Path(sys.executable).with_name("phonecloud")), "serve", "--port", str(port)]
    return running_server(command, env, log, f"http://127.0.0.1:{port}/api/v1/health"), f"http://127.0.0.1:{port}"


def timed(call, count: int) -> list[float]:
    """Milliseconds of each of `count` calls, after a few untimed ones that warm caches and connections."""
    for _ in range(5):
        call()
    times = []
    for _ in range(count):
        started = time.perf_counter()
        call()
        times.append((time.perf_counter() - started) * 1000)
    return times


def reads(settings: dict[str, str], assets: int, log_dir: Path) -> dict[str, list[float]]:
    key, sha1s = make_library(settings, assets)
    server, url = api_process(settings, log_dir / "reads.log")
    unknown = [hashlib.sha1(f"new {n}".encode()).hexdigest() for n in range(CHECK_ITEMS // 2)]
    known = sha1s[:: max(1, len(sha1s) // (CHECK_ITEMS // 2))][: CHECK_ITEMS // 2]
    items = [{"id": str(n), "sha1": sha1} for n, sha1 in enumerate(known + unknown)]
    with server, httpx.Client(base_url=f"{url}/api/v1", headers={"Authorization": f"Bearer {key}"},
                              timeout=120) as http:
        def listing():
            page = http.get("/assets", params={"limit": PAGE})
            assert page.status_code == 200 and len(page.json()["items"]) == PAGE, page.text[:300]

        def check():
            answer = http.post("/assets/check", json={"items": items})
            assert answer.status_code == 200, answer.text[:300]
            assert sum(result["exists"] for result in answer.json()["results"]) == len(known)

        return {"listing": timed(listing, LISTINGS), "check": timed(check, CHECKS)}


def ingest(settings: dict[str, str], photos: Corpus, processes: int, storage_pids: dict[str, int],
           log_dir: Path) -> tuple[float, dict[str, float]]:
    """Files per second through `processes` API processes, and CPU seconds by component."""
    key, _ = make_library(settings, 0)
    files = sorted(Path(path) for path in iter_files(photos.path))
    with contextlib.ExitStack() as stack:
        urls, pids = [], []
        for number in range(processes):
            server, url = api_process(settings, log_dir / f"ingest-{processes}-{number}.log")
            pids.append(stack.enter_context(server).pid)
            urls.append(url)
        clients = [stack.enter_context(httpx.Client(base_url=f"{url}/api/v1", timeout=300,
                                                    headers={"Authorization": f"Bearer {key}"})) for url in urls]
        turn = itertools.count()
        before = {name: cpu_seconds(pid) for name, pid in [*storage_pids.items(), *(
            (f"API {n + 1}", pid) for n, pid in enumerate(pids))]}
        pid_of = {**storage_pids, **{f"API {n + 1}": pid for n, pid in enumerate(pids)}}

        def send(path: Path) -> None:
            answer = clients[next(turn) % processes].post("/assets", content=path.read_bytes(), params={
                "filename": path.name, "modified_at": "2024-01-01T00:00:00Z"})
            assert answer.status_code == 201, answer.text[:300]

        started = time.perf_counter()
        with ThreadPoolExecutor(TRANSFERS) as pool:
            list(pool.map(send, files))
        seconds = time.perf_counter() - started
        cpu = {name: cpu_seconds(pid_of[name]) - before[name] for name in before}
    return len(files) / seconds, cpu


def scale_out(tools, photos: Corpus, repeats: int) -> WorkloadResult:
    assets = 1_000_000 if photos.files >= 1000 else 20_000  # the full corpus has 1,000 photos, --quick 30
    result = WorkloadResult(
        "Scale-out",
        f"The embedded default (SQLite + local disk; the phonecloud column) against PostgreSQL + S3 (rclone "
        f"serve s3 on loopback; the baseline column), one machine. Listing: GET /assets?limit={PAGE} for a user "
        f"owning {assets:,} assets (rows only), {LISTINGS} timed requests. Check: POST /assets/check with "
        f"{CHECK_ITEMS:,} SHA-1s, half of them known, {CHECKS} timed requests. Ingest: {photos.files} photos "
        f"({photos.bytes / 1e6:,.0f} MB) uploaded by {TRANSFERS} client threads to one API process, then to two "
        f"(round robin), no job workers; best of {repeats} runs. Targets: listing p99 < 30 ms, check < 200 ms.",
        baseline="PostgreSQL + S3",
    )
    work = tools.work_dir / "scale"
    figures: dict[str, dict] = {}
    for name in ("embedded", "scale-out"):
        with configuration(name, work / "reads") as (settings, _):
            figures[name] = reads(settings, assets, tools.log_dir / name)
        for processes in (1, 2):
            best = None
            for run in range(repeats):
                with configuration(name, work / f"ingest-{processes}-{run}") as (settings, storage_pids):
                    rate, cpu = ingest(settings, photos, processes, storage_pids, tools.log_dir / name)
                result.runs.append(f"{name}, {processes} API process(es), run {run + 1}: {rate:.1f} files/s; "
                                   "CPU s: " + ", ".join(f"{part} {seconds:.1f}" for part, seconds in cpu.items()))
                best = rate if best is None else max(best, rate)
            figures[name][f"ingest {processes}"] = best
    embedded, scaled = figures["embedded"], figures["scale-out"]
    for metric, values in (("listing", "ms"), ("check", "ms")):
        for label, fraction in (("p50", 0.5), ("p99", 0.99)):
            result.rows.append(Row(f"{'newest 200' if metric == 'listing' else '10,000-hash check'} {label}",
                                   values, percentile(embedded[metric], fraction),
                                   percentile(scaled[metric], fraction)))
    for processes in (1, 2):
        result.rows.append(Row(f"ingest, {processes} API process{'es' if processes > 1 else ''}", "files/s",
                               embedded[f"ingest {processes}"], scaled[f"ingest {processes}"]))
    for name, values in figures.items():
        result.rows.append(Row(f"ingest scaling 2 vs 1 API processes ({name})", "x",
                               values["ingest 2"] / values["ingest 1"], None))
    return result
