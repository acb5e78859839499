"""Taking everything out: an export's throughput, and `phonecloud pull` against `rclone copy`.

export: a library of photos (the photo corpus) and 100 MB video-sized files, 10 GB in all, is synced into
`phonecloud serve`; once its media pipeline is done, an export is prepared (timed on its own: hashing every
original once, then the layout), then each run downloads every part with curl over loopback into
/dev/null while the server's RSS is sampled. Baselines on the same files in the same run:
`tar cf - FILES | cat >/dev/null` (piped: GNU tar writing to /dev/null itself skips reading), and the same
files one by one, one curl process per file, from `rclone serve http`. Rates are the library's bytes
(the originals) per second for all three; phonecloud also sends the sidecars, index and manifest.

pull: the photo corpus uploaded once; each run mirrors it into an empty folder with `phonecloud pull`
(originals fetched through the asset API, up to 32 to a request, each hashed against the server's
checksum, mtimes set, sidecars written; files written without waiting for the disk, as rclone writes
them), against `rclone copy` from `rclone serve webdav` of the same files (`--webdav-pacer-min-sleep 0`;
it neither hashes nor fsyncs), same number of transfers. `phonecloud pull --fsync`, which makes every
file durable before recording it, is timed in the same runs as a third side.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import shutil
import statistics
import subprocess
import time
import urllib.parse
import urllib.request
from pathlib import Path

import corpus
from corpus import Corpus
from pipeline import wait_until_processed
from servers import LOOPBACK, BenchError, RssSampler, clean_env, free_port, run_client, running_server
from sides import API_TIMEOUT_S, PhoneCloud, PhoneCloudSession, Tools, _last_line_json, fresh_dir
from workloads import MB, MIB_PER_KIB, Row, WorkloadResult, alternating

CLIP_BYTES = 100 * 10**6
QUICK_CLIP_BYTES = 25 * 10**6
TARGETS = {"tar": 0.5, "curl": 2.0, "rss_mib": 150, "pull": 1.0}
RCLONE_REMOTE = "source"  # configured through RCLONE_CONFIG_SOURCE_* variables
POLL_S = 0.5


# --- the library -----------------------------------------------------------------------------------------


def library_corpus(cache_dir: Path, photos: int, total_bytes: int, source_dir: Path) -> Corpus:
    """The photo corpus (hard links to it) plus video-sized files of random bytes up to total_bytes."""
    photo = corpus.photo_corpus(cache_dir, photos, source_dir)
    clip_bytes = CLIP_BYTES if total_bytes >= 10**9 else QUICK_CLIP_BYTES
    clips = max(1, math.ceil((total_bytes - photo.bytes) / clip_bytes))

    def build(folder: Path) -> None:
        for path in corpus.iter_files(photo.path):
            os.link(path, folder / os.path.basename(path))
        for number in range(clips):
            scratch = fresh_dir(folder.parent / "clip.partial")
            corpus.build_video(scratch, clip_bytes)
            (scratch / "VID_00001.mp4").rename(folder / f"VID_{number:05d}.mp4")
            scratch.rmdir()

    return corpus.cached_corpus(cache_dir, f"library-{total_bytes}",
                                {"photos": photos, "clips": clips, "clip_bytes": clip_bytes}, build)


def describe_library(library: Corpus) -> str:
    videos = sum(1 for path in corpus.iter_files(library.path) if path.endswith(".mp4"))
    return (f"library (export): {library.files} files, {library.bytes / 1e9:.2f} GB: the photo corpus and "
            f"{videos} video-sized files (ftyp + mdat header, random payload)")


# --- rclone serving a folder -------------------------------------------------------------------------------


@contextlib.contextmanager
def rclone_serving(tools: Tools, protocol: str, root: Path, label: str, read_only: bool = True):
    """`rclone serve http|webdav ROOT` (read-only unless asked, no config file); yields its URL."""
    home = fresh_dir(tools.work_dir / f"rclone-{label}")
    config = home / "rclone.conf"
    config.touch()
    url = f"http://{LOOPBACK}:{free_port()}"
    command = [str(tools.rclone), "serve", protocol, str(root), "--addr", url.removeprefix("http://"),
               *(["--read-only"] if read_only else [])]
    try:
        with running_server(command, clean_env(RCLONE_CONFIG=str(config)),
                            tools.log_dir / f"rclone-{label}.server.log", f"{url}/"):
            yield url, config
    finally:
        shutil.rmtree(home, ignore_errors=True)


# --- export throughput -------------------------------------------------------------------------------------


def _post_json(session: PhoneCloudSession, path: str) -> dict:
    request = urllib.request.Request(session.url + path, method="POST",
                                     headers={"Authorization": f"Bearer {session.key}"})
    with urllib.request.urlopen(request, timeout=API_TIMEOUT_S) as response:
        return json.loads(response.read())


def prepare_export(session: PhoneCloudSession, timeout_s: float) -> tuple[dict, float, int]:
    """(the ready export, seconds to prepare it, server RSS growth in KiB meanwhile)."""
    started = time.perf_counter()
    with RssSampler(session.pid) as rss:
        export = _post_json(session, "/api/v1/export")
        while export["state"] == "preparing":
            if time.perf_counter() - started > timeout_s:
                raise BenchError("the export was still being prepared at the timeout")
            time.sleep(POLL_S)
            export = session.get_json(f"/api/v1/export/{export['id']}")
    if export["state"] != "ready":
        raise BenchError(f"the export failed: {export['error']}")
    return export, time.perf_counter() - started, rss.growth_kib


def _curl(tools: Tools, url: str, *headers: str) -> int:
    """Bytes curl received from url into /dev/null."""
    program = shutil.which("curl")
    if program is None:
        raise BenchError("the export workload needs curl (apt-get install curl)")
    command = [program, "-sS", "--fail", "-o", "/dev/null", "-w", "%{size_download}", *headers, url]
    done = subprocess.run(command, capture_output=True, text=True, timeout=tools.client_timeout_s)
    if done.returncode != 0:
        raise BenchError(f"curl {url} exited with {done.returncode}: {done.stderr[-500:]}")
    return int(done.stdout)


def download_export(tools: Tools, session: PhoneCloudSession, export: dict) -> tuple[float, RssSampler]:
    started = time.perf_counter()
    with RssSampler(session.pid) as rss:
        received = sum(_curl(tools, session.url + part["url"], "-H", f"Authorization: Bearer {session.key}")
                       for part in export["parts"])
    if received != export["total_bytes"]:
        raise BenchError(f"curl received {received} bytes of the export's {export['total_bytes']}")
    return time.perf_counter() - started, rss


def tar_library(tools: Tools, library: Corpus) -> float:
    started = time.perf_counter()
    subprocess.run(["bash", "-c", 'set -o pipefail; tar cf - -C "$1" . | cat >/dev/null', "tar", str(library.path)],
                   check=True, timeout=tools.client_timeout_s)
    return time.perf_counter() - started


def curl_one_by_one(tools: Tools, library: Corpus, url: str) -> float:
    names = sorted(os.path.relpath(path, library.path) for path in corpus.iter_files(library.path))
    started = time.perf_counter()
    received = sum(_curl(tools, f"{url}/{urllib.parse.quote(name)}") for name in names)
    if received != library.bytes:
        raise BenchError(f"curl received {received} bytes of the library's {library.bytes}")
    return time.perf_counter() - started


def export_throughput(tools: Tools, library: Corpus, repeats: int) -> WorkloadResult:
    result = WorkloadResult(
        "Export", f"{library.files} files, {library.bytes / 1e9:.2f} GB. " + __doc__.split("\n\n")[1].replace("\n", " ")
        + f" Median of {repeats} runs each, alternating; ratios are phonecloud's rate over the baseline's.",
        baseline="tar piped to cat; curl one by one from rclone serve http")
    with PhoneCloud(tools, "phonecloud-export").serve("export") as session:
        session.check_ingested(session.upload(library.path), library)
        wait_until_processed(session, library.files, time.perf_counter() + tools.client_timeout_s)
        export, prepared_s, prepared_growth_kib = prepare_export(session, tools.client_timeout_s)
        print(f"    export prepared in {prepared_s:.1f} s: {len(export['parts'])} parts, "
              f"{export['total_bytes'] / 1e9:.2f} GB", flush=True)
        seconds: dict[str, list[float]] = {"phonecloud": [], "tar": [], "curl": []}
        growth, peak = [], []
        with rclone_serving(tools, "http", library.path, "export-http") as (http_url, _config):
            for run, name in alternating(list(seconds), repeats):
                if name == "phonecloud":
                    took, rss = download_export(tools, session, export)
                    growth.append(rss.growth_kib * MIB_PER_KIB)
                    peak.append(rss.peak_kib * MIB_PER_KIB)
                else:
                    took = tar_library(tools, library) if name == "tar" else curl_one_by_one(tools, library, http_url)
                seconds[name].append(took)
                print(f"    export run {run + 1}/{repeats} {name}: {took:.2f} s = "
                      f"{library.bytes / MB / took:,.0f} MB/s", flush=True)
    rate = {name: library.bytes / MB / statistics.median(values) for name, values in seconds.items()}
    result.rows = [
        Row("export rate vs tar piped to cat", "MB/s", rate["phonecloud"], rate["tar"], rate["phonecloud"] / rate["tar"],
            f"phonecloud/tar MB/s (target ≥ {TARGETS['tar']})"),
        Row("export rate vs curl one by one from rclone serve http", "MB/s", rate["phonecloud"], rate["curl"],
            rate["phonecloud"] / rate["curl"], f"phonecloud/curl MB/s (target ≥ {TARGETS['curl']})"),
        Row("server RSS growth while exporting (max of runs)", "MiB", max(growth), None, None,
            f"target < {TARGETS['rss_mib']} MiB"),
        Row("server peak RSS while exporting (max of runs)", "MiB", max(peak), None),
        Row("preparing the export (hash every original, lay out the parts)", "s", prepared_s, None),
    ]
    result.runs = [f"{name} run {n + 1}: {value:.2f} s = {library.bytes / MB / value:,.0f} MB/s"
                   for name, values in seconds.items() for n, value in enumerate(values)]
    result.runs += [f"phonecloud run {n + 1}: server RSS +{g:.1f} MiB, peak {p:.0f} MiB"
                    for n, (g, p) in enumerate(zip(growth, peak))]
    result.runs.append(f"export prepared in {prepared_s:.1f} s ({len(export['parts'])} parts, "
                       f"{export['total_bytes']:,} bytes); server RSS +{prepared_growth_kib * MIB_PER_KIB:.0f} MiB")
    return result


# --- pull against rclone copy ------------------------------------------------------------------------------


def pull_run(tools: Tools, session: PhoneCloudSession, photos: Corpus, dest: Path, *options: str) -> float:
    command = [str(tools.phonecloud), "pull", str(dest), "--server", session.url, "--key", session.key, "--json",
               "--transfers", str(tools.transfers), *options]
    run = run_client(command, clean_env(PHONECLOUD_CLIENT_DIR=str(session.client_dir)), tools.client_timeout_s,
                     session.log_path)
    summary = _last_line_json(run.stdout)
    if (summary["fetched"], summary["failed"]) != (photos.files, 0):
        raise BenchError(f"phonecloud pull summary {summary}: expected {photos.files} fetched, none failed")
    return run.seconds


def rclone_copy_run(tools: Tools, url: str, config: Path, photos: Corpus, dest: Path) -> float:
    remote = RCLONE_REMOTE.upper()
    env = clean_env(RCLONE_CONFIG=str(config), **{f"RCLONE_CONFIG_{remote}_TYPE": "webdav",
                                                  f"RCLONE_CONFIG_{remote}_URL": url,
                                                  f"RCLONE_CONFIG_{remote}_VENDOR": "other"})
    command = [str(tools.rclone), "copy", f"{RCLONE_REMOTE}:", str(dest), "--transfers", str(tools.transfers),
               "--webdav-pacer-min-sleep", "0"]
    run = run_client(command, env, tools.client_timeout_s, tools.log_dir / "rclone-pull.client.log")
    if corpus.count_files(dest) != (photos.files, photos.bytes):
        raise BenchError(f"rclone copied {corpus.count_files(dest)} (files, bytes), expected "
                         f"{(photos.files, photos.bytes)}")
    return run.seconds


def pull_mirror(tools: Tools, photos: Corpus, repeats: int) -> WorkloadResult:
    result = WorkloadResult(
        "Pull mirror", f"{photos.files} photos, {photos.bytes / MB:,.0f} MB. " + __doc__.split("\n\n")[2].replace(
            "\n", " ") + f" The server runs no media jobs (the mirror needs none). Median of {repeats} runs each, "
        "alternating, each into an empty folder; ratio = rclone seconds / phonecloud seconds.",
        baseline="rclone copy from rclone serve webdav")
    seconds: dict[str, list[float]] = {"phonecloud": [], "phonecloud --fsync": [], "rclone": []}
    with PhoneCloud(tools, "phonecloud-pull", PHONECLOUD_EMBEDDED_WORKERS="0").serve("pull") as session, \
            rclone_serving(tools, "webdav", photos.path, "pull-webdav") as (webdav_url, config):
        session.check_ingested(session.upload(photos.path), photos)
        for run, name in alternating(list(seconds), repeats):
            dest = fresh_dir(tools.work_dir / f"pull-{name.replace(' --', '-')}-{run + 1}")
            if name.startswith("phonecloud"):
                took = pull_run(tools, session, photos, dest, *name.split()[1:])
            else:
                took = rclone_copy_run(tools, webdav_url, config, photos, dest)
            shutil.rmtree(dest)
            seconds[name].append(took)
            print(f"    pull run {run + 1}/{repeats} {name}: {took:.2f} s", flush=True)
    pc, durable, rc = (statistics.median(seconds[name]) for name in seconds)
    result.rows = [Row("mirror the photo corpus", "s", pc, rc, rc / pc,
                       f"rclone s / phonecloud s (target ≥ {TARGETS['pull']})"),
                   Row("mirror rate", "files/s", photos.files / pc, photos.files / rc, rc / pc, "phonecloud/rclone"),
                   Row("same, pull --fsync (every file on disk before it is recorded)", "s", durable, rc, rc / durable,
                       "rclone s / phonecloud --fsync s (no target: rclone does not fsync)")]
    result.runs = [f"{name} run {n + 1}: {value:.2f} s = {photos.files / value:.1f} files/s"
                   for name, values in seconds.items() for n, value in enumerate(values)]
    return result
