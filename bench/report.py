"""Describing the machine, and rendering results as one Markdown table for terminal and RESULTS.md."""

from __future__ import annotations

import os
import platform
import shutil
import subprocess
import time
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
- Times are wall-clock seconds of the client command, process start-up included on both sides.
  MB = 10^6 bytes; MiB = 2^20 bytes.
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
    lines = ["| workload | metric | unit | phonecloud | rclone | ratio | ratio is |",
             "| --- | --- | --- | ---: | ---: | ---: | --- |"]
    for result in results:
        if result.error:
            lines.append(f"| {result.title} | FAILED | | | | | see below |")
        for row in result.rows:
            ratio = f"**{_number(row.ratio)}**" if row.ratio is not None else "—"
            lines.append(f"| {result.title} | {row.metric} | {row.unit} | {_number(row.phonecloud)} | "
                         f"{_number(row.rclone)} | {ratio} | {row.ratio_meaning} |")
    return "\n".join(lines)


def results_markdown(run: dict[str, str], machine: dict[str, str], corpus: list[str],
                     results: list[WorkloadResult]) -> str:
    parts = ["# phonecloud benchmark results", "",
             "Written by `bench/run.py` (`make bench`); rerun it to refresh. "
             "Ratios above 1 mean phonecloud did better than the rclone baseline.", "",
             "## Run", ""]
    parts += [f"- {key}: {value}" for key, value in run.items()]
    parts += ["", "## Machine", ""]
    parts += [f"- {key}: `{value}`" for key, value in machine.items()]
    parts += ["", "## Summary", "", summary_table(results), "", "## Corpus", ""]
    parts += [f"- {line}" for line in corpus]
    parts += ["", "## Workloads", ""]
    for result in results:
        parts += [f"### {result.title}", "", result.description, ""]
        if result.error:
            parts += ["**Failed:**", "", "```", result.error.strip(), "```", ""]
        parts += [f"- {line}" for line in result.runs]
        parts.append("")
    parts += ["## Caveats", "", CAVEATS]
    return "\n".join(parts)
