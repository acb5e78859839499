"""The messages part of an export being imported (`phonecloud import-export`): which of its files to upload.

A phonecloud export's `Takeout/Messages/` holds the same messages and calls twice, once in each backup app's
format (messages/export.py writes them), and a page to read them. Uploading both formats would only count
every record again as already there, so for messages and for calls the files of one app are taken: SMS
Backup & Restore's, and SMS Import / Export's where the export has none of those. Nothing under Messages/
is a photo: none of it goes to the gallery. Pure Python, like the rest of the client.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator

from phonecloud.client.sync.resumable import Source
from phonecloud.portability.archive import SourceFile

MESSAGES_FOLDER = "Messages"
# Each app's folder, in the order preferred, with the names of its files by what they hold: the names
# messages/export.py and messages/exporter.py give them, and the apps' own.
APP_FILES = {
    "SMS Backup & Restore": {"messages": re.compile(r"sms-.*\.xml"), "calls": re.compile(r"calls-.*\.xml")},
    "SMS Import Export": {"messages": re.compile(r"messages-.*\.zip"), "calls": re.compile(r"calls-.*\.json")},
}
_CHUNK = 1 << 20


def below_folder(path: str, folder: str) -> list[str] | None:
    """The path's parts below one of the export's own folders (`Messages`, `Contacts`), or None when it lies
    elsewhere. That folder is right under `Takeout/`, or at the top when the Takeout folder itself is what
    was given (an album of that name is under `Google Photos/`, and stays an album)."""
    parts = path.split("/")
    for at, part in enumerate(parts[:-1]):
        if part == folder and (at == 0 or parts[at - 1] == "Takeout"):
            return parts[at + 1:]
    return None


def below_messages(path: str) -> list[str] | None:
    """The path's parts below the export's Messages folder, or None when it lies elsewhere."""
    return below_folder(path, MESSAGES_FOLDER)


def _holds(parts: list[str]) -> tuple[str, str] | None:
    """(app folder, what the file holds) for a backup file of an app's folder; None for anything else."""
    if len(parts) != 2 or parts[0] not in APP_FILES:
        return None
    app, name = parts
    return next(((app, holds) for holds, pattern in APP_FILES[app].items() if pattern.fullmatch(name)), None)


def split_messages(files: list[SourceFile]) -> tuple[list[SourceFile], list[SourceFile]]:
    """(the backups to upload, the files outside the Messages folder). For messages and for calls, every file
    of the first app in APP_FILES that has one: several exports imported together bring one file each."""
    rest: list[SourceFile] = []
    found: dict[tuple[str, str], list[SourceFile]] = {}
    for source in files:
        parts = below_messages(source.path)
        if parts is None:
            rest.append(source)
        elif (key := _holds(parts)) is not None:
            found.setdefault(key, []).append(source)
    chosen = []
    for holds in ("messages", "calls"):
        chosen += next((found[app, holds] for app in APP_FILES if (app, holds) in found), [])
    return chosen, rest


def upload_source(source: SourceFile, advance: Callable[[int], None]) -> Source:
    """The backup as a resumable upload reads it: streamed from the zip part (or the unzipped file), from
    any offset a resumed upload asks for, telling `advance` each chunk sent. It is remembered by its path in
    the export, which is enough: an upload is only resumed for bytes of the same size and SHA-1."""

    def chunks(offset: int) -> Iterator[bytes]:
        with source.open() as stream:
            stream.seek(offset)  # a zip entry reads up to there: it cannot jump
            while data := stream.read(_CHUNK):
                advance(len(data))
                yield data

    mtime_ns = round((source.mtime or 0) * 1e9)
    return Source(source.path, source.path.rpartition("/")[2], source.size, mtime_ns, chunks)
