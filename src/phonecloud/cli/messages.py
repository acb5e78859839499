"""`phonecloud messages import FILE...` and `phonecloud messages export --format F --out DIR`: phone backups of
messages and calls (SMS Backup & Restore, SMS Import / Export) pushed to the server, and given back in
either app's format for a phone to restore. Same connection options as `phonecloud sync`."""

from __future__ import annotations

import enum
import hashlib
import json
from pathlib import Path

import typer

from phonecloud.cli.client import KeyOption, ServerOption
from phonecloud.cli.common import fail, folder_removed_on_failure
from phonecloud.cli.portability import JsonOption, _api
from phonecloud.client.config import resolve_connection

app = typer.Typer(help="Messages and calls: import a phone's backups, export them for a phone to restore.",
                  no_args_is_help=True)
_READ_CHUNK = 1 << 20


class BackupFormat(str, enum.Enum):
    sms_backup_restore = "sms-backup-restore"
    sms_ie = "sms-ie"


# What each format's export is made of: (what it holds, the route's file name).
_EXPORT_FILES = {BackupFormat.sms_backup_restore: (("messages", "messages.xml"), ("calls", "calls.xml")),
                 BackupFormat.sms_ie: (("messages", "messages.zip"), ("calls", "calls.json"))}


@app.command("import")
def import_backups(
    files: list[Path] = typer.Argument(..., exists=True, dir_okay=False, readable=True,
                                       help="Backup files: sms-*.xml and calls-*.xml (SMS Backup & Restore), "
                                            "messages-*.zip and calls-*.json (SMS Import / Export)"),
    server: str | None = ServerOption,
    key: str | None = KeyOption,
    json_output: bool = JsonOption,
) -> None:
    """Upload each backup file (resumably), wait for the server to import it, and say what was imported,
    what was already there and what was skipped. Exits 1 when a file could not be read to its end."""
    from phonecloud.client.errors import ServerError
    from phonecloud.client.messages import backup_state
    from phonecloud.client.sync.scan import FileChanged

    api = _api(server, key)
    state = backup_state(resolve_connection(server, key))
    results = []
    try:
        for path in files:
            try:
                result = _import_one(api, state, path, json_output)
            except (ServerError, FileChanged, OSError) as error:
                result = {"file": path.name, "imported": 0, "duplicates": 0, "skipped": 0, "attachments": 0,
                          "skipped_reasons": {}, "error": str(error)}
            results.append(result)
            _say(result, json_output)
    finally:
        api.close()
        state.close()
    if json_output:
        for result in results:
            typer.echo(json.dumps(result, ensure_ascii=False))
    if any(result["error"] for result in results):
        raise typer.Exit(1)


def _import_one(api, state, path: Path, quiet: bool) -> dict:
    from phonecloud.client.messages import push_backup, stopped
    from phonecloud.client.sync.resumable import file_source
    from phonecloud.client.sync.scan import FoundFile

    status = path.stat()
    sha1 = hashlib.sha1()
    with open(path, "rb") as file:
        while chunk := file.read(_READ_CHUNK):
            sha1.update(chunk)
    found = FoundFile(str(path.resolve()), status.st_size, status.st_mtime_ns)
    imported = push_backup(api, state, file_source(found), sha1.hexdigest(), lambda line: typer.echo(line, err=True))
    return {"file": path.name, "imported": imported["imported"], "duplicates": imported["duplicates"],
            "skipped": imported["skipped"], "attachments": imported["attachments"],
            "skipped_reasons": imported["skipped_reasons"], "error": stopped(imported)}


def _say(result: dict, json_output: bool) -> None:
    line = (f"{result['file']}: imported {result['imported']}, already there {result['duplicates']}, "
            f"skipped {result['skipped']}, attachments {result['attachments']}")
    typer.echo(line, err=json_output)
    for reason, count in result["skipped_reasons"].items():
        typer.echo(f"  skipped {count}: {reason}", err=True)
    if result["error"]:
        typer.echo(f"  not read to its end: {result['error']}", err=True)


@app.command("export")
def export_backups(
    backup_format: BackupFormat = typer.Option(..., "--format", help="The app that will restore the files"),
    out: Path = typer.Option(..., "--out", file_okay=False, help="Folder to write the files into"),
    server: str | None = ServerOption,
    key: str | None = KeyOption,
    json_output: bool = JsonOption,
) -> None:
    """Write your messages and calls into OUT in an app's format: SMS Backup & Restore (sms-*.xml and
    calls-*.xml) or SMS Import / Export (messages-*.zip and calls-*.json), to restore with that app."""
    from phonecloud.client.download import attachment_name, download_whole
    from phonecloud.client.errors import ServerError

    api = _api(server, key)
    written = []
    with folder_removed_on_failure(out):
        out.mkdir(parents=True, exist_ok=True)
        try:
            for holds, name in _EXPORT_FILES[backup_format]:
                final, size = download_whole(api, f"/messages/export/{backup_format.value}/{name}",
                                             lambda answer: out / (attachment_name(answer) or f"{holds}-{name}"))
                written.append({"file": final.name, "holds": holds, "bytes": size})
                typer.echo(f"wrote {final} ({size} bytes)", err=json_output)
        except ServerError as error:
            fail(str(error))
        finally:
            api.close()
    if json_output:
        typer.echo(json.dumps({"format": backup_format.value, "files": written}))
