"""`phonecloud worker`: job workers as a process of their own, for scale-out beside `phonecloud serve`."""

from __future__ import annotations

import signal
import threading

import typer

from phonecloud.cli.common import open_services


def worker(
    threads: int = typer.Option(2, min=1, max=64, help="Jobs run at once by this process"),
    until_idle: bool = typer.Option(False, "--until-idle", help="Exit when no job is ready instead of waiting"),
) -> None:
    """Run background jobs (thumbnails, metadata, ...) from the server's database until stopped."""
    services = open_services()
    pool = services.workers(threads)
    try:
        if until_idle:
            count = pool.run_until_idle()
            typer.echo(f"ran {count} jobs; none is ready now")
            return
        stop = threading.Event()
        signal.signal(signal.SIGTERM, lambda *_: stop.set())
        signal.signal(signal.SIGINT, lambda *_: stop.set())
        pool.start()
        typer.echo(f"worker {pool.name}: {threads} threads; Ctrl-C or SIGTERM to stop")
        stop.wait()
        pool.stop()
    finally:
        services.close()
