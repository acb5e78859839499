"""Ingest plus derivatives against ingest alone: how long until a synced library is fully browsable.

Three phonecloud configurations, each on a fresh server: no embedded job worker (ingest alone: every
upload's media job stays queued), the default worker count (one per core), and one worker. With workers,
the clock runs from the start of `phonecloud sync` until the API lists every asset with its media no
longer "pending", polled every 0.5 s. A fourth measure bounds what any pipeline could reach on this
machine: the renderer alone making both derivatives of every photo on all cores, with no upload running.
"""

from __future__ import annotations

import collections
import os
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field

from corpus import Corpus, iter_files
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
    total_seconds: float  # from the start of the sync until every asset was processed (ingest alone: = sync)
    processed_at_sync_end: int  # assets no longer pending at the first poll after the sync
    polls: int
    poll_seconds: float  # mean duration of one listing of the library
    server_hwm_kib: int
    renderer_hwm_kib: list[int]  # VmHWM of each renderer child of the server at the end
    load_before: float


def measure(session: PhoneCloudSession, photos: Corpus, variant: Variant, timeout_s: float) -> PipelineRun:
    load = os.getloadavg()[0]
    started = time.perf_counter()
    upload = session.upload(photos.path)
    sync_seconds = time.perf_counter() - started
    session.check_ingested(upload, photos)
    if not variant.renders:
        check_states(session, session.assets(), photos.files, "pending")
        return PipelineRun(sync_seconds, sync_seconds, 0, 0, 0.0, status_kib(session.pid, "VmHWM"), [], load)
    polls = wait_until_processed(session, photos.files, started + timeout_s)
    total = time.perf_counter() - started
    check_states(session, polls.last, photos.files, "ready")
    return PipelineRun(sync_seconds, total, _processed(polls.first), len(polls.seconds),
                       statistics.mean(polls.seconds), status_kib(session.pid, "VmHWM"),
                       [status_kib(pid, "VmHWM") for pid in renderer_pids(session.pid)], load)


@dataclass
class Polls:
    first: list[dict]  # the library as listed right after the sync
    last: list[dict]
    seconds: list[float]  # how long each listing took


def wait_until_processed(session: PhoneCloudSession, files: int, deadline: float) -> Polls:
    """Lists the library every POLL_INTERVAL_S until all `files` assets are past "pending"."""
    polls = None
    while True:
        asked = time.perf_counter()
        assets = session.assets()
        seconds = time.perf_counter() - asked
        polls = polls or Polls(first=assets, last=assets, seconds=[])
        polls.last = assets
        polls.seconds.append(seconds)
        if len(assets) == files and _processed(assets) == files:
            return polls
        if time.perf_counter() > deadline:
            states = collections.Counter(item["media"]["state"] for item in assets)
            raise BenchError(f"media jobs not done before the timeout: {len(assets)} assets, {dict(states)}")
        time.sleep(max(0.0, POLL_INTERVAL_S - seconds))


def _processed(assets: list[dict]) -> int:
    return sum(item["media"]["state"] != "pending" for item in assets)


def renderer_pids(server_pid: int) -> list[int]:
    return [pid for pid in child_pids(server_pid) if RENDERER_MODULE in command_line(pid)]


def check_states(session: PhoneCloudSession, assets: list[dict], files: int, expected: str) -> None:
    """Every asset's media is `expected`; when "ready", the first and last asset serve both derivatives."""
    states = collections.Counter(item["media"]["state"] for item in assets)
    if len(assets) != files or states[expected] != files:
        errors = {item["media"].get("error") for item in assets if item["media"]["state"] != expected}
        raise BenchError(f"{len(assets)} assets with media states {dict(states)}, expected {files} {expected}; "
                         f"errors: {sorted(map(str, errors))[:3]}")
    if expected == "ready":
        for item in (assets[0], assets[-1]):
            for name, mime in (("thumbnail", "image/webp"), ("preview", "image/jpeg")):
                content_type, body = session.get(f"/api/v1/assets/{item['id']}/{name}")
                if content_type != mime or not body:
                    raise BenchError(f"{name} of asset {item['id']}: {content_type}, {len(body)} bytes")


def derivatives_alone(tools: Tools, photos: Corpus) -> float:
    """Seconds for one renderer per core (bench/render_driver.py) to make both derivatives of every photo."""
    work = fresh_dir(tools.work_dir / "pipeline-floor")
    files = sorted(str(path) for path in iter_files(photos.path))
    drivers = []
    started = time.perf_counter()
    for core in range(CORES):
        list_file = work / f"files-{core}.txt"
        list_file.write_text("\n".join(files[core::CORES]) + "\n")
        out = fresh_dir(work / f"out-{core}")
        drivers.append(subprocess.Popen([sys.executable, DRIVER, list_file, out], env=clean_env(),
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
              f"all processed {measured.total_seconds:.1f} s", flush=True)
    floor = [derivatives_alone(tools, photos) for _ in range(repeats)]
    print(f"    derivatives alone on {CORES} cores: {', '.join(f'{s:.1f}' for s in floor)} s", flush=True)
    return _result(photos, repeats, results, statistics.median(floor))


def _result(photos: Corpus, repeats: int, results: dict[str, list[PipelineRun]], floor_s: float) -> WorkloadResult:
    result = WorkloadResult(
        "Ingest pipeline",
        f"The whole pipeline for {photos.files} 12-megapixel photos: `phonecloud sync` (as in Photo ingest) into "
        "a fresh `phonecloud serve` whose embedded job workers (`PHONECLOUD_EMBEDDED_WORKERS`) read each "
        "photo's metadata and render its thumbnail and preview in the sandboxed renderer (one child process "
        "per worker thread). The clock runs from the start of the sync until `GET /api/v1/assets?limit=1000`, "
        f"polled every {POLL_INTERVAL_S:g} s, lists every asset with its media no longer pending; every asset "
        "must then be `ready`, and the first and last serve their thumbnail and preview (checked). Baseline: "
        "ingest alone, the same sync into a server with no worker (its assets must all still be pending). "
        "Server VmHWM is its peak RSS since start; renderer VmHWM is the largest of its renderer children's, "
        f"read before the server stops. Median of {repeats} runs per configuration; ratio = pipeline seconds / "
        f"ingest-alone seconds, target ≤ {TARGET_RATIO:g} (lower is better). The floor: {CORES} render drivers "
        "(bench/render_driver.py, one per core, each with its long-lived renderer) making both derivatives of "
        "every photo with no upload running, timed from their start to the last one's exit (includes each "
        "renderer's start-up); no pipeline that makes both derivatives of every photo can finish sooner.",
        baseline="ingest alone",
    )
    alone = results[INGEST_ALONE.name]
    alone_s = statistics.median(run.total_seconds for run in alone)
    for variant in PIPELINES:
        seconds = statistics.median(run.total_seconds for run in results[variant.name])
        result.rows.append(Row(f"sync until all processed, {variant.label}", "s", seconds, alone_s,
                               seconds / alone_s, f"pipeline s / ingest-alone s (target ≤ {TARGET_RATIO:g})"))
    default_s = statistics.median(run.total_seconds for run in results[PIPELINES[0].name])
    result.rows.append(Row(f"floor: derivatives alone on {CORES} cores, no upload", "s", default_s, floor_s,
                           default_s / floor_s, "default pipeline s / floor s (1.0 = as fast as the renderer allows)"))
    for variant in PIPELINES:
        runs = results[variant.name]
        result.rows.append(Row(f"server VmHWM, {variant.label}", "MiB", _max_mib(run.server_hwm_kib for run in runs),
                               _max_mib(run.server_hwm_kib for run in alone)))
        result.rows.append(Row(f"renderer child VmHWM (largest), {variant.label}", "MiB",
                               _max_mib(kib for run in runs for kib in run.renderer_hwm_kib), None))
    result.runs = [_run_line(variant, i, run, photos.files) for variant in (INGEST_ALONE, *PIPELINES)
                   for i, run in enumerate(results[variant.name])]
    return result


def _max_mib(values) -> float:
    return max(values, default=0) * MIB_PER_KIB


def _run_line(variant: Variant, index: int, run: PipelineRun, files: int) -> str:
    line = f"{variant.label} run {index + 1}: sync {run.sync_seconds:.2f} s"
    if variant.renders:
        renderers = ", ".join(f"{kib * MIB_PER_KIB:.0f}" for kib in run.renderer_hwm_kib)
        line += (f", all processed after {run.total_seconds:.2f} s ({files / run.total_seconds:.1f} photos/s); "
                 f"{run.processed_at_sync_end}/{files} processed when the sync ended; {run.polls} polls of "
                 f"{run.poll_seconds * 1000:.0f} ms on average; renderer VmHWM {renderers or '—'} MiB")
    return line + f"; server VmHWM {run.server_hwm_kib * MIB_PER_KIB:.0f} MiB; load before {run.load_before:.2f}"
