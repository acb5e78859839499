#!/usr/bin/env python3
"""`make bench`: phonecloud against baselines (rclone + WebDAV, vipsthumbnail, itself without job workers),
on this machine, on loopback.

    .venv/bin/python bench/run.py            # full run (about an hour), writes bench/RESULTS.md
    .venv/bin/python bench/run.py --quick    # small smoke version of every workload, a few minutes
    .venv/bin/python bench/run.py --only thumbs,pipeline   # refresh some workloads, keep the others' figures

Corpora are cached in bench/.cache/, servers write to bench/.work/, logs go to bench/.work/logs/. Results
are kept per workload in RESULTS.json beside RESULTS.md, which is rendered from it.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
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


WORKLOADS = ("ingest", "large", "noop", "thumbs", "pipeline", "tus", "export", "pull", "scale", "web", "messages",
             "contacts", "takeout", "migrate")
CORPUS_OF = {"ingest": "photos", "large": "video", "noop": "tree", "thumbs": "photos", "pipeline": "photos",
             "tus": "video", "export": "library", "pull": "photos", "scale": "photos", "web": "timeline",
             "messages": "messages", "contacts": "contacts", "takeout": "takeout", "migrate": "photos"}


@dataclass(frozen=True)
class Scale:
    photos: int
    video_bytes: int
    tree_files: int
    repeats: int
    client_timeout_s: float
    library_bytes: int = 10 * 10**9  # the export workload's library: the photos and video-sized files
    timeline_assets: int = 100_000  # the web workload's library, as rows
    messages_bytes: int = 10**9  # the messages workload's SMS Backup & Restore file
    contacts: int = 10_000  # the contacts workload's address book (BENCH_CONTACTS=N overrides it)


FULL = Scale(photos=1000, video_bytes=2 * 1024**3, tree_files=100_000, repeats=3, client_timeout_s=3 * 3600)
QUICK = Scale(photos=30, video_bytes=100 * 1024**2, tree_files=2_000, repeats=2, client_timeout_s=15 * 60,
              library_bytes=300 * 10**6, timeline_assets=2_000,
              messages_bytes=50 * 10**6, contacts=500)


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


def find_programs() -> tuple[Path, Path, Path | None]:
    """The phonecloud and rclone programs, which `make bench` installs (the `bench` extra), and
    vipsthumbnail (Debian's libvips-tools, which `make bench` installs too); only thumbs needs that one."""
    missing = [module for module in ("PIL",) if importlib.util.find_spec(module) is None]
    phonecloud, rclone = venv_tool("phonecloud"), venv_tool("rclone")
    if missing or phonecloud is None or rclone is None:
        sys.exit("the bench needs phonecloud, Pillow and rclone: run `make bench`, which installs "
                 "`.[server,bench]` into .venv")
    return phonecloud, rclone, venv_tool("vipsthumbnail")


def main() -> int:
    args = parse_args()
    scale = QUICK if args.quick else FULL
    repeats = args.repeats or scale.repeats
    phonecloud, rclone, vipsthumbnail = find_programs()
    # Only now: the bench modules need the packages installed above.
    import report
    from sides import Tools

    started = time.monotonic()
    # Other processes on this machine skew every figure; the load average shows whether they ran.
    load_at_start = os.getloadavg()[0]
    source = report.source_state(CHECKOUT)  # before: another checkout user may commit during the run
    print(f"phonecloud bench ({'quick' if args.quick else 'full'}): {', '.join(args.only)}; "
          f"transfers {args.transfers}, repeats {repeats}", flush=True)
    corpora = prepare_corpora(args.only, scale)
    corpus_lines = describe_corpora(corpora)
    warm_page_cache(corpora)
    tools = Tools(phonecloud=phonecloud, rclone=rclone, vipsthumbnail=vipsthumbnail,
                  work_dir=WORK_DIR / "servers", log_dir=WORK_DIR / "logs" / time.strftime("%Y%m%d-%H%M%S"),
                  transfers=args.transfers, client_timeout_s=scale.client_timeout_s)
    results = run_workloads(tools, args.only, corpora, repeats)

    print()
    print(report.summary_table(list(results.values())))
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
        "phonecloud source": source,
    }
    results_path = args.results or (RESULTS_QUICK if args.quick else RESULTS_FULL)
    write_results(results_path, tools.log_dir.name, run_info, report.machine_info(WORK_DIR, rclone),
                  corpus_lines, results)
    print(f"\nresults written to {results_path}; logs in {tools.log_dir}")
    return 1 if any(result.error for result in results.values()) else 0


def write_results(path: Path, run_id: str, run_info: dict, machine: dict, corpus_lines: dict, results: dict) -> None:
    """Merge this run's workloads into the JSON beside `path` (others keep their figures), render `path`."""
    import report

    store_path = path.with_suffix(".json")
    store = report.merge(report.load_store(store_path), run_id, run_info, machine, corpus_lines, results)
    path.parent.mkdir(parents=True, exist_ok=True)
    store_path.write_text(json.dumps(store, indent=1, ensure_ascii=False) + "\n")
    path.write_text(report.results_markdown(store, list(WORKLOADS)))


def prepare_corpora(wanted: list[str], scale: Scale) -> dict:
    """The cached (or newly built) input of each wanted kind of corpus: {"photos": Corpus, ...}."""
    import contacts
    import corpus
    import export
    import messages
    import takeout
    import web_timeline

    builders = {
        "photos": lambda: corpus.photo_corpus(CACHE_DIR, scale.photos, SOURCE_PHOTOS),
        "takeout": lambda: takeout.takeout_corpus(CACHE_DIR, corpus.photo_corpus(CACHE_DIR, scale.photos,
                                                                                  SOURCE_PHOTOS)),
        "library": lambda: export.library_corpus(CACHE_DIR, scale.photos, scale.library_bytes, SOURCE_PHOTOS),
        "video": lambda: corpus.video_corpus(CACHE_DIR, scale.video_bytes),
        "tree": lambda: corpus.tree_corpus(CACHE_DIR, scale.tree_files, SOURCE_PHOTOS),
        "timeline": lambda: web_timeline.library_corpus(CACHE_DIR, scale.timeline_assets),
        "messages": lambda: messages.messages_corpus(CACHE_DIR, scale.messages_bytes, SOURCE_PHOTOS),
        "contacts": lambda: contacts.contacts_corpus(CACHE_DIR, contacts.contacts_count(scale.contacts),
                                                     SOURCE_PHOTOS),
    }
    print("corpus:", flush=True)
    kinds = dict.fromkeys(CORPUS_OF[name] for name in wanted)
    return {kind: builders[kind]() for kind in kinds}


def warm_page_cache(corpora: dict) -> None:
    """Read every input once, so both sides' first timed run starts from the same warm cache."""
    import corpus

    print("warming the page cache ...", flush=True)
    for each in corpora.values():
        corpus.warm_page_cache(each.path)


def run_workloads(tools, wanted: list[str], corpora: dict, repeats: int) -> dict:
    """{name: WorkloadResult} of each workload on its corpus; a failure is recorded in its result so the
    others still run."""
    import contacts
    import export
    import messages
    import migrate
    import pipeline
    import scale
    import takeout
    import thumbs
    import tus
    import web_timeline
    import workloads
    from sides import PhoneCloud, Rclone

    # These compare the transfer path with rclone's; the pipeline workload measures derivatives on top.
    sides = [PhoneCloud(tools, PHONECLOUD_EMBEDDED_WORKERS="0"), Rclone(tools)]
    measures = {
        "ingest": lambda photos: workloads.photo_ingest(sides, photos, repeats, tools.transfers),
        "large": lambda video: workloads.large_file(sides, video, repeats),
        "noop": lambda tree: workloads.noop_resync(sides, tree, repeats),
        "thumbs": lambda photos: thumbs.thumbnails(tools, photos, repeats),
        "pipeline": lambda photos: pipeline.pipeline(tools, photos, repeats),
        "tus": lambda video: tus.tus_upload(tools, video, repeats, CACHE_DIR),
        "export": lambda library: export.export_throughput(tools, library, repeats),
        "pull": lambda photos: export.pull_mirror(tools, photos, repeats),
        "scale": lambda photos: scale.scale_out(tools, photos, repeats),
        "web": lambda timeline: web_timeline.first_screen(tools, timeline, repeats),
        "messages": lambda file: messages.messages_import(tools, file, repeats),
        "contacts": lambda vdir: contacts.contacts_sync(tools, vdir, repeats),
        "takeout": lambda parts: takeout.takeout_import(tools, parts, repeats),
        "migrate": lambda photos: migrate.migration(tools, photos, repeats),
    }
    shutil.rmtree(tools.work_dir, ignore_errors=True)  # server folders a crashed run left behind
    results = {}
    try:
        for name in wanted:
            print(f"workload {name}:", flush=True)
            try:
                results[name] = measures[name](corpora[CORPUS_OF[name]])
            except Exception as error:  # noqa: BLE001 - reported in the table and RESULTS.md
                print(f"  FAILED: {error}", flush=True)
                results[name] = workloads.WorkloadResult(
                    title=name, description="", error="".join(traceback.format_exception_only(error)))
    finally:
        shutil.rmtree(tools.work_dir, ignore_errors=True)
    return results


def describe_corpora(corpora: dict) -> dict[str, str]:
    """One line per kind of corpus for the console and RESULTS.md."""
    import corpus

    lines = {}
    if photos := corpora.get("photos"):
        sizes = [os.stat(path).st_size for path in corpus.iter_files(photos.path)]
        sources = corpus.photo_sources(SOURCE_PHOTOS)
        origin = (f"derived from {len(sources)} real photos in ../shared/corpus/exif-samples/jpg"
                  if sources[0].path else "synthetic scenes (no sample photos found)")
        lines["photos"] = (f"photos: {photos.files} JPEGs 4000x3000, {photos.bytes / 1e6:,.0f} MB, "
                            f"{min(sizes) / 1e6:.2f}-{max(sizes) / 1e6:.2f} MB each, EXIF DateTimeOriginal/Make/"
                            f"Model/Orientation, {origin}, each resized and cropped at its own offset with its own "
                            "noise")
    if video := corpora.get("video"):
        lines["video"] = f"video-sized file: {video.bytes:,} bytes, ftyp mp42 + mdat header, random payload"
    if tree := corpora.get("tree"):
        lines["tree"] = (f"tree: {tree.files:,} distinct {tree.bytes / tree.files:.0f}-byte JPEGs (one tiny real "
                         f"JPEG with a unique COM segment each) in folders of {corpus.FILES_PER_FOLDER:,}")
    if library := corpora.get("library"):
        import export

        lines["library"] = export.describe_library(library)
    if timeline := corpora.get("timeline"):
        import web_timeline

        lines["timeline"] = web_timeline.describe_library(timeline)
    if file := corpora.get("messages"):
        import messages

        lines["messages"] = messages.describe_messages(file)
    if parts := corpora.get("takeout"):
        import takeout

        lines["takeout"] = takeout.describe_takeout(parts)
    if vdir := corpora.get("contacts"):
        import contacts

        lines["contacts"] = contacts.describe_contacts(vdir)
    for line in lines.values():
        print("  " + line, flush=True)
    return lines


if __name__ == "__main__":
    sys.exit(main())
