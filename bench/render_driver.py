#!/usr/bin/env python3
"""Renders files through one phonecloud RenderSandbox, as a server's job worker does: for bench/thumbs.py and
bench/pipeline.py (the renderer's floor).

    python bench/render_driver.py LIST_FILE OUT_DIR [DERIVATIVES]

LIST_FILE names one photo per line. DERIVATIVES is thumbnail, preview or thumbnail,preview (the default): each
file gets OUT_DIR/<stem>.thumb.webp and/or OUT_DIR/<stem>.preview.jpg, each from a render of its own, as the
server makes them. Run it pinned to a core (taskset): the sandbox's child inherits the affinity. The sandbox
is started by rendering the first file once before the clock starts, since a server's renderer is
long-lived; then every file is rendered and written inside the timed loop. The last line of stdout is a JSON
summary: images, seconds, and the renderer child's pid and peak RSS (VmHWM, KiB), read before it is closed.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

from phonecloud.media.derivatives import PREVIEW, THUMBNAIL
from phonecloud.media.sandbox import RenderSandbox
from phonecloud.media.sniff import SNIFF_BYTES, sniff

OUTPUT_NAMES = {THUMBNAIL: "{}.thumb.webp", PREVIEW: "{}.preview.jpg"}


def media_type(path: str):
    with open(path, "rb") as handle:
        found = sniff(handle.read(SNIFF_BYTES))
    if found is None:
        sys.exit(f"not a photo or video: {path}")
    return found


def status_kib(pid: int, field: str) -> int:
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return 0


def render_all(sandbox: RenderSandbox, jobs: list[tuple[str, object]], out_dir: Path, made: list[str]) -> float:
    """Seconds to render and write every derivative of every file."""
    started = time.perf_counter()
    for path, media in jobs:
        stem = Path(path).stem
        for derivative in made:
            (out_dir / OUTPUT_NAMES[derivative].format(stem)).write_bytes(sandbox.render(path, media, derivative).image)
    return time.perf_counter() - started


def main(list_file: str, out_dir: str, derivatives: str = f"{THUMBNAIL},{PREVIEW}") -> int:
    made = derivatives.split(",")
    if not made or set(made) - set(OUTPUT_NAMES):
        sys.exit(f"derivatives: {THUMBNAIL}, {PREVIEW} or both, not {derivatives!r}")
    paths = Path(list_file).read_text().split("\n")
    jobs = [(path, media_type(path)) for path in paths if path]
    with RenderSandbox() as sandbox:  # the server's settings: one decoder thread, 1 GiB, 60 s
        sandbox.render(*jobs[0], made[0])  # starts the long-lived child
        seconds = render_all(sandbox, jobs, Path(out_dir), made)
        pid = sandbox.pid
        summary = {"images": len(jobs), "seconds": seconds, "renderer_pid": pid,
                   "renderer_hwm_kib": status_kib(pid, "VmHWM")}
    print(json.dumps(summary))
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:]))
