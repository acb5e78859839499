"""Resumable uploads (tus): a large file through tus against the plain upload and against rclone, the
server's memory meanwhile, and how long resuming an upload stopped at 90% takes against a whole upload.

The transfer rows run `phonecloud sync`, which sends files above its threshold over tus (one streaming
PATCH) and, with the threshold raised out of reach, as one plain POST; rclone copies into
`rclone serve webdav` with `--webdav-pacer-min-sleep 0` as elsewhere. The resume rows speak tus directly
(httpx): a whole upload (POST, then one PATCH of the file), against one stopped at 90% by a broken
connection and timed from the resume on: HEAD for the offset, then a PATCH of the rest.
"""

from __future__ import annotations

import contextlib
import statistics
import time
from pathlib import Path

import httpx

import corpus
from corpus import Corpus
from servers import BenchError
from sides import PhoneCloud, Rclone, Tools
from workloads import MB, Row, WorkloadResult, alternating, fresh_server_uploads, median_seconds, run_lines

TUS = {"Tus-Resumable": "1.0.0"}
PLAIN_ONLY = {"PHONECLOUD_SYNC_TUS_THRESHOLD": "1TiB"}  # the sync client then never uses tus
STOP_AT = 0.9
READ_CHUNK = 1 << 20
TARGETS = {"plain": 0.9, "rclone": 0.8, "rss_mib": 100, "resume": 0.15}


class _Stopped(Exception):
    """Raised by the body generator to break a PATCH's connection part-way, as a lost network would."""


def tus_upload(tools: Tools, video: Corpus, repeats: int, cache_dir: Path) -> WorkloadResult:
    result = WorkloadResult(
        "Resumable upload (tus)",
        f"{video.bytes / MB:,.0f} MB through tus against the same file as one plain upload and against rclone "
        f"(each run a fresh server, median of {repeats}); server RSS growth during the tus upload; and the time "
        f"to resume an upload stopped at {STOP_AT:.0%} against a whole upload of a file half that size "
        "(protocol-level, see bench/tus.py).",
        baseline="plain upload, rclone, whole upload")
    sides = [PhoneCloud(tools, "phonecloud-tus", PHONECLOUD_EMBEDDED_WORKERS="0"),
             PhoneCloud(tools, "phonecloud-plain", client_env=PLAIN_ONLY, PHONECLOUD_EMBEDDED_WORKERS="0"),
             Rclone(tools)]
    results = fresh_server_uploads(sides, video, repeats, "tus")
    seconds = {name: median_seconds(runs) for name, runs in results.items()}
    rate = {name: video.bytes / MB / value for name, value in seconds.items()}
    tus_rate = rate["phonecloud-tus"]
    result.rows += [
        Row("tus upload rate vs plain upload", "MB/s", tus_rate, rate["phonecloud-plain"],
            tus_rate / rate["phonecloud-plain"], f"tus/plain MB/s (target ≥ {TARGETS['plain']})"),
        Row("tus upload rate vs rclone", "MB/s", tus_rate, rate["rclone"], tus_rate / rate["rclone"],
            f"tus/rclone MB/s (target ≥ {TARGETS['rclone']})"),
        Row("server RSS growth during the tus upload (max of runs)", "MiB",
            max(m.rss_growth_mib for m in results["phonecloud-tus"]), None, None,
            f"target < {TARGETS['rss_mib']} MiB"),
    ]
    result.runs = run_lines(results, lambda m: f"{m.seconds:.2f} s = {video.bytes / MB / m.seconds:.1f} MB/s; "
                                               f"server RSS +{m.rss_growth_mib:.1f} MiB")
    half = corpus.video_corpus(cache_dir, video.bytes // 2)
    whole, resumed = resume_times(PhoneCloud(tools, "phonecloud-resume", PHONECLOUD_EMBEDDED_WORKERS="0"),
                                  half, repeats)
    result.rows.append(Row(f"resume after {STOP_AT:.0%} vs whole upload, {half.bytes / MB:,.0f} MB", "s",
                           statistics.median(resumed), statistics.median(whole),
                           statistics.median(resumed) / statistics.median(whole),
                           f"resume s / whole s (target < {TARGETS['resume']})"))
    result.runs += [f"resume run {n + 1}: whole {w:.2f} s, resume {r:.2f} s" for n, (w, r) in
                    enumerate(zip(whole, resumed))]
    return result


def resume_times(side: PhoneCloud, video: Corpus, repeats: int) -> tuple[list[float], list[float]]:
    """(whole upload seconds, resume seconds) per run; each upload into a fresh server of its own."""
    path = Path(next(corpus.iter_files(video.path)))
    whole, resumed = [], []
    for run, _ in alternating([side], repeats):
        with _tus_session(side, f"whole-{run + 1}") as http:
            started = time.perf_counter()
            _finished(_send(http, _create(http, video.bytes), path, 0, video.bytes))
            whole.append(time.perf_counter() - started)
        with _tus_session(side, f"resume-{run + 1}") as http:
            url = _create(http, video.bytes)
            try:
                _send(http, url, path, 0, int(video.bytes * STOP_AT))
            except _Stopped:
                pass
            started = time.perf_counter()
            offset = int(http.head(url).headers["upload-offset"])
            _finished(_send(http, url, path, offset, video.bytes))
            resumed.append(time.perf_counter() - started)
        if offset < video.bytes * STOP_AT - (32 << 20):
            raise BenchError(f"the stopped upload resumed at {offset}, far below {STOP_AT:.0%}")
        print(f"    resume run {run + 1}/{repeats}: whole {whole[-1]:.2f} s, resume {resumed[-1]:.2f} s "
              f"(from {offset / video.bytes:.1%})", flush=True)
    return whole, resumed


@contextlib.contextmanager
def _tus_session(side: PhoneCloud, label: str):
    with side.serve(label) as session, httpx.Client(
            base_url=session.url, headers={**TUS, "Authorization": f"Bearer {session.key}"},
            timeout=httpx.Timeout(300.0, connect=15.0)) as http:
        yield http


def _create(http: httpx.Client, length: int) -> str:
    response = http.post("/api/v1/uploads/", headers={"Upload-Length": str(length)})
    if response.status_code != 201:
        raise BenchError(f"tus creation refused: {response.status_code} {response.text}")
    return response.headers["location"]


def _send(http: httpx.Client, url: str, path: Path, start: int, stop: int) -> httpx.Response:
    """PATCH the file's bytes from start; past `stop` (short of the end) the connection breaks."""
    size = path.stat().st_size

    def body():
        with open(path, "rb") as handle:
            handle.seek(start)
            position = start
            while position < size:
                if position >= stop:
                    raise _Stopped()
                chunk = handle.read(min(READ_CHUNK, stop - position))
                position += len(chunk)
                yield chunk

    try:
        return http.patch(url, content=body(), headers={"Upload-Offset": str(start), "Content-Length": str(size - start),
                                                        "Content-Type": "application/offset+octet-stream"})
    except httpx.TransportError as error:
        if isinstance(error.__cause__, _Stopped) or isinstance(error.__context__, _Stopped):
            raise _Stopped() from error
        raise


def _finished(response: httpx.Response) -> str:
    asset_id = response.headers.get("phonecloud-asset-id")
    if response.status_code != 204 or not asset_id:
        raise BenchError(f"tus upload did not finish: {response.status_code} {response.text}")
    return asset_id
