"""Client commands: `phonecloud login` and `phonecloud sync`."""

from __future__ import annotations

import json
import signal
import threading
from pathlib import Path

import typer

from phonecloud.cli.common import fail
from phonecloud.client.config import Connection, MissingConnection, client_dir, resolve_connection, save_login

ServerOption = typer.Option(None, "--server", help="Server URL, e.g. http://nas.local:8000 [env PHONECLOUD_SERVER]")
KeyOption = typer.Option(None, "--key", help="API key from `phonecloud admin create-key` [env PHONECLOUD_KEY]")


def login(server: str = typer.Option(..., "--server", help="Server URL"),
          key: str = typer.Option(..., "--key", prompt=True, hide_input=True, help="API key")) -> None:
    """Check a server URL and API key, and save them for later commands."""
    from phonecloud.client.api import Api, ServerError

    connection = Connection(server.rstrip("/"), key)
    api = Api(connection, retries=1)
    try:
        me = api.me()
    except ServerError as error:
        fail(f"login failed: {error}")
    finally:
        api.close()
    path = save_login(connection)
    typer.echo(f"logged in as {me['email']} on {connection.server}; saved in {path}")


def sync(
    folders: list[Path] = typer.Argument(..., exists=True, file_okay=False, help="Folders to back up"),
    server: str | None = ServerOption,
    key: str | None = KeyOption,
    transfers: int = typer.Option(4, min=1, max=64, help="Files uploaded in parallel"),
    album_from_folder: bool = typer.Option(False, "--album-from-folder", help="Put each file in an album "
                                           "named after its folder"),
    watch: bool = typer.Option(False, "--watch", help="Keep running and upload new files as they appear"),
    quiet: float = typer.Option(2.0, "--quiet", min=0.1, max=3600, metavar="SECONDS",
                                help="With --watch: how long the folders must stay unchanged before a sync "
                                     "(longer for copy tools that write a file in slow steps)"),
    json_output: bool = typer.Option(False, "--json", help="Print a JSON summary as the last line"),
    verbose: bool = typer.Option(False, "--verbose", "-v", help="Name each file skipped, with the reason "
                                 "(failed files are always named)"),
) -> None:
    """Back up every photo and video below FOLDERS; unchanged files are never read again."""
    from phonecloud.client.api import Api, ServerError
    from phonecloud.client.progress import Reporter
    from phonecloud.client.sync.engine import sync_once
    from phonecloud.client.sync.state import SyncState

    try:
        connection = resolve_connection(server, key)
    except MissingConnection as error:
        fail(str(error), 2)
    api = Api(connection, transfers)
    state = SyncState(client_dir() / connection.state_name())
    totals: dict[str, int] = {}

    notices_shown: set[int] = set()  # each notice once, however many runs --watch makes

    def run_once() -> None:
        try:
            with Reporter() as reporter:
                summary = sync_once(api, state, folders, transfers, album_from_folder, reporter, notices_shown,
                                    verbose)
        except ServerError as error:
            if not watch:
                raise
            # A watcher outlives a server restart or a network outage: it tries again at the next change.
            typer.echo(f"error: {error} (trying again at the next change)", err=True)
            totals["failed"] = totals.get("failed", 0) + 1
            return
        result = {k: v for k, v in summary.as_dict().items() if k != "failures"}
        for name, value in result.items():
            totals[name] = totals.get(name, 0) + value
        typer.echo(f"uploaded {result['uploaded']}, duplicates {result['duplicates']}, unchanged "
                   f"{result['unchanged']}, skipped {result['skipped']}, failed {result['failed']}, "
                   f"{result['bytes']} bytes", err=json_output)

    try:
        if watch:
            from phonecloud.client.sync.watch import watch as watch_folders

            stop = threading.Event()

            def request_stop(*_) -> None:
                # An exception raised at a random point could leave a lock held; an event stops cleanly.
                # A second Ctrl-C interrupts at once, as people expect.
                signal.signal(signal.SIGINT, signal.default_int_handler)
                stop.set()

            signal.signal(signal.SIGTERM, request_stop)
            signal.signal(signal.SIGINT, request_stop)
            try:
                watch_folders(folders, run_once, stop, quiet)
            except KeyboardInterrupt:
                pass
        else:
            run_once()
    except ServerError as error:
        fail(str(error))
    finally:
        api.close()
        state.close()
    if json_output:
        typer.echo(json.dumps({name: totals.get(name, 0) for name in
                               ("uploaded", "duplicates", "skipped", "failed", "bytes", "unchanged")}))
    if totals.get("failed"):
        raise typer.Exit(1)
