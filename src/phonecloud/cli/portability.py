"""Client commands to take everything out: `phonecloud export`, `phonecloud pull` and `phonecloud import-export`
(and `phonecloud import takeout`, the same reader for Google's Takeout).
Same connection options as `phonecloud sync` (--server/--key, PHONECLOUD_SERVER/PHONECLOUD_KEY, saved login)."""

from __future__ import annotations

import enum
import json
from pathlib import Path

import typer

from phonecloud.cli.client import KeyOption, ServerOption
from phonecloud.cli.common import fail, folder_removed_on_failure
from phonecloud.client.config import MissingConnection, resolve_connection

JsonOption = typer.Option(False, "--json", help="Print a JSON summary as the last line")
VerboseOption = typer.Option(False, "--verbose", "-v", help="Name each file or part not fetched, with the reason "
                             "(failed ones are always named)")
TransfersOption = typer.Option(4, min=1, max=64, help="Files transferred in parallel")


class Layout(str, enum.Enum):
    years = "years"
    albums = "albums"


def _api(server: str | None, key: str | None, transfers: int = 4):
    from phonecloud.client.api import Api

    try:
        connection = resolve_connection(server, key)
    except MissingConnection as error:
        fail(str(error), 2)
    return Api(connection, transfers)


def _run(api, label: str, work, errors: tuple[type[Exception], ...]) -> dict:
    """work(reporter)'s summary as a dict, with a progress display; a refusal ends the command with its reason."""
    from phonecloud.client.errors import ServerError
    from phonecloud.client.progress import TransferReporter

    try:
        with TransferReporter(label=label) as reporter:
            return work(reporter).as_dict()
    except (ServerError, *errors) as error:
        fail(str(error))
    finally:
        api.close()


def _report(line: str, summary: dict, json_output: bool) -> None:
    """The summary line (on stderr with --json), each failure, then the JSON; exit 1 if anything failed."""
    typer.echo(line, err=json_output)
    for failure in summary.get("failures", []):
        typer.echo(f"  {failure['path']}: {failure['reason']}", err=True)
    if json_output:
        typer.echo(json.dumps({key: value for key, value in summary.items() if key != "failures"}))
    if summary.get("failed"):
        raise typer.Exit(1)


def export(
    out: Path = typer.Option(..., "--out", file_okay=False, help="Folder for the zip parts (made if missing)"),
    server: str | None = ServerOption,
    key: str | None = KeyOption,
    new: bool = typer.Option(False, "--new", help="Ask for a new export even if OUT holds one to resume"),
    json_output: bool = JsonOption,
    verbose: bool = VerboseOption,
) -> None:
    """Download an export of the whole library as zip parts (Google Takeout's layout) into OUT, resuming
    what an earlier run left there, and verify every part against the export's manifest."""
    from phonecloud.client.export import STATE_FILE, ExportFailed, run_export

    api = _api(server, key)
    with folder_removed_on_failure(out, own=[STATE_FILE]):
        summary = _run(api, "exporting", lambda reporter: run_export(api, out, new, reporter, verbose),
                       (ExportFailed,))
        _report(f"export {summary['export_id']}: {summary['verified_parts']} of {summary['parts']} parts verified "
                f"in {out}, {summary['downloaded_bytes']} bytes downloaded", summary, json_output)


def pull(
    folder: Path = typer.Argument(..., file_okay=False, help="The mirror's folder (made if missing)"),
    server: str | None = ServerOption,
    key: str | None = KeyOption,
    layout: Layout = typer.Option(Layout.years, "--layout", help="years: a folder per year; albums: a folder "
                                  "per album, and year folders for what is in no album"),
    transfers: int = TransfersOption,
    delete: bool = typer.Option(False, "--delete", help="Remove files of earlier pulls that are no longer in "
                                "the library (only those still as the pull wrote them)"),
    fsync: bool = typer.Option(False, "--fsync", help="Wait for the disk before recording each file (slower). "
                               "Without it files are written as rsync and rclone write them, and after a "
                               "restart the next pull checks the files written before it"),
    json_output: bool = JsonOption,
    verbose: bool = VerboseOption,
) -> None:
    """Mirror the library into FOLDER: originals with their capture times as modification times, and a
    Takeout sidecar beside each. A second run fetches only what changed."""
    from phonecloud.client.pull.mirror import pull as run_pull
    from phonecloud.client.pull.state import STATE_FILE

    api = _api(server, key, transfers)
    with folder_removed_on_failure(folder, own=[STATE_FILE]):
        summary = _run(api, "pulling", lambda reporter: run_pull(api, folder, layout.value, transfers, delete,
                                                                  reporter, fsync, verbose), ())
        repaired = f", damaged by a restart and fetched again {summary['repaired']}" if summary["repaired"] else ""
        _report(f"fetched {summary['fetched']} ({summary['fetched_bytes']} bytes), linked {summary['linked']}, "
                f"unchanged {summary['unchanged']}, sidecars written {summary['sidecars']}, no longer in the "
                f"library {summary['stale']} (deleted {summary['deleted']}){repaired}, failed {summary['failed']}",
                summary, json_output)


def import_export(
    sources: list[Path] = typer.Argument(..., exists=True, help="Zip parts, folders of zip parts, or an "
                                         "unzipped export"),
    server: str | None = ServerOption,
    key: str | None = KeyOption,
    transfers: int = TransfersOption,
    json_output: bool = JsonOption,
) -> None:
    """Import a phonecloud export (or a Google Takeout of Google Photos) into the server: originals, capture
    times, albums, favourites and the trash, the messages and calls of its Messages folder and the contacts of
    its Contacts folder. Safe to run again: nothing is imported twice."""
    from phonecloud.portability.archive import UnsafeArchive
    from phonecloud.client.importer import import_export as run_import

    api = _api(server, key, transfers)
    connection = resolve_connection(server, key)
    summary = _run(api, "importing", lambda reporter: run_import(api, connection, sources, transfers, reporter),
                   (UnsafeArchive,))
    _report(f"uploaded {summary['uploaded']} ({summary['bytes']} bytes), already there {summary['duplicates']}, "
            f"with their sidecar {summary['matched']}, albums {summary['albums']}, favourites "
            f"{summary['favorites']}, described {summary['described']}, trashed {summary['trashed']}, messages "
            f"{summary['messages']} (already there "
            f"{summary['message_duplicates']}), calls {summary['calls']} (already there {summary['call_duplicates']}), "
            f"contacts {summary['contacts']} (already there {summary['contact_duplicates']}), skipped "
            f"{summary['skipped']}, failed {summary['failed']}",
            summary, json_output)


import_app = typer.Typer(help="Bring a library from elsewhere into the server.", no_args_is_help=True)


@import_app.command("takeout")
def import_takeout(
    sources: list[Path] = typer.Argument(..., exists=True, help="A Google Takeout's zip parts (every part: albums "
                                         "repeat files of other parts), folders of them, or the unzipped folder"),
    server: str | None = ServerOption,
    key: str | None = KeyOption,
    transfers: int = TransfersOption,
    json_output: bool = JsonOption,
) -> None:
    """Import a Google Takeout of Google Photos: each photo and video once, with the capture time, title and
    favourite of its JSON sidecar (clipped, counted and edited names matched), its albums and its trash; read
    from the zip parts in place. Safe to run again: nothing is imported twice."""
    import_export(sources, server, key, transfers, json_output)
