"""Arriving from Google Photos: `phonecloud import takeout` of a two-part Google Takeout of the photo corpus,
against what one does without it, in the same run: `unzip` of the same parts into an empty folder, then
`phonecloud sync` of that folder into another fresh server (which gets neither the sidecars' capture times nor
the albums: it uploads the JSON sidecars' photos under their file times, the export's). A third side measures
the same Takeout imported on the server, as the web app's Takeout page does it: both parts uploaded as they are
(POST /api/v1/takeout/parts), then one import job reads them in place (one embedded worker, so that the media
pipeline waits, as it does on the other sides).

The Takeout is built once into bench/.cache/ from the photo corpus: part 1 holds the year folders ("Photos from
YYYY", a photo and its `.supplemental-metadata.json` sidecar with photoTakenTime and title), part 2 the rest of
the year folders and an album folder (`metadata.json`) that repeats every fifth photo of part 1, as Takeout's
album folders repeat the year folders' files in other parts. Entries are stored, not deflated (JPEGs do not
shrink; Google's parts deflate them for nothing), so the two sides read the same bytes.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import statistics
import time
import zipfile
from pathlib import Path

import httpx

import corpus
from corpus import Corpus
from servers import BenchError, clean_env, run_client
from sides import PhoneCloud, _last_line_json, fresh_dir
from workloads import MB, Row, WorkloadResult, alternating

ALBUM = "Trip to the lake"
ALBUM_EVERY = 5  # every fifth photo of part 1 is in the album too
ROOT = "Takeout/Google Photos"
TARGET = 1.0  # phonecloud's import at least as fast as unzip + sync
FIRST_TAKEN = 1_400_000_000  # the first photo's photoTakenTime (May 2014); one day later for each next one


def taken_at(number: int) -> int:
    return FIRST_TAKEN + number * 86_400


def takeout_corpus(cache_dir: Path, photos: Corpus) -> Corpus:
    """Two zip parts of a Takeout of the photo corpus (files: the photos, bytes: the parts' size)."""
    def build(folder: Path) -> None:
        paths = sorted(corpus.iter_files(photos.path))
        half = len(paths) // 2
        with zipfile.ZipFile(folder / "takeout-001.zip", "w") as first, \
                zipfile.ZipFile(folder / "takeout-002.zip", "w") as second:
            for number, path in enumerate(paths):
                part = first if number < half else second
                name, taken = os.path.basename(path), taken_at(number)
                year = dt.datetime.fromtimestamp(taken, dt.UTC).year
                for place in [f"{ROOT}/Photos from {year}"] + (
                        [f"{ROOT}/{ALBUM}"] if number < half and number % ALBUM_EVERY == 0 else []):
                    target = part if place.endswith(str(year)) else second
                    target.write(path, f"{place}/{name}")
                    target.writestr(f"{place}/{name}.supplemental-metadata.json", json.dumps(
                        {"title": name, "photoTakenTime": {"timestamp": str(taken)},
                         "creationTime": {"timestamp": "1733000000"}}))
            second.writestr(f"{ROOT}/{ALBUM}/metadata.json", json.dumps({"title": ALBUM, "description": ""}))

    built = corpus.cached_corpus(cache_dir, f"takeout-{photos.files}", {"photos": photos.files, "layout": 2,
                                                                      "source": str(photos.path)}, build)
    return Corpus(built.path, photos.files, built.bytes)


def describe_takeout(takeout: Corpus) -> str:
    return (f"takeout: the photo corpus as a two-part Google Takeout ({takeout.files} photos with sidecars, an "
            f"album repeating every {ALBUM_EVERY}th photo of part 1 in part 2, {takeout.bytes / 1e6:,.0f} MB "
            "of stored zip parts)")


def _parts(takeout: Corpus) -> list[str]:
    return sorted(str(path) for path in takeout.path.glob("*.zip"))


def _import(tools, session, takeout: Corpus) -> tuple[float, dict]:
    command = [str(tools.phonecloud), "import", "takeout", *_parts(takeout), "--server", session.url, "--key",
               session.key, "--json", "--transfers", str(tools.transfers)]
    run = run_client(command, clean_env(PHONECLOUD_CLIENT_DIR=str(session.client_dir)), tools.client_timeout_s,
                     session.log_path)
    summary = _last_line_json(run.stdout)
    if (summary.get("uploaded"), summary.get("failed"), summary.get("albums")) != (takeout.files, 0, 1):
        raise BenchError(f"phonecloud import takeout reported {summary}; wanted {takeout.files} uploaded, 1 album")
    return run.seconds, summary


def _unzip_and_sync(tools, session, takeout: Corpus) -> tuple[float, float]:
    folder = fresh_dir(tools.work_dir / "takeout-unzipped")
    try:
        unzipped = sum(run_client(["unzip", "-q", "-o", part, "-d", str(folder)], clean_env(),
                                  tools.client_timeout_s, session.log_path).seconds for part in _parts(takeout))
        synced = session.upload(folder)
        if synced.summary.get("failed") or synced.summary.get("uploaded") != takeout.files:
            raise BenchError(f"phonecloud sync of the unzipped Takeout reported {synced.summary}")
        return unzipped, synced.seconds
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _server_import(session, takeout: Corpus, timeout_s: float) -> tuple[float, dict]:
    """Seconds from the first byte of part 1 until the server's import job is done, and its report."""
    started = time.monotonic()
    with httpx.Client(base_url=session.url + "/api/v1", headers={"Authorization": f"Bearer {session.key}"},
                      timeout=timeout_s) as client:
        parts = []
        for part in _parts(takeout):
            with open(part, "rb") as body:
                sent = client.post("/takeout/parts", params={"filename": Path(part).name}, content=body,
                                   headers={"Content-Type": "application/octet-stream"})
            if sent.status_code != 201:
                raise BenchError(f"uploading {part} answered {sent.status_code}: {sent.text[:300]}")
            parts.append(sent.json()["id"])
        found = client.post("/takeout/imports", json={"parts": parts}).json()
        while not found["finished"]:
            if time.monotonic() - started > timeout_s:
                raise BenchError(f"the server's Takeout import did not finish in {timeout_s:.0f} s: {found}")
            time.sleep(0.1)
            found = client.get(f"/takeout/imports/{found['id']}").json()
    report = found["report"] or {}
    if (found["state"], report.get("uploaded"), report.get("failed"), report.get("albums")) != (
            "done", takeout.files, 0, 1):
        raise BenchError(f"the server's Takeout import ended {found['state']}: {report or found['error']}")
    return time.monotonic() - started, report


def _dates_right(session, takeout: Corpus) -> int:
    """How many photos carry a sidecar's capture time (photoTakenTime) as their file time."""
    taken = {dt.datetime.fromtimestamp(taken_at(number), dt.UTC) for number in range(takeout.files)}
    return sum(1 for asset in session.assets()
               if dt.datetime.fromisoformat(asset["file_modified_at"]) in taken)


def takeout_import(tools, takeout: Corpus, repeats: int) -> WorkloadResult:
    if shutil.which("unzip") is None:
        raise BenchError("unzip is not installed (apt-get install unzip)")
    result = WorkloadResult(
        "Takeout import",
        f"Imports a two-part Google Takeout of the photo corpus ({takeout.files} photos, "
        f"{takeout.bytes / MB:,.0f} MB of zip parts, each photo with a `.supplemental-metadata.json` sidecar, "
        f"an album in part 2 repeating every {ALBUM_EVERY}th photo of part 1) into an empty server with "
        f"`phonecloud import takeout PARTS --transfers {tools.transfers}` (read in place, sidecars matched, "
        f"capture times, titles and the album applied), against `unzip` of the same parts into an empty folder "
        f"followed by `phonecloud sync --transfers {tools.transfers}` of it into another empty server (no "
        f"capture times from the sidecars, no album). Both servers `phonecloud serve` without embedded "
        f"workers. A third side imports on the server: both parts uploaded (POST /api/v1/takeout/parts) and "
        f"read by the import job (one embedded worker). Each run starts fresh servers; the median of {repeats} "
        f"runs is reported.",
        baseline="unzip + sync")
    side = PhoneCloud(tools, PHONECLOUD_EMBEDDED_WORKERS="0")
    on_server = PhoneCloud(tools, PHONECLOUD_EMBEDDED_WORKERS="1")
    imports, baselines, server_imports, runs = [], [], [], []
    for number, which in alternating(["import", "baseline", "server"], repeats):
        with (on_server if which == "server" else side).serve(f"takeout-{which}-{number}") as session:
            if which == "server":
                seconds, report = _server_import(session, takeout, tools.client_timeout_s)
                server_imports.append(seconds)
                runs.append(f"server import run {number}: {seconds:.2f} s = {takeout.files / seconds:.1f} photos/s "
                            f"(both parts uploaded, then read by the import job); with their sidecar "
                            f"{report['matched']}, albums {report['albums']}, capture times from the sidecars "
                            f"{_dates_right(session, takeout)}/{takeout.files}")
            elif which == "import":
                seconds, summary = _import(tools, session, takeout)
                dated = _dates_right(session, takeout)
                imports.append(seconds)
                runs.append(f"import run {number}: {seconds:.2f} s = {takeout.files / seconds:.1f} photos/s; "
                            f"duplicates {summary['duplicates']}, with their sidecar {summary['matched']}, albums "
                            f"{summary['albums']}, capture times from the sidecars {dated}/{takeout.files}")
            else:
                unzipped, synced = _unzip_and_sync(tools, session, takeout)
                baselines.append(unzipped + synced)
                runs.append(f"baseline run {number}: {unzipped + synced:.2f} s (unzip {unzipped:.2f} s, sync "
                            f"{synced:.2f} s); capture times from the sidecars {_dates_right(session, takeout)}"
                            f"/{takeout.files}, albums {len(session.get_json('/api/v1/albums'))}")
    mine, theirs = statistics.median(imports), statistics.median(baselines)
    result.rows.append(Row("time to arrive", "s", mine, theirs, theirs / mine,
                           f"(unzip + sync) s / import s, target {TARGET:g}"))
    result.rows.append(Row("import rate", "photos/s", takeout.files / mine, takeout.files / theirs,
                           theirs / mine, "phonecloud/baseline photos/s"))
    on_the_server = statistics.median(server_imports)
    result.rows.append(Row("time to arrive, imported on the server", "s", on_the_server, theirs,
                           theirs / on_the_server, "(unzip + sync) s / (parts uploaded + import job) s"))
    result.runs = runs
    return result
