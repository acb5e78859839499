"""Messages, calls and contacts carried from one phonecloud to another, in the formats both speak: each
backup downloaded whole from the source (SMS Backup & Restore's messages and calls files, the contacts as one
vCard 4.0 file) into the staging folder, then imported into the target as `phonecloud messages import` and
`phonecloud contacts import` do it. The target knows every message, call and contact by its identity, so a
second run imports nothing twice. An import is verified by its own count: every record of the file imported
or found already there."""

from __future__ import annotations

import dataclasses
import hashlib
import shutil
from collections.abc import Callable
from pathlib import Path

from phonecloud.client.api import Api
from phonecloud.client.config import Connection
from phonecloud.client.contacts import export_vcards, import_api, import_vcards
from phonecloud.client.download import download_whole
from phonecloud.client.errors import NO_STATUS, ServerError
from phonecloud.client.messages import backup_state, push_backup, stopped
from phonecloud.client.sync.resumable import file_source
from phonecloud.client.sync.scan import FoundFile, file_chunks

MESSAGES_EXPORT = "/messages/export/sms-backup-restore/{holds}.xml"

Moved = Callable[[str, int, int], None]  # (kind, imported, already there)
Failed = Callable[[str, str], None]  # (kind, reason)


def carry(source: Api, held: list[str], target: Api, connection: Connection, staging: Path,
          tell: Callable[[str], None], moved: Moved, failed: Failed) -> None:
    """Each kind the source account holds (`held`), carried over; nothing of a kind it does not hold."""
    staging.mkdir(parents=True, exist_ok=True)
    try:
        if "messages" in held:
            state = backup_state(connection)
            try:
                for holds in ("messages", "calls"):
                    _attempt(holds, lambda holds=holds: _backup(source, target, state, staging, holds, tell),
                             moved, failed)
            finally:
                state.close()
        if "contacts" in held:
            _attempt("contacts", lambda: _contacts(source, connection, staging), moved, failed)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _attempt(kind: str, carry_one: Callable[[], tuple[int, int]], moved: Moved, failed: Failed) -> None:
    try:
        imported, there = carry_one()
    except (ServerError, OSError) as error:
        failed(kind, str(error))
        return
    moved(kind, imported, there)


def _backup(source: Api, target: Api, state, staging: Path, holds: str, tell) -> tuple[int, int]:
    sha1 = hashlib.sha1()
    path, size = download_whole(source, MESSAGES_EXPORT.format(holds=holds), staging / f"{holds}.xml", sha1)
    found = FoundFile(str(path), size, path.stat().st_mtime_ns)
    backup = dataclasses.replace(file_source(found), key=f"migrate {source.server} {holds}")
    imported = push_backup(target, state, backup, sha1.hexdigest(), tell)
    problem = stopped(imported)
    if problem is not None:
        raise ServerError(NO_STATUS, "import_failed", problem)
    return imported["imported"], imported["duplicates"]


def _contacts(source: Api, connection: Connection, staging: Path) -> tuple[int, int]:
    path, size, cards = export_vcards(source, staging / "contacts.vcf")
    api = import_api(connection)
    try:
        result = import_vcards(api, lambda: file_chunks(path, size, path.stat().st_mtime_ns), size)
    finally:
        api.close()
    there = result["duplicates"] + result["updated"]
    if result["imported"] + there != cards:
        raise ServerError(NO_STATUS, "import_incomplete", f"{cards} contacts sent, {result['imported'] + there} taken")
    return result["imported"], there
