"""`--watch`: after the first run, sync again whenever the folders have been quiet for a moment."""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path

from watchdog.events import FileSystemEvent, FileSystemEventHandler
from watchdog.observers import Observer

class _Changed(FileSystemEventHandler):
    def __init__(self, wake: threading.Event):
        self._wake = wake

    def on_any_event(self, event: FileSystemEvent) -> None:
        if event.event_type in ("created", "modified", "moved", "closed"):
            self._wake.set()


def watch(roots: list[Path], run: Callable[[], None], stop: threading.Event, quiet_seconds: float) -> None:
    """run() now, then after each change once nothing has changed for quiet_seconds (phones and copy tools
    write a file in several steps: reading it in between would upload half a photo)."""
    wake = threading.Event()
    observer = Observer()
    for root in roots:
        observer.schedule(_Changed(wake), str(root), recursive=True)
    observer.start()
    try:
        run()
        while not stop.is_set():
            if not wake.wait(timeout=0.5):
                continue
            while wake.is_set() and not stop.is_set():  # wait until nothing has changed for a while
                wake.clear()
                stop.wait(quiet_seconds)
            if not stop.is_set():
                run()
    finally:
        observer.stop()
        observer.join()
