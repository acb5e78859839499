"""`phonecloud messages import FILE...` and `phonecloud messages export --format F --out DIR`: phone backups of
messages and calls (SMS Backup & Restore, SMS Import / Export) pushed to the server, and given back in
either app's format for a phone to restore. Same connection options as `phonecloud sync`."""

from __future__ import annotations

import enum
import hashlib
import json
import os
import re
import time
from pathlib import Path

import typer

from phonecloud.cli.client import KeyOption, ServerOption
from phonecloud.cli.common import fail
from phonecloud.cli.portability import JsonOption, _api
from phonecloud.client.config import client_dir, resolve_connection

app = typer.Typer(help="Messages and calls: import a phone's backups, export them for a phone to restore.",
                  no_args_is_help=True)
DESTINATION = "messages"
_POLL_FIRST, _POLL_MOST = 0.1, 2.0  # seconds between looks at an import's progress
_READ_CHUNK = 1 << 20
_FILENAME = re.compile(r'filename="([^"/\\]+)"')


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
    from phonecloud.client.sync.scan import FileChanged
    from phonecloud.client.sync.state import SyncState

    api = _api(server, key)
    state = SyncState(client_dir() / f"messages-{resolve_connection(server, key).state_name()}")
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
    from phonecloud.client.sync.resumable import upload_resumably
    from phonecloud.client.sync.scan import FoundFile

    status = path.stat()
    sha1 = hashlib.sha1()
    with open(path, "rb") as file:
        while chunk := file.read(_READ_CHUNK):
            sha1.update(chunk)
    found = FoundFile(str(path.resolve()), status.st_size, status.st_mtime_ns)
    typer.echo(f"{path.name}: uploading {status.st_size} bytes", err=True)
    uploaded = upload_resumably(api, state, found, sha1.hexdigest(), DESTINATION)
    imported = _wait(api, uploaded.asset_id, path.name)
    return {"file": path.name, "imported": imported["imported"], "duplicates": imported["duplicates"],
            "skipped": imported["skipped"], "attachments": imported["attachments"],
            "skipped_reasons": imported["skipped_reasons"], "error": _stopped(imported)}


def _wait(api, import_id: str, name: str) -> dict:
    """The import once finished, telling its progress on the way."""
    pause, told = _POLL_FIRST, -1
    while True:
        imported = api.message_import(import_id)
        if imported["finished"]:
            return imported
        if imported["records_read"] != told:
            told = imported["records_read"]
            share = imported["bytes_read"] * 100 // max(1, imported["size"])
            typer.echo(f"{name}: importing, {told} records read ({share}%)", err=True)
        time.sleep(pause)
        pause = min(pause * 1.5, _POLL_MOST)


def _stopped(imported: dict) -> str | None:
    """Why and where a failed import stopped, or None when the file was read to its end."""
    if imported["state"] != "failed":
        return None
    where = [f"line {imported['error_line']}"] if imported["error_line"] else []
    if imported["error_record"]:
        where.append(f"record {imported['error_record']}")
    return imported["error"] + (f" (stopped at {', '.join(where)})" if where else "")


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
    from phonecloud.client.download import fsync_path, partial_path, receive_into
    from phonecloud.client.errors import ServerError

    api = _api(server, key)
    out.mkdir(parents=True, exist_ok=True)
    written = []
    try:
        for holds, name in _EXPORT_FILES[backup_format]:
            with api.download(f"/messages/export/{backup_format.value}/{name}", {"Accept-Encoding": "identity"}) as answer:
                if answer.status_code >= 400:
                    raise answer.error()
                found = _FILENAME.search(answer.headers.get("content-disposition", ""))
                final = out / (found.group(1) if found else f"{holds}-{name}")
                partial = partial_path(final)
                partial.unlink(missing_ok=True)
                try:
                    size = receive_into(answer, partial, None, lambda count: None, sync=True)
                except BaseException:
                    partial.unlink(missing_ok=True)  # a stream cut short is never taken for a whole file
                    raise
            os.replace(partial, final)
            fsync_path(out, directory=True)
            written.append({"file": final.name, "holds": holds, "bytes": size})
            typer.echo(f"wrote {final} ({size} bytes)", err=json_output)
    except ServerError as error:
        fail(str(error))
    finally:
        api.close()
    if json_output:
        typer.echo(json.dumps({"format": backup_format.value, "files": written}))
