"""Messages, calls and contacts carried from one phonecloud to another, in the formats both speak: each file
the source gives (client/migrate/source.Source.portable_files: SMS Backup & Restore's messages and calls files,
the contacts as one vCard 4.0 file) written whole into the staging folder, then imported into the target as
`phonecloud messages import` and `phonecloud contacts import` do it. The target knows every message, call and
contact by its identity, so a second run imports nothing twice. An import is verified by its own count: every
record of the file imported or found already there."""

from __future__ import annotations

import dataclasses
import hashlib
import shutil
from collections.abc import Callable
from pathlib import Path

from phonecloud.client.api import Api
from phonecloud.client.config import Connection
from phonecloud.client.contacts import import_api, import_vcards
from phonecloud.client.errors import NO_STATUS, ServerError
from phonecloud.client.messages import push_backup, stopped
from phonecloud.client.sync.resumable import file_source
from phonecloud.client.sync.scan import FoundFile, file_chunks
from phonecloud.client.sync.state import SyncState
from phonecloud.core.portable import PortableFile

Moved = Callable[[str, int, int], None]  # (kind, imported, already there)
Failed = Callable[[str, str], None]  # (kind, reason)


def carry(files: list[PortableFile], server: str, target: Api, connection: Connection, state: SyncState,
          staging: Path, tell: Callable[[str], None], moved: Moved, failed: Failed) -> None:
    """Each file the source gives, written and imported into the target; `server` names the source in the
    keys of resumable uploads (kept in `state`)."""
    staging.mkdir(parents=True, exist_ok=True)
    try:
        for file in files:
            _attempt(file.holds, lambda file=file: _carry(file, server, target, connection, state, staging, tell),
                     moved, failed)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _attempt(kind: str, carry_one: Callable[[], tuple[int, int]], moved: Moved, failed: Failed) -> None:
    try:
        imported, there = carry_one()
    except (ServerError, OSError) as error:
        failed(kind, str(error))
        return
    moved(kind, imported, there)


def _carry(file: PortableFile, server: str, target: Api, connection: Connection, state: SyncState, staging: Path,
           tell) -> tuple[int, int]:
    path = staging / (f"{file.holds}.vcf" if file.holds == "contacts" else f"{file.holds}.xml")
    records = file.write(path)
    if file.holds == "contacts":
        return _contacts(path, records, connection)
    return _backup(path, file.holds, server, target, state, tell)


def _backup(path: Path, holds: str, server: str, target: Api, state: SyncState, tell) -> tuple[int, int]:
    sha1 = hashlib.sha1()
    with open(path, "rb") as handle:
        while chunk := handle.read(1 << 20):
            sha1.update(chunk)
    stat = path.stat()
    backup = dataclasses.replace(file_source(FoundFile(str(path), stat.st_size, stat.st_mtime_ns)),
                                 key=f"migrate {server} {holds}")
    imported = push_backup(target, state, backup, sha1.hexdigest(), tell)
    problem = stopped(imported)
    if problem is not None:
        raise ServerError(NO_STATUS, "import_failed", problem)
    return imported["imported"], imported["duplicates"]


def _contacts(path: Path, cards: int | None, connection: Connection) -> tuple[int, int]:
    size = path.stat().st_size
    api = import_api(connection)
    try:
        result = import_vcards(api, lambda: file_chunks(path, size, path.stat().st_mtime_ns), size)
    finally:
        api.close()
    there = result["duplicates"] + result["updated"]
    if cards is not None and result["imported"] + there != cards:
        raise ServerError(NO_STATUS, "import_incomplete", f"{cards} contacts sent, {result['imported'] + there} taken")
    return result["imported"], there
