"""Thumbnail throughput per core: phonecloud's renderer against the `vipsthumbnail` CLI, same files, same run.

Both sides are pinned to one core (taskset) with one decoder thread, write the same two sizes for every
photo into a fresh folder, and have their outputs checked afterwards: a WebP whose short side is 250 px and
a JPEG whose long side is 1440 px, both upright.
"""

from __future__ import annotations

import json
import os
import statistics
import sys
from dataclasses import dataclass
from pathlib import Path

from PIL import Image

from corpus import Corpus, iter_files
from phonecloud.media.derivatives import (
    PREVIEW_LONG_SIDE,
    PREVIEW_QUALITY,
    THUMBNAIL_QUALITY,
    THUMBNAIL_SHORT_SIDE,
)
from servers import BenchError, clean_env, run_client
from sides import Tools, fresh_dir
from workloads import MIB_PER_KIB, Row, WorkloadResult, alternating

CORE = "0"
DRIVER = Path(__file__).resolve().parent / "render_driver.py"
TAG_ORIENTATION = 0x0112
QUARTER_TURNS = (5, 6, 7, 8)  # EXIF orientations that swap width and height
THUMB_NAME, PREVIEW_NAME = "{}.thumb.webp", "{}.preview.jpg"  # from the input's stem, on both sides
SIDES = ("phonecloud", "vipsthumbnail")


@dataclass(frozen=True)
class Timed:
    seconds: float
    peak_kib: int  # phonecloud: the renderer child's VmHWM; vipsthumbnail: its RSS sampled every 50 ms
    detail: str
    load_before: float


def pinned(command: list) -> list[str]:
    """`command` on one core; children it starts inherit the affinity."""
    return ["taskset", "-c", CORE, *map(str, command)]


def upright_sizes(files: list[str]) -> dict[str, tuple[int, int]]:
    """Each file's (width, height) as displayed, after its EXIF orientation."""
    sizes = {}
    for path in files:
        with Image.open(path) as image:
            width, height = image.size
            turned = image.getexif().get(TAG_ORIENTATION) in QUARTER_TURNS
        sizes[path] = (height, width) if turned else (width, height)
    return sizes


# --- the two sides -------------------------------------------------------------------------


def run_phonecloud(tools: Tools, list_file: Path, out_dir: Path, log: Path) -> Timed:
    load = os.getloadavg()[0]
    run = run_client(pinned([sys.executable, DRIVER, list_file, out_dir]), clean_env(),
                     tools.client_timeout_s, log)
    summary = json.loads(run.stdout.strip().splitlines()[-1])
    return Timed(summary["seconds"], summary["renderer_hwm_kib"],
                 f"renderer child VmHWM {summary['renderer_hwm_kib'] * MIB_PER_KIB:.0f} MiB", load)


def vipsthumbnail_calls(sizes: dict[str, tuple[int, int]]) -> list[tuple[str, list[str], str]]:
    """(--size, files, --output) per call, making what phonecloud makes.

    vipsthumbnail makes one size per call and its box fits the LONG side, so a short side of 250 px is a
    box of unlimited width for upright-landscape files (`x250`) and of unlimited height for portrait ones
    (`250x`): each group gets its own call.
    """
    landscape = [path for path, (width, height) in sizes.items() if width >= height]
    portrait = [path for path, (width, height) in sizes.items() if width < height]
    thumb = f"{THUMB_NAME.format('%s')}[Q={THUMBNAIL_QUALITY},strip]"
    preview = f"{PREVIEW_NAME.format('%s')}[Q={PREVIEW_QUALITY},strip]"
    calls = [(f"x{THUMBNAIL_SHORT_SIDE}", landscape, thumb), (f"{THUMBNAIL_SHORT_SIDE}x", portrait, thumb),
             (f"{PREVIEW_LONG_SIDE}x{PREVIEW_LONG_SIDE}", list(sizes), preview)]
    return [call for call in calls if call[1]]


def run_vipsthumbnail(tools: Tools, calls: list, out_dir: Path, log: Path) -> Timed:
    load = os.getloadavg()[0]
    seconds, peak, parts = 0.0, 0, []
    for size, files, output in calls:
        command = pinned([tools.vipsthumbnail, "--vips-concurrency=1", "--size", size,
                          "--output", f"{out_dir}/{output}", *files])
        run = run_client(command, clean_env(), tools.client_timeout_s, log)
        seconds += run.seconds
        peak = max(peak, run.peak_rss_kib)
        parts.append(f"--size {size}: {len(files)} files in {run.seconds:.2f} s")
    return Timed(seconds, peak, "; ".join(parts) + f"; peak RSS {peak * MIB_PER_KIB:.0f} MiB", load)


# --- checks --------------------------------------------------------------------------------


def check_derivatives(out_dir: Path, sizes: dict[str, tuple[int, int]]) -> None:
    """Every input has an upright WebP thumbnail of short side 250 and JPEG preview of long side 1440."""
    problems = [problem for path, upright in sizes.items() for problem in _derivative_problems(out_dir, path, upright)]
    if problems:
        raise BenchError(f"{len(problems)} wrong or missing derivatives in {out_dir}, e.g. {problems[:3]}")


def _derivative_problems(out_dir: Path, path: str, upright: tuple[int, int]) -> list[str]:
    stem = Path(path).stem
    expected = [(THUMB_NAME.format(stem), "WEBP", min, THUMBNAIL_SHORT_SIDE),
                (PREVIEW_NAME.format(stem), "JPEG", max, PREVIEW_LONG_SIDE)]
    problems = []
    for name, image_format, side, pixels in expected:
        try:
            with Image.open(out_dir / name) as image:
                found = (image.format, image.size)
        except OSError as error:
            problems.append(f"{name}: {error}")
            continue
        upright_landscape = upright[0] >= upright[1]
        if found[0] != image_format or side(found[1]) != pixels or (found[1][0] >= found[1][1]) != upright_landscape:
            problems.append(f"{name}: {found[0]} {found[1]}, expected {image_format} with "
                            f"{side.__name__} side {pixels} for an upright {upright}")
    return problems


# --- the workload --------------------------------------------------------------------------


def thumbnails(tools: Tools, photos: Corpus, repeats: int) -> WorkloadResult:
    if tools.vipsthumbnail is None:
        raise BenchError("vipsthumbnail not found: `make bench` installs it (Debian package libvips-tools)")
    files = sorted(iter_files(photos.path))
    sizes = upright_sizes(files)
    work = fresh_dir(tools.work_dir / "thumbs")
    list_file = work / "files.txt"
    list_file.write_text("\n".join(files) + "\n")
    calls = vipsthumbnail_calls(sizes)
    runners = {
        "phonecloud": lambda out, log: run_phonecloud(tools, list_file, out, log),
        "vipsthumbnail": lambda out, log: run_vipsthumbnail(tools, calls, out, log),
    }
    results: dict[str, list[Timed]] = {name: [] for name in SIDES}
    for run, name in alternating(list(SIDES), repeats):
        out = fresh_dir(work / name)
        timed = runners[name](out, tools.log_dir / f"thumbs-{name}-{run + 1}.log")
        check_derivatives(out, sizes)
        results[name].append(timed)
        print(f"    thumbs run {run + 1}/{repeats} {name}: {len(files) / timed.seconds:.2f} images/s", flush=True)
    return _result(tools, photos, repeats, calls, results)


def _result(tools: Tools, photos: Corpus, repeats: int, calls: list, results: dict[str, list[Timed]]) -> WorkloadResult:
    sizes = ", ".join(f"`--size {size}` ({len(files)} files)" for size, files, _ in calls)
    result = WorkloadResult(
        "Thumbnails per core",
        f"Makes both derivatives of each of the {photos.files} cached 12-megapixel photos (a WebP thumbnail, "
        f"{THUMBNAIL_SHORT_SIDE} px on the short side, Q={THUMBNAIL_QUALITY}, and a JPEG preview, "
        f"{PREVIEW_LONG_SIDE} px on the long side, Q={PREVIEW_QUALITY}, upright, metadata stripped), each side "
        f"pinned to one core (`taskset -c {CORE}`) with one decoder thread, writing into a fresh folder. "
        f"phonecloud: a driver (bench/render_driver.py) renders every file through one `RenderSandbox` (the "
        f"server's renderer, pyvips-binary's libvips {_pyvips_version()}) and writes the two outputs; the "
        "sandbox is started before the clock and its child inherits the pinning. Baseline: Debian's "
        f"`vipsthumbnail` ({_vipsthumbnail_version(tools)}, older than phonecloud's), which makes one size per "
        f"call and so decodes every file twice (both times with JPEG shrink-on-load): {sizes}, "
        "`--vips-concurrency=1`; its short-side-250 thumbnail is `x250` for upright-landscape files and `250x` "
        "for portrait ones (a `250x250` box fits the long side, `--smartcrop` would crop to squares). "
        "phonecloud, as its server does, decodes each file twice too (the media job makes the thumbnail alone, "
        "the preview comes later): the thumbnail straight from the file at libjpeg's 1/8 scale, the preview at "
        "libvips' own choice; part of the ratio is that, part the newer libvips. Every output of both sides is "
        "checked (format, size, upright). "
        "Times: the render loop for phonecloud; the vipsthumbnail calls' wall time (process start-up "
        f"included, a few ms per call). Median of {repeats} runs; target ratio ≥ 1.",
        baseline="vipsthumbnail",
    )
    rate = {name: photos.files / statistics.median(t.seconds for t in runs) for name, runs in results.items()}
    result.rows.append(Row("images/s on one core (both sizes)", "images/s", rate["phonecloud"], rate["vipsthumbnail"],
                           rate["phonecloud"] / rate["vipsthumbnail"], "phonecloud/vipsthumbnail images/s"))
    peak = {name: max(t.peak_kib for t in runs) * MIB_PER_KIB for name, runs in results.items()}
    result.rows.append(Row("peak RSS: renderer child VmHWM / vipsthumbnail sampled", "MiB",
                           peak["phonecloud"], peak["vipsthumbnail"]))
    result.runs = [f"{name} run {i + 1}: {t.seconds:.2f} s = {photos.files / t.seconds:.2f} images/s; {t.detail}; "
                   f"load before {t.load_before:.2f}" for name, runs in results.items() for i, t in enumerate(runs)]
    return result


def _pyvips_version() -> str:
    import pyvips

    return ".".join(str(pyvips.version(part)) for part in range(3))


def _vipsthumbnail_version(tools: Tools) -> str:
    run = run_client([str(tools.vipsthumbnail), "--vips-version"], clean_env(), 60,
                     tools.log_dir / "thumbs-version.log")
    return run.stdout.strip() or "libvips ?"
