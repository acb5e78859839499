"""The rclone comparisons, and the result types every workload returns: summary rows plus per-run detail.

Ratios against rclone are oriented so that above 1 means phonecloud did better; each row says what its
ratio is (see thumbs.py and pipeline.py for the other baselines).
"""

from __future__ import annotations

import json
import os
import statistics
from dataclasses import dataclass, field

from corpus import Corpus
from servers import RssSampler, status_kib

MB = 1_000_000
MIB_PER_KIB = 1 / 1024


@dataclass
class Row:
    metric: str
    unit: str
    phonecloud: float | None
    baseline: float | None  # the workload's baseline: rclone unless WorkloadResult.baseline says otherwise
    ratio: float | None = None
    ratio_meaning: str = ""


@dataclass
class WorkloadResult:
    title: str
    description: str
    baseline: str = "rclone"
    rows: list[Row] = field(default_factory=list)
    runs: list[str] = field(default_factory=list)  # one line per measured run, for RESULTS.md
    error: str | None = None

    @classmethod
    def from_json(cls, data: dict) -> WorkloadResult:
        return cls(**{**data, "rows": [Row(**row) for row in data.get("rows", [])]})


@dataclass(frozen=True)
class Measured:
    """One timed upload, the server's and client's memory during it, and how busy the machine was."""

    seconds: float
    rss_before_kib: int
    rss_peak_kib: int
    hwm_after_kib: int
    client_peak_kib: int
    load_before: float  # 1-minute load average: other work on this machine skews the timing
    summary: dict | None  # what phonecloud sync reported; None for rclone

    @property
    def rss_growth_mib(self) -> float:
        return (self.rss_peak_kib - self.rss_before_kib) * MIB_PER_KIB


def measure_upload(session, corpus: Corpus, check) -> Measured:
    """Time `session.upload(corpus)` while sampling the server's RSS, then let `check` verify it."""
    load_before = os.getloadavg()[0]
    with RssSampler(session.pid) as rss:
        upload = session.upload(corpus.path)
    check(upload, corpus)
    return Measured(upload.seconds, rss.before_kib, rss.peak_kib, status_kib(session.pid, "VmHWM"),
                    upload.client_peak_rss_kib, load_before, upload.summary)


def fresh_server_uploads(sides, corpus: Corpus, repeats: int, label: str) -> dict[str, list[Measured]]:
    """`repeats` uploads of `corpus` per side, each into a newly started, empty server.

    The sides alternate which goes first, so neither always runs right after the other's writes.
    """
    results: dict[str, list[Measured]] = {side.name: [] for side in sides}
    for run, side in alternating(sides, repeats):
        with side.serve(f"{label}-{run + 1}") as session:
            measured = measure_upload(session, corpus, session.check_ingested)
        results[side.name].append(measured)
        print(f"    {label} run {run + 1}/{repeats} {side.name}: {measured.seconds:.2f} s", flush=True)
    return results


def alternating(sides: list, repeats: int):
    """(run number from 0, side) for `repeats` runs of every side; odd runs go through the sides backwards,
    so that no side always runs right after the same other one."""
    for run in range(repeats):
        for side in sides if run % 2 == 0 else reversed(sides):
            yield run, side


def median_seconds(runs: list[Measured]) -> float:
    return statistics.median(m.seconds for m in runs)


def client_memory_row(results: dict[str, list[Measured]]) -> Row:
    peak = {name: max(m.client_peak_kib for m in runs) * MIB_PER_KIB for name, runs in results.items()}
    return Row("client peak RSS (max of runs)", "MiB", peak["phonecloud"], peak["rclone"])


def run_lines(results: dict[str, list[Measured]], describe) -> list[str]:
    return [f"{name} run {i + 1}: {describe(m)}{_common_notes(m)}"
            for name, runs in results.items() for i, m in enumerate(runs)]


def _common_notes(measured: Measured) -> str:
    notes = f"; client peak RSS {measured.client_peak_kib * MIB_PER_KIB:.0f} MiB; load before {measured.load_before:.2f}"
    return notes + (f"; summary `{json.dumps(measured.summary)}`" if measured.summary else "")


# --- 2. photo ingest -----------------------------------------------------------------------


def photo_ingest(sides, photos: Corpus, repeats: int, transfers: int) -> WorkloadResult:
    result = WorkloadResult(
        "Photo ingest",
        f"Uploads {photos.files} distinct 12-megapixel JPEGs ({photos.bytes / MB:,.0f} MB, 2-5 MB each, "
        f"with EXIF) from a warm page cache into an empty server: `phonecloud sync --transfers {transfers}` "
        f"into `phonecloud serve`, against `rclone copy --transfers {transfers}` into `rclone serve webdav`. "
        f"Each run starts a fresh server on a fresh data folder; the median of {repeats} runs is reported.",
    )
    results = fresh_server_uploads(sides, photos, repeats, "ingest")
    result.rows.append(rate_row(results, "ingest rate", photos.files, "files/s"))
    result.rows.append(rate_row(results, "ingest rate", photos.bytes / MB, "MB/s"))
    result.rows.append(client_memory_row(results))
    result.runs = run_lines(results, lambda m: f"{m.seconds:.2f} s = {photos.files / m.seconds:.1f} files/s")
    return result


def rate_row(results: dict[str, list[Measured]], metric: str, amount: float, unit: str) -> Row:
    """amount per median second for each side, and phonecloud's rate over rclone's."""
    pc, rc = (amount / median_seconds(results[name]) for name in ("phonecloud", "rclone"))
    return Row(metric, unit, pc, rc, pc / rc, f"phonecloud/rclone {unit}")


# --- 3. large file -------------------------------------------------------------------------


def large_file(sides, video: Corpus, repeats: int) -> WorkloadResult:
    result = WorkloadResult(
        "Large file",
        f"Uploads one {video.bytes / MB:,.0f} MB MP4-headed file of random bytes through the same two paths, "
        "measuring throughput and how much the server's resident memory grows: VmRSS is read right before "
        "the upload and sampled every 50 ms during it; growth = max(sampled) - before. VmHWM (peak since "
        f"start, start-up included) is shown for reference. Median of {repeats} runs.",
    )
    results = fresh_server_uploads(sides, video, repeats, "large")
    result.rows.append(rate_row(results, "upload rate", video.bytes / MB, "MB/s"))
    growth = {name: max(m.rss_growth_mib for m in runs) for name, runs in results.items()}
    result.rows.append(Row("server RSS growth (max of runs)", "MiB", growth["phonecloud"], growth["rclone"]))
    hwm = {name: max(m.hwm_after_kib for m in runs) * MIB_PER_KIB for name, runs in results.items()}
    result.rows.append(Row("server VmHWM after upload", "MiB", hwm["phonecloud"], hwm["rclone"]))
    result.rows.append(client_memory_row(results))
    result.runs = run_lines(results, lambda m: (
        f"{m.seconds:.2f} s = {video.bytes / MB / m.seconds:.1f} MB/s; RSS before {m.rss_before_kib * MIB_PER_KIB:.1f}"
        f" MiB, peak {m.rss_peak_kib * MIB_PER_KIB:.1f} MiB (+{m.rss_growth_mib:.1f}), "
        f"VmHWM {m.hwm_after_kib * MIB_PER_KIB:.1f} MiB"))
    return result


# --- 4. no-op re-sync ----------------------------------------------------------------------


def noop_resync(sides, tree: Corpus, repeats: int) -> WorkloadResult:
    result = WorkloadResult(
        "No-op re-sync",
        f"A tree of {tree.files:,} tiny distinct JPEGs in folders of 1,000 is uploaded once (setup; its time is "
        "shown for information), then the unchanged tree is synced again into the same server: phonecloud "
        "with the same client state folder (so it may trust its local records instead of re-hashing), rclone "
        "with its usual listing and size comparison. Each re-sync must transfer nothing (checked). "
        f"Median of {repeats} re-syncs; ratio = rclone seconds / phonecloud seconds.",
    )
    setups: dict[str, Measured] = {}
    resyncs: dict[str, list[Measured]] = {}
    for side in sides:
        with side.serve("noop") as session:
            setups[side.name] = measure_upload(session, tree, session.check_ingested)
            print(f"    no-op setup {side.name}: {setups[side.name].seconds:.1f} s", flush=True)
            resyncs[side.name] = []
            for run in range(repeats):
                resyncs[side.name].append(measure_upload(session, tree, session.check_noop))
                print(f"    no-op re-sync {run + 1}/{repeats} {side.name}: "
                      f"{resyncs[side.name][-1].seconds:.2f} s", flush=True)
    pc, rc = (median_seconds(resyncs[name]) for name in ("phonecloud", "rclone"))
    result.rows.append(Row("re-sync time", "s", pc, rc, rc / pc, "rclone s / phonecloud s"))
    pc_setup, rc_setup = (tree.files / setups[name].seconds for name in ("phonecloud", "rclone"))
    result.rows.append(Row("first upload of the tree (setup, 1 run)", "files/s", pc_setup, rc_setup,
                           pc_setup / rc_setup, "phonecloud/rclone files/s"))
    result.rows.append(client_memory_row({name: [setups[name], *resyncs[name]] for name in setups}))
    result.runs = [f"{name} setup: {m.seconds:.1f} s = {tree.files / m.seconds:.0f} files/s{_common_notes(m)}"
                   for name, m in setups.items()]
    result.runs += run_lines(resyncs, lambda m: f"re-sync {m.seconds:.2f} s")
    return result
