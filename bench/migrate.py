"""Leaving for any rclone remote: `phonecloud migrate --to rclone:REMOTE:PATH` of the photo corpus from a
phonecloud server into `rclone serve webdav` of an empty folder, against `rclone copy` of the same files from
`rclone serve webdav` of the corpus folder into another empty `rclone serve webdav`: server to server on
loopback on both sides. phonecloud does more for its time: the files laid out by year, each with its capture
time as its modification time and a Takeout sidecar, and every file read back (size and date: rclone's WebDAV
server gives no hashes) and recorded, so that a second run sends nothing.
"""

from __future__ import annotations

import shutil
import statistics

from corpus import Corpus
from export import rclone_serving
from servers import BenchError, clean_env, run_client
from sides import PhoneCloud, _last_line_json, fresh_dir
from workloads import MB, Row, WorkloadResult, alternating

TARGET = 0.8


def _migrate(tools, session, photos: Corpus, url: str, label: str) -> float:
    remote = f"rclone::webdav,url='{url}',vendor=rclone:photos"
    command = [str(tools.phonecloud), "migrate", "--to", remote, "--server", session.url, "--key", session.key,
               "--json", "--transfers", str(tools.transfers)]
    # The baseline's WebDAV setting too (the rclone that phonecloud runs reads it from the environment).
    env = clean_env(PHONECLOUD_CLIENT_DIR=str(fresh_dir(tools.work_dir / f"migrate-client-{label}")),
                    RCLONE_WEBDAV_PACER_MIN_SLEEP="0")
    run = run_client(command, env, tools.client_timeout_s, session.log_path)
    summary = _last_line_json(run.stdout)
    if (summary.get("sent"), summary.get("verified"), summary.get("failed")) != (photos.files, photos.files, 0):
        raise BenchError(f"phonecloud migrate reported {summary}; wanted {photos.files} sent and verified")
    return run.seconds


def _rclone_copy(tools, source_url: str, target_url: str) -> float:
    env = clean_env(RCLONE_CONFIG="/dev/null")
    command = [str(tools.rclone), "copy", f":webdav,url='{source_url}',vendor=rclone:",
               f":webdav,url='{target_url}',vendor=rclone:photos", "--transfers", str(tools.transfers),
               "--webdav-pacer-min-sleep", "0"]
    return run_client(command, env, tools.client_timeout_s, tools.log_dir / "rclone-migrate.client.log").seconds


def migration(tools, photos: Corpus, repeats: int) -> WorkloadResult:
    result = WorkloadResult(
        "Migration to an rclone remote",
        f"{photos.files} photos, {photos.bytes / MB:,.0f} MB. " + __doc__.split("\n\n")[0].replace("\n", " ")
        + f" Both sides with {tools.transfers} transfers; the server runs no media jobs. Median of {repeats} runs "
        "each, alternating, each into an empty folder; ratio = rclone seconds / phonecloud seconds.",
        baseline="rclone copy between rclone serve webdav servers")
    seconds: dict[str, list[float]] = {"phonecloud": [], "rclone": []}
    with PhoneCloud(tools, PHONECLOUD_EMBEDDED_WORKERS="0").serve("migrate") as session, \
            rclone_serving(tools, "webdav", photos.path, "migrate-source") as (source_url, _):
        session.check_ingested(session.upload(photos.path), photos)
        for run, name in alternating(list(seconds), repeats):
            target = fresh_dir(tools.work_dir / f"migrate-target-{name}-{run}")
            with rclone_serving(tools, "webdav", target, f"migrate-target-{name}-{run}", read_only=False) as (url, _):
                if name == "phonecloud":
                    took = _migrate(tools, session, photos, url, str(run))
                else:
                    took = _rclone_copy(tools, source_url, url)
            arrived = sum(1 for path in (target / "photos").rglob("*") if path.is_file()
                          and not path.name.endswith(".json"))
            shutil.rmtree(target, ignore_errors=True)
            if arrived != photos.files:
                raise BenchError(f"{name} left {arrived} photos on the remote, not {photos.files}")
            seconds[name].append(took)
            print(f"    migrate run {run + 1}/{repeats} {name}: {took:.2f} s", flush=True)
    mine, theirs = statistics.median(seconds["phonecloud"]), statistics.median(seconds["rclone"])
    result.rows = [Row("move the photo corpus", "s", mine, theirs, theirs / mine,
                       f"rclone s / phonecloud s (target ≥ {TARGET})"),
                   Row("move rate", "files/s", photos.files / mine, photos.files / theirs, theirs / mine,
                       "phonecloud/rclone")]
    result.runs = [f"{name} run {n + 1}: {value:.2f} s = {photos.files / value:.1f} files/s"
                   for name, values in seconds.items() for n, value in enumerate(values)]
    return result
