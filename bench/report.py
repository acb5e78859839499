"""Describing the machine, keeping results per workload, and rendering them as Markdown (terminal, RESULTS.md).

RESULTS.md is rendered from RESULTS.json beside it. A run replaces only the workloads it measured there
(`--only`), so the others keep their figures, each with the run that measured it.
"""

from __future__ import annotations

import json
import os
import platform
import shutil
import subprocess
import time
from dataclasses import asdict
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path

from workloads import WorkloadResult

GIB = 1024**3

CAVEATS = """\
- Both servers run on this machine on 127.0.0.1 and write to fresh folders on the same filesystem; the
  clients read the same warm files. Nothing is dropped from the page cache between runs.
- The baseline does less work per file than phonecloud: `rclone serve webdav` runs without authentication
  and keeps no database, thumbnails or content hashes, and `rclone copy` to a WebDAV remote of vendor
  `other` compares sizes only. The ratios show what phonecloud's extra work costs next to a plain copy.
- Durability differs: phonecloud fsyncs every stored file and its folder and commits SQLite with
  synchronous=FULL, while `rclone serve webdav` never calls fsync (checked with strace). The machine
  section gives this disk's durable write speed, to tell disk limits from CPU ones; it is a single probe
  of a shared virtual disk and varied between 300 and 1,500 MB/s from one run to the next.
- This machine has 2 cores shared with whatever else runs on it; each run's line gives the 1-minute
  load average just before it (the bench itself adds about 2 while it runs), so noisy runs show.
- Times are wall-clock seconds of the client command, process start-up included on both sides (Thumbnails
  per core and Ingest pipeline say in their descriptions what they time). MB = 10^6 bytes; MiB = 2^20 bytes.
- Ingest pipeline lists the whole library (`GET /api/v1/assets?limit=1000`) every 0.5 s to see when it is
  done; each listing costs the server time that the measured pipeline includes (each run's line gives the
  mean duration of one listing).
- The bench runs phonecloud from this checkout's working tree; each run's "phonecloud source" line says
  which commit, and whether src/ had uncommitted changes then.
"""


def machine_info(work_dir: Path, rclone: Path) -> dict[str, str]:
    memory_kib = _meminfo_kib("MemTotal")
    probe = work_dir / "disk-speed.probe"
    return {
        "uname -a": _command_output(["uname", "-a"]),
        "CPU": _cpu_model(),
        "cores": str(os.cpu_count()),
        "RAM": f"{memory_kib * 1024 / GIB:.1f} GiB",
        "disk free (work folder)": f"{shutil.disk_usage(work_dir).free / GIB:.0f} GiB",
        "disk write 1 GiB + fsync (work folder)": f"{disk_write_mb_s(probe):.0f} MB/s",
        "Python": platform.python_version(),
        "phonecloud": _package_version("phonecloud"),
        "rclone": _command_output([str(rclone), "version"]).splitlines()[0],
    }


def source_state(checkout: Path) -> str:
    """The commit measured, and whether src/ had uncommitted changes (the bench runs the working tree)."""
    commit = _command_output(["git", "-C", str(checkout), "log", "-1", "--format=%h %s"])
    changed = _command_output(["git", "-C", str(checkout), "status", "--porcelain", "--", "src"])
    return commit + (" + uncommitted changes in src/" if changed != "?" else "")


def disk_write_mb_s(path: Path, size: int = GIB) -> float:
    """Durable sequential write speed into `path` (removed afterwards): 8 MiB blocks, then fsync."""
    block = bytes(8 << 20)
    started = time.perf_counter()
    try:
        with open(path, "wb") as out:
            for _ in range(size // len(block)):
                out.write(block)
            out.flush()
            os.fsync(out.fileno())
        return size / 1e6 / (time.perf_counter() - started)
    finally:
        path.unlink(missing_ok=True)


def _command_output(command: list[str]) -> str:
    try:
        return subprocess.run(command, capture_output=True, text=True, timeout=30).stdout.strip() or "?"
    except (OSError, subprocess.SubprocessError):
        return "?"


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as cpuinfo:
            for line in cpuinfo:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "?"


def _meminfo_kib(field: str) -> int:
    with open("/proc/meminfo") as meminfo:
        for line in meminfo:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return 0


def _package_version(name: str) -> str:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return "not installed"


def now_utc() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")


def _number(value: float | None) -> str:
    if value is None:
        return "—"
    if abs(value) >= 100:
        return f"{value:,.0f}"
    return f"{value:.2f}" if abs(value) >= 1 else f"{value:.3f}"


def summary_table(results: list[WorkloadResult]) -> str:
    lines = ["| workload | metric | unit | phonecloud | baseline | ratio | ratio is |",
             "| --- | --- | --- | ---: | ---: | ---: | --- |"]
    for result in results:
        workload = f"{result.title} (vs {result.baseline})"
        if result.error:
            lines.append(f"| {workload} | FAILED | | | | | see below |")
        for row in result.rows:
            ratio = f"**{_number(row.ratio)}**" if row.ratio is not None else "—"
            lines.append(f"| {workload} | {row.metric} | {row.unit} | {_number(row.phonecloud)} | "
                         f"{_number(row.baseline)} | {ratio} | {row.ratio_meaning} |")
    return "\n".join(lines)


# --- the results kept between runs ---------------------------------------------------------


def load_store(path: Path) -> dict:
    """What earlier runs wrote: {"runs": {id: {"info", "machine"}}, "corpus": {kind: line},
    "workloads": {name: {"run": id, "result": WorkloadResult as a dict}}}."""
    try:
        return json.loads(path.read_text())
    except FileNotFoundError:
        return {"runs": {}, "corpus": {}, "workloads": {}}


def merge(store: dict, run_id: str, run: dict[str, str], machine: dict[str, str], corpus: dict[str, str],
          results: dict[str, WorkloadResult]) -> dict:
    """`store` with this run's workloads replacing their earlier results; runs no workload cites are dropped."""
    workloads = {**store["workloads"],
                 **{name: {"run": run_id, "result": asdict(result)} for name, result in results.items()}}
    runs = {**store["runs"], run_id: {"info": run, "machine": machine}}
    cited = {entry["run"] for entry in workloads.values()}
    return {"runs": {key: value for key, value in sorted(runs.items()) if key in cited},
            "corpus": {**store["corpus"], **corpus}, "workloads": workloads}


def results_markdown(store: dict, order: list[str]) -> str:
    """RESULTS.md from the store; workloads in `order` (any others after them)."""
    names = sorted(store["workloads"], key=lambda name: order.index(name) if name in order else len(order))
    results = {name: WorkloadResult.from_json(store["workloads"][name]["result"]) for name in names}
    run_of = {name: store["workloads"][name]["run"] for name in names}
    newest_machine = store["runs"][max(store["runs"])]["machine"]
    parts = ["# phonecloud benchmark results", "",
             "Written by `bench/run.py` (`make bench`) from RESULTS.json; rerun it to refresh (`--only` refreshes "
             "some workloads and keeps the others). Each workload is compared with the baseline named in its "
             "row; the last column says what each ratio is. Against rclone and vipsthumbnail, ratios above 1 "
             "mean phonecloud did better.", "",
             "## Summary", "", summary_table(list(results.values())), "", "## Runs", ""]
    for run_id, run in store["runs"].items():
        parts += _run_section(run, [results[name].title for name in names if run_of[name] == run_id], newest_machine)
    parts += ["## Machine", ""]
    parts += [f"- {key}: `{value}`" for key, value in newest_machine.items()]
    parts += ["", "## Corpus", ""]
    parts += [f"- {line}" for line in store["corpus"].values()]
    parts += ["", "## Workloads", ""]
    for name, result in results.items():
        parts += _workload_section(result, store["runs"][run_of[name]]["info"]["date"])
    parts += ["## Caveats", "", CAVEATS]
    return "\n".join(parts)


def _run_section(run: dict, titles: list[str], newest_machine: dict[str, str]) -> list[str]:
    """One run's settings, and where its machine differed from the newest run's (the disk probe varies)."""
    parts = [f"### {run['info']['date']}: {', '.join(titles)}", ""]
    parts += [f"- {key}: {value}" for key, value in run["info"].items()]
    parts += [f"- {key} (this run): `{value}`" for key, value in run["machine"].items()
              if newest_machine.get(key) != value]
    return parts + [""]


def _workload_section(result: WorkloadResult, measured_on: str) -> list[str]:
    parts = [f"### {result.title}", "", result.description, "", f"Measured in the run of {measured_on}.", ""]
    if result.error:
        parts += ["**Failed:**", "", "```", result.error.strip(), "```", ""]
    parts += [f"- {line}" for line in result.runs]
    return parts + [""]
