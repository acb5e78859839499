#!/usr/bin/env python3
"""`make bench`: phonecloud against an rclone + WebDAV baseline, on this machine, on loopback.

    .venv/bin/python bench/run.py            # full run (20+ minutes), writes bench/RESULTS.md
    .venv/bin/python bench/run.py --quick    # small smoke version of every workload, a few minutes

Corpora are cached in bench/.cache/, servers write to bench/.work/, logs go to bench/.work/logs/.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import shutil
import sys
import time
import traceback
from dataclasses import dataclass
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
CHECKOUT = BENCH_DIR.parent
SOURCE_PHOTOS = CHECKOUT.parent / "shared" / "corpus" / "exif-samples" / "jpg"
CACHE_DIR = BENCH_DIR / ".cache"
WORK_DIR = BENCH_DIR / ".work"
RESULTS_FULL = BENCH_DIR / "RESULTS.md"
# A smoke run must not overwrite the real figures.
RESULTS_QUICK = WORK_DIR / "RESULTS-quick.md"


WORKLOADS = ("ingest", "large", "noop")


@dataclass(frozen=True)
class Scale:
    photos: int
    video_bytes: int
    tree_files: int
    repeats: int
    client_timeout_s: float


FULL = Scale(photos=1000, video_bytes=2 * 1024**3, tree_files=100_000, repeats=3, client_timeout_s=3 * 3600)
QUICK = Scale(photos=30, video_bytes=100 * 1024**2, tree_files=2_000, repeats=2, client_timeout_s=15 * 60)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="small smoke version of every workload")
    parser.add_argument("--transfers", type=int, default=4, help="parallel uploads, same for both sides (4)")
    parser.add_argument("--repeats", type=int, help="timed runs per side (default 3, quick 2)")
    parser.add_argument("--only", default=",".join(WORKLOADS),
                        help=f"comma-separated subset of {', '.join(WORKLOADS)}")
    parser.add_argument("--results", type=Path, help="where to write the Markdown results "
                        f"(default {RESULTS_FULL.relative_to(CHECKOUT)}, quick: {RESULTS_QUICK.relative_to(CHECKOUT)})")
    args = parser.parse_args()
    args.only = [name.strip() for name in args.only.split(",") if name.strip()]
    unknown = set(args.only) - set(WORKLOADS)
    if unknown:
        parser.error(f"unknown workload(s) {', '.join(sorted(unknown))}; choose from {', '.join(WORKLOADS)}")
    return args


def venv_tool(name: str) -> Path | None:
    """A program installed beside this interpreter (the venv's bin), else on PATH."""
    beside = Path(sys.executable).parent / name
    if beside.exists():
        return beside
    found = shutil.which(name)
    return Path(found) if found else None


def find_programs() -> tuple[Path, Path]:
    """The phonecloud and rclone programs, which `make bench` installs (the `bench` extra)."""
    missing = [module for module in ("PIL",) if importlib.util.find_spec(module) is None]
    phonecloud, rclone = venv_tool("phonecloud"), venv_tool("rclone")
    if missing or phonecloud is None or rclone is None:
        sys.exit("the bench needs phonecloud, Pillow and rclone: run `make bench`, which installs "
                 "`.[server,bench]` into .venv")
    return phonecloud, rclone


def main() -> int:
    args = parse_args()
    scale = QUICK if args.quick else FULL
    repeats = args.repeats or scale.repeats
    phonecloud, rclone = find_programs()
    # Only now: the bench modules need the packages installed above.
    import report
    from sides import Tools

    started = time.monotonic()
    # Other processes on this machine skew every figure; the load average shows whether they ran.
    load_at_start = os.getloadavg()[0]
    print(f"phonecloud bench ({'quick' if args.quick else 'full'}): {', '.join(args.only)}; "
          f"transfers {args.transfers}, repeats {repeats}", flush=True)
    corpora = prepare_corpora(args.only, scale)
    corpus_lines = describe_corpora(corpora)
    warm_page_cache(corpora)
    tools = Tools(phonecloud=phonecloud, rclone=rclone, work_dir=WORK_DIR / "servers",
                  log_dir=WORK_DIR / "logs" / time.strftime("%Y%m%d-%H%M%S"), transfers=args.transfers,
                  client_timeout_s=scale.client_timeout_s)
    results = run_workloads(tools, corpora, repeats)

    print()
    print(report.summary_table(results))
    run_info = {
        "date": report.now_utc(),
        "mode": "quick (smoke)" if args.quick else "full",
        "command": " ".join([Path(sys.executable).name, "bench/run.py", *sys.argv[1:]]),
        "transfers (both sides)": str(args.transfers),
        "timed runs per side": f"{repeats} (median reported)",
        "bench duration": f"{(time.monotonic() - started) / 60:.1f} min",
        "load average (1 min) at start / end": f"{load_at_start:.2f} / {os.getloadavg()[0]:.2f} "
                                               "(the bench itself adds up to about 2)",
        "logs": str(tools.log_dir.relative_to(CHECKOUT)),
    }
    results_path = args.results or (RESULTS_QUICK if args.quick else RESULTS_FULL)
    results_path.parent.mkdir(parents=True, exist_ok=True)
    machine = report.machine_info(WORK_DIR, rclone)
    results_path.write_text(report.results_markdown(run_info, machine, corpus_lines, results))
    print(f"\nresults written to {results_path}; logs in {tools.log_dir}")
    return 1 if any(result.error for result in results) else 0


def prepare_corpora(wanted: list[str], scale: Scale) -> dict:
    """The cached (or newly built) input of each wanted workload."""
    import corpus

    builders = {
        "ingest": lambda: corpus.photo_corpus(CACHE_DIR, scale.photos, SOURCE_PHOTOS),
        "large": lambda: corpus.video_corpus(CACHE_DIR, scale.video_bytes),
        "noop": lambda: corpus.tree_corpus(CACHE_DIR, scale.tree_files, SOURCE_PHOTOS),
    }
    print("corpus:", flush=True)
    return {name: builders[name]() for name in wanted}


def warm_page_cache(corpora: dict) -> None:
    """Read every input once, so both sides' first timed run starts from the same warm cache."""
    import corpus

    print("warming the page cache ...", flush=True)
    for each in corpora.values():
        corpus.warm_page_cache(each.path)


def run_workloads(tools, corpora: dict, repeats: int) -> list:
    """Each workload on its corpus; a failure is recorded in its result so the others still run."""
    import workloads
    from sides import PhoneCloud, Rclone

    sides = [PhoneCloud(tools), Rclone(tools)]
    measures = {
        "ingest": lambda photos: workloads.photo_ingest(sides, photos, repeats, tools.transfers),
        "large": lambda video: workloads.large_file(sides, video, repeats),
        "noop": lambda tree: workloads.noop_resync(sides, tree, repeats),
    }
    shutil.rmtree(tools.work_dir, ignore_errors=True)  # server folders a crashed run left behind
    results = []
    try:
        for name, corpus in corpora.items():
            print(f"workload {name}:", flush=True)
            try:
                results.append(measures[name](corpus))
            except Exception as error:  # noqa: BLE001 - reported in the table and RESULTS.md
                print(f"  FAILED: {error}", flush=True)
                results.append(workloads.WorkloadResult(
                    title=name, description="", error="".join(traceback.format_exception_only(error))))
    finally:
        shutil.rmtree(tools.work_dir, ignore_errors=True)
    return results


def describe_corpora(corpora: dict) -> list[str]:
    """One line per corpus for the console and RESULTS.md."""
    import corpus

    lines = []
    if photos := corpora.get("ingest"):
        sizes = [os.stat(path).st_size for path in corpus.iter_files(photos.path)]
        sources = corpus.photo_sources(SOURCE_PHOTOS)
        origin = (f"derived from {len(sources)} real photos in ../shared/corpus/exif-samples/jpg"
                  if sources[0].path else "synthetic scenes (no sample photos found)")
        lines.append(f"photos: {photos.files} JPEGs 4000x3000, {photos.bytes / 1e6:,.0f} MB, "
                     f"{min(sizes) / 1e6:.2f}-{max(sizes) / 1e6:.2f} MB each, EXIF DateTimeOriginal/Make/Model/"
                     f"Orientation, {origin}, each resized and cropped at its own offset with its own noise")
    if video := corpora.get("large"):
        lines.append(f"video-sized file: {video.bytes:,} bytes, ftyp mp42 + mdat header, random payload")
    if tree := corpora.get("noop"):
        lines.append(f"tree: {tree.files:,} distinct {tree.bytes / tree.files:.0f}-byte JPEGs (one tiny real "
                     f"JPEG with a unique COM segment each) in folders of {corpus.FILES_PER_FOLDER:,}")
    for line in lines:
        print("  " + line, flush=True)
    return lines


if __name__ == "__main__":
    sys.exit(main())
