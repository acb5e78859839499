"""A phone's backup of messages or calls pushed to the server, the one way `phonecloud messages import` and
`phonecloud import-export` both do it: uploaded resumably into the intake's `messages` destination (a cut
connection, or a command run again, goes on from where the server is), then the server's import followed to
its result, telling its progress on the way. Importing the same records again is safe: the server knows each
message and call by its identity and counts it as already there."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

from phonecloud.client.api import Api
from phonecloud.client.config import Connection, client_dir
from phonecloud.client.sync.resumable import Source, upload_source_resumably
from phonecloud.client.sync.state import SyncState

DESTINATION = "messages"
_POLL_FIRST, _POLL_MOST = 0.1, 2.0  # seconds between looks at an import's progress


def backup_state(connection: Connection, folder: Path | None = None) -> SyncState:
    """Where resumable uploads of backups are remembered: one database per server and key, apart from sync's,
    in the client's folder (or another, a server job's)."""
    return SyncState((folder or client_dir()) / f"messages-{connection.state_name()}")


def push_backup(api: Api, state: SyncState, source: Source, sha1: str, tell: Callable[[str], None]) -> dict:
    """Upload the backup and wait until the server has imported it: the import, as
    GET /messages/imports/{id} has it (format, state, imported, duplicates, skipped ...)."""
    tell(f"{source.filename}: uploading {source.size} bytes")
    uploaded = upload_source_resumably(api, state, source, sha1, DESTINATION)
    return finished_import(api, uploaded.asset_id, source.filename, tell)


def finished_import(api: Api, import_id: str, name: str, tell: Callable[[str], None]) -> dict:
    """The import once finished; a large backup takes a while, so its progress is told whenever it moves."""
    pause, told = _POLL_FIRST, -1
    while True:
        imported = api.message_import(import_id)
        if imported["finished"]:
            return imported
        if imported["records_read"] != told:
            told = imported["records_read"]
            share = imported["bytes_read"] * 100 // max(1, imported["size"])
            tell(f"{name}: importing, {told} records read ({share}%)")
        time.sleep(pause)
        pause = min(pause * 1.5, _POLL_MOST)


def stopped(imported: dict) -> str | None:
    """Why and where a failed import stopped, or None when the file was read to its end."""
    if imported["state"] != "failed":
        return None
    where = [f"line {imported['error_line']}"] if imported["error_line"] else []
    if imported["error_record"]:
        where.append(f"record {imported['error_record']}")
    return imported["error"] + (f" (stopped at {', '.join(where)})" if where else "")


def holds_calls(imported: dict) -> bool:
    """Whether the server read the backup as a call log (its format: `sms-backup-restore/calls`, `sms-ie/calls`)."""
    return imported["format"].endswith("/calls")
