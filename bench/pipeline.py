"""Ingest plus derivatives against ingest alone: how long until a synced library is browsable (every thumbnail
made: the grid shows it) and until every preview is made too (the viewer's).

Three phonecloud configurations, each on a fresh server: no embedded job worker (ingest alone: every
upload's media job stays queued), the default worker count (one per core), and one worker. With workers,
the server's media job makes the metadata and the thumbnail of each upload, and queues its preview's job,
which workers take only when no other job waits. The API is listed every 0.5 s until every asset is ready
with its preview made; the times themselves come from the server's own records, read after the run from
its database (the jobs table): a media job is created in its upload's transaction (the upload's end) and
finished just after its thumbnail was recorded, a preview job just after its preview. Floors bound what any
pipeline could reach on this machine: the renderer alone making every thumbnail, and every preview, on all
cores, with no upload running.
"""

from __future__ import annotations

import collections
import contextlib
import datetime as dt
import os
import sqlite3
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field

from corpus import Corpus, iter_files
from phonecloud.media.derivatives import PREVIEW, THUMBNAIL
from phonecloud.media.jobs import MEDIA_JOB, PREVIEW_JOB
from servers import BenchError, child_pids, clean_env, command_line, status_kib
from sides import PhoneCloud, PhoneCloudSession, Tools, fresh_dir
from thumbs import DRIVER
from workloads import MIB_PER_KIB, Row, WorkloadResult, alternating

POLL_INTERVAL_S = 0.5
RENDERER_MODULE = "phonecloud.media.sandbox"
TARGET_RATIO = 1.5


@dataclass(frozen=True)
class Variant:
    name: str  # file-safe, for server folders and logs
    label: str
    settings: dict = field(default_factory=dict)  # PHONECLOUD_* variables for the server

    @property
    def renders(self) -> bool:
        return self.settings.get("PHONECLOUD_EMBEDDED_WORKERS") != "0"


INGEST_ALONE = Variant("phonecloud-workers-0", "ingest alone (0 workers)", {"PHONECLOUD_EMBEDDED_WORKERS": "0"})
CORES = os.cpu_count() or 1
PIPELINES = (Variant("phonecloud-workers-default", f"default workers (one per core: {CORES})"),
             Variant("phonecloud-workers-1", "1 worker", {"PHONECLOUD_EMBEDDED_WORKERS": "1"}))


@dataclass(frozen=True)
class PipelineRun:
    sync_seconds: float
    thumbnails_seconds: float  # from the start of the sync until the last thumbnail (ingest alone: = sync)
    previews_seconds: float  # until the last preview (ingest alone: = sync)
    thumbnail_latency: list[float]  # per upload: seconds from its end to its thumbnail being served
    preview_latency: list[float]  # the same to its preview
    thumbnails_at_sync_end: int  # uploads whose thumbnail existed when the sync ended
    polls: int
    poll_seconds: float  # mean duration of one listing of the library
    server_hwm_kib: int
    renderer_hwm_kib: list[int]  # VmHWM of each renderer child of the server at the end
    load_before: float


def measure(session: PhoneCloudSession, photos: Corpus, variant: Variant, timeout_s: float) -> PipelineRun:
    load = os.getloadavg()[0]
    started_at, started = time.time(), time.perf_counter()
    upload = session.upload(photos.path)
    sync_seconds = time.perf_counter() - started
    session.check_ingested(upload, photos)
    if not variant.renders:
        check_states(session, session.assets(), photos.files, "pending")
        return PipelineRun(sync_seconds, sync_seconds, sync_seconds, [], [], 0, 0, 0.0,
                           status_kib(session.pid, "VmHWM"), [], load)
    polls = wait_until_processed(session, photos.files, started + timeout_s)
    check_states(session, polls.last, photos.files, "ready")
    hwm = status_kib(session.pid, "VmHWM")
    renderers = [status_kib(pid, "VmHWM") for pid in renderer_pids(session.pid)]
    made = made_at(session)
    if len(made) != photos.files or any(None in times for times in made.values()):
        raise BenchError(f"the server's jobs table records {len(made)} uploads, not all with both derivatives")
    ended, thumbnails, previews = zip(*made.values())
    return PipelineRun(
        sync_seconds, max(thumbnails) - started_at, max(previews) - started_at,
        [thumbnail - end for end, thumbnail in zip(ended, thumbnails)],
        [preview - end for end, preview in zip(ended, previews)],
        sum(thumbnail <= started_at + sync_seconds for thumbnail in thumbnails),
        len(polls.seconds), statistics.mean(polls.seconds), hwm, renderers, load)


def made_at(session: PhoneCloudSession) -> dict[str, list[float | None]]:
    """Per asset: [its upload's end, its thumbnail recorded, its preview recorded], UNIX seconds, as the
    server's jobs table has them: the media job is created in the upload's transaction and finished just
    after the thumbnail was recorded (served from then on); the preview job finished just after the preview."""
    database = session.client_dir.parent / "data" / "phonecloud.sqlite3"  # PhoneCloud.serve's folders
    times: dict[str, list[float | None]] = collections.defaultdict(lambda: [None, None, None])
    with contextlib.closing(sqlite3.connect(f"{database.as_uri()}?mode=ro", uri=True)) as db:
        rows = db.execute("SELECT kind, subject, created_at, finished_at FROM jobs WHERE kind IN (?, ?) "
                          "AND status = 'done'", (MEDIA_JOB, PREVIEW_JOB)).fetchall()
    for kind, subject, created, finished in rows:
        if kind == MEDIA_JOB:
            times[subject][:2] = [_unix(created), _unix(finished)]
        else:
            times[subject][2] = _unix(finished)
    return times


def _unix(stored: str) -> float:
    return dt.datetime.fromisoformat(stored).replace(tzinfo=dt.UTC).timestamp()  # SQLite keeps naive UTC


@dataclass
class Polls:
    last: list[dict]  # the library as last listed
    seconds: list[float]  # how long each listing took


def wait_until_processed(session: PhoneCloudSession, files: int, deadline: float) -> Polls:
    """Lists the library every POLL_INTERVAL_S until all `files` assets have their thumbnail and preview."""
    polls = Polls(last=[], seconds=[])
    while True:
        asked = time.perf_counter()
        assets = session.assets()
        seconds = time.perf_counter() - asked
        polls.last = assets
        polls.seconds.append(seconds)
        if len(assets) == files and _processed(assets) == files:
            return polls
        if time.perf_counter() > deadline:
            states = collections.Counter((item["media"]["state"], item["media"]["preview_state"]) for item in assets)
            raise BenchError(f"media jobs not done before the timeout: {len(assets)} assets, {dict(states)}")
        time.sleep(max(0.0, POLL_INTERVAL_S - seconds))


def _processed(assets: list[dict]) -> int:
    return sum(item["media"]["state"] != "pending" and item["media"]["preview_state"] != "pending"
               for item in assets)


def renderer_pids(server_pid: int) -> list[int]:
    return [pid for pid in child_pids(server_pid) if RENDERER_MODULE in command_line(pid)]


def check_states(session: PhoneCloudSession, assets: list[dict], files: int, expected: str) -> None:
    """Every asset's media and preview are `expected`; when "ready", the first and last asset serve both
    derivatives."""
    states = collections.Counter((item["media"]["state"], item["media"]["preview_state"]) for item in assets)
    if len(assets) != files or states[expected, expected] != files:
        errors = {item["media"].get("error") or item["media"].get("preview_error") for item in assets
                  if (item["media"]["state"], item["media"]["preview_state"]) != (expected, expected)}
        raise BenchError(f"{len(assets)} assets with media and preview states {dict(states)}, expected {files} "
                         f"{expected}; errors: {sorted(map(str, errors))[:3]}")
    if expected == "ready":
        for item in (assets[0], assets[-1]):
            for name, mime in ((THUMBNAIL, "image/webp"), (PREVIEW, "image/jpeg")):
                content_type, body = session.get(f"/api/v1/assets/{item['id']}/{name}")
                if content_type != mime or not body:
                    raise BenchError(f"{name} of asset {item['id']}: {content_type}, {len(body)} bytes")


def renderer_alone(tools: Tools, photos: Corpus, derivative: str) -> float:
    """Seconds for one renderer per core (bench/render_driver.py) to make `derivative` of every photo."""
    work = fresh_dir(tools.work_dir / "pipeline-floor")
    files = sorted(str(path) for path in iter_files(photos.path))
    drivers = []
    started = time.perf_counter()
    for core in range(CORES):
        list_file = work / f"files-{core}.txt"
        list_file.write_text("\n".join(files[core::CORES]) + "\n")
        out = fresh_dir(work / f"out-{core}")
        drivers.append(subprocess.Popen([sys.executable, DRIVER, list_file, out, derivative], env=clean_env(),
                                        stdout=subprocess.DEVNULL))
    for driver in drivers:
        if driver.wait(timeout=tools.client_timeout_s) != 0:
            raise BenchError(f"render driver exited with {driver.returncode}")
    return time.perf_counter() - started


def pipeline(tools: Tools, photos: Corpus, repeats: int) -> WorkloadResult:
    variants = [INGEST_ALONE, *PIPELINES]
    sides = {variant.name: PhoneCloud(tools, variant.name, **variant.settings) for variant in variants}
    results: dict[str, list[PipelineRun]] = {variant.name: [] for variant in variants}
    for run, variant in alternating(variants, repeats):
        with sides[variant.name].serve(f"pipeline-{run + 1}") as session:
            measured = measure(session, photos, variant, tools.client_timeout_s)
        results[variant.name].append(measured)
        print(f"    pipeline run {run + 1}/{repeats} {variant.label}: sync {measured.sync_seconds:.1f} s, "
              f"every thumbnail {measured.thumbnails_seconds:.1f} s, every preview "
              f"{measured.previews_seconds:.1f} s", flush=True)
    floors = {}
    for derivative in (THUMBNAIL, PREVIEW):
        seconds = [renderer_alone(tools, photos, derivative) for _ in range(repeats)]
        print(f"    {derivative}s alone on {CORES} cores: {', '.join(f'{s:.1f}' for s in seconds)} s", flush=True)
        floors[derivative] = statistics.median(seconds)
    return _result(photos, repeats, results, floors)


def _result(photos: Corpus, repeats: int, results: dict[str, list[PipelineRun]],
            floors: dict[str, float]) -> WorkloadResult:
    result = WorkloadResult(
        "Ingest pipeline",
        f"The whole pipeline for {photos.files} 12-megapixel photos: `phonecloud sync` (as in Photo ingest) into "
        "a fresh `phonecloud serve` whose embedded job workers (`PHONECLOUD_EMBEDDED_WORKERS`) read each "
        "photo's metadata and make its thumbnail (the media job, in the sandboxed renderer: one child process "
        "per worker thread), then its preview (the preview job, which workers take only when no other job "
        "waits; a preview opened before is made by its first view). Clocks run from the start of the sync "
        "until the last thumbnail, and the last preview, was recorded, and per upload from its end to its "
        "thumbnail being served; all are read after the run from the server's jobs table (a media job is "
        "created in its upload's transaction and finished just after its thumbnail was recorded, a preview "
        f"job just after its preview), while `GET /api/v1/assets?limit=1000`, polled every {POLL_INTERVAL_S:g} "
        "s, says when all are made; every asset must then be `ready` with its preview `ready`, and the first "
        "and last serve both (checked). Baseline: ingest alone, the same sync into a server with no worker "
        "(its assets must all still be pending). Target: every thumbnail within "
        f"{TARGET_RATIO:g}× the ingest-alone time. Previews are measured against the renderer's floor: "
        f"{CORES} render drivers (bench/render_driver.py, one per core, each with its long-lived renderer) "
        "making the previews of every photo with no upload running, timed from their start to the last one's "
        "exit (includes each renderer's start-up); the thumbnails' floor is measured the same way. Server "
        "VmHWM is its peak RSS since start; renderer VmHWM is the largest of its renderer children's, read "
        f"before the server stops. Median of {repeats} runs per configuration; latency percentiles over every "
        "upload of every run.",
        baseline="ingest alone",
    )
    alone = results[INGEST_ALONE.name]
    alone_s = statistics.median(run.sync_seconds for run in alone)
    both_floor = floors[THUMBNAIL] + floors[PREVIEW]
    for variant in PIPELINES:
        runs = results[variant.name]
        thumbnails_s = statistics.median(run.thumbnails_seconds for run in runs)
        previews_s = statistics.median(run.previews_seconds for run in runs)
        after_s = statistics.median(run.previews_seconds - run.thumbnails_seconds for run in runs)
        thumbnail_latency = _percentiles([seconds for run in runs for seconds in run.thumbnail_latency])
        result.rows += [
            Row(f"sync until every thumbnail exists, {variant.label}", "s", thumbnails_s, alone_s,
                thumbnails_s / alone_s, f"pipeline s / ingest-alone s (target ≤ {TARGET_RATIO:g})"),
            Row(f"thumbnail served after its upload's end, p50, {variant.label}", "s", thumbnail_latency[0], None),
            Row(f"thumbnail served after its upload's end, p99, {variant.label}", "s", thumbnail_latency[1], None),
            Row(f"sync until every preview exists too, {variant.label}", "s", previews_s, alone_s,
                previews_s / alone_s, "pipeline s / ingest-alone s (no target: previews can wait)"),
            Row(f"previews: the last preview after the last thumbnail, {variant.label}", "s", after_s,
                floors[PREVIEW], after_s / floors[PREVIEW],
                f"s / floor s: every preview alone on {CORES} cores (below 1: some made while uploads left "
                "cores idle)"),
        ]
    default_previews_s = statistics.median(run.previews_seconds for run in results[PIPELINES[0].name])
    result.rows += [
        Row(f"floor: thumbnails alone on {CORES} cores, no upload", "s", floors[THUMBNAIL], None),
        Row(f"floor: thumbnails and previews alone on {CORES} cores, no upload", "s", default_previews_s, both_floor,
            default_previews_s / both_floor, "default pipeline s (every preview) / floor s (1.0 = as fast as the "
            "renderer allows)"),
    ]
    for variant in PIPELINES:
        runs = results[variant.name]
        result.rows.append(Row(f"server VmHWM, {variant.label}", "MiB", _max_mib(run.server_hwm_kib for run in runs),
                               _max_mib(run.server_hwm_kib for run in alone)))
        result.rows.append(Row(f"renderer child VmHWM (largest), {variant.label}", "MiB",
                               _max_mib(kib for run in runs for kib in run.renderer_hwm_kib), None))
    result.runs = [_run_line(variant, i, run, photos.files) for variant in (INGEST_ALONE, *PIPELINES)
                   for i, run in enumerate(results[variant.name])]
    return result


def _percentiles(seconds: list[float]) -> tuple[float, float]:
    """p50 and p99."""
    cuts = statistics.quantiles(seconds, n=100, method="inclusive")
    return statistics.median(seconds), cuts[98]


def _max_mib(values) -> float:
    return max(values, default=0) * MIB_PER_KIB


def _run_line(variant: Variant, index: int, run: PipelineRun, files: int) -> str:
    line = f"{variant.label} run {index + 1}: sync {run.sync_seconds:.2f} s"
    if variant.renders:
        renderers = ", ".join(f"{kib * MIB_PER_KIB:.0f}" for kib in run.renderer_hwm_kib)
        thumbnail, preview = _percentiles(run.thumbnail_latency), _percentiles(run.preview_latency)
        line += (f", every thumbnail after {run.thumbnails_seconds:.2f} s, every preview after "
                 f"{run.previews_seconds:.2f} s; {run.thumbnails_at_sync_end}/{files} thumbnails made when the "
                 f"sync ended; thumbnail after its upload's end p50 {thumbnail[0]:.2f} s, p99 {thumbnail[1]:.2f} s; "
                 f"preview p50 {preview[0]:.2f} s, p99 {preview[1]:.2f} s; {run.polls} polls of "
                 f"{run.poll_seconds * 1000:.0f} ms on average; renderer VmHWM {renderers or '—'} MiB")
    return line + f"; server VmHWM {run.server_hwm_kib * MIB_PER_KIB:.0f} MiB; load before {run.load_before:.2f}"
