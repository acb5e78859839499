"""`phonecloud import-export DIR|ZIP...`: rebuild a library from a phonecloud export (zip parts or the
unzipped folder) on a server, with the same originals, capture dates, albums and favourites. Pure Python.

Reads Takeout's layout: `Photos from YYYY/`, `Trash/`, and album folders (with `metadata.json`), a JSON
sidecar beside each file (`<file>.json`, or Takeout's `<file>.supplemental-metadata.json` and its
shortened forms). Each distinct file is uploaded once (by SHA-1: an asset in a year folder and two albums
is one asset in three places), under its original name (the sidecar's title) and with its modification
time as the export recorded it, so the server's media pipeline finds the same capture time again.
Then favourites are marked, albums made (an album of the same title is reused, so a second run changes
nothing) and filled, and what was in the trash goes back to the trash.

`Messages/` (import_messages.py) brings back the messages and calls: one backup file for each, pushed as
`phonecloud messages import` pushes it (client/messages.py: a resumable upload streamed out of the zip
part, then the server's import job waited for). `Contacts/` (import_contacts.py) brings back the contacts:
each address book's vCard 4.0 file streamed out of the zip part into the default address book, as
`phonecloud contacts import` sends a file (client/contacts.py). Running it again is safe: photos are known
by their SHA-1, and the server knows each message, call and contact by its identity, so a second run counts
them as already there.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
import threading
import zipfile
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path

from phonecloud.client.api import Api
from phonecloud.client.config import Connection
from phonecloud.client.contacts import import_api, import_vcards, said
from phonecloud.client.errors import ServerError
from phonecloud.client.import_contacts import split_contacts
from phonecloud.client.import_messages import split_messages, upload_source
from phonecloud.client.messages import backup_state, holds_calls, push_backup, stopped
from phonecloud.client.progress import TransferReporter
from phonecloud.client.sync.state import SyncState
from phonecloud.core.names import readable
from phonecloud.core.dates import DateOutOfRange, clamped, from_unix_seconds, parse_moment
from phonecloud.portability import takeout_names
from phonecloud.portability.archive import SourceFile, open_sources, read_chunks

MAX_JSON_BYTES = 1 << 20
MAX_FILE_BYTES = 64 << 30  # the server's default upload limit: a larger file it would refuse anyway
CHECK_BATCH = 1000
ALBUM_BATCH = 1000
MAX_DESCRIPTION, MAX_NAME, MAX_PEOPLE = 10_000, 200, 200  # what the server keeps of a photo's description
# "Photos from 2019" in the account's language ("Fotos von 2019", "Photos de 2019"): albums have a metadata file.
_YEAR_FOLDER = re.compile(r"^\D{1,40}\b(1[89]|2[0-2])\d\d$")
_TRASH_FOLDERS = {"trash", "bin"}


@dataclass
class ImportSummary:
    uploaded: int = 0
    duplicates: int = 0  # already on the server
    bytes: int = 0
    albums: int = 0  # made or filled
    favorites: int = 0
    described: int = 0  # given their sidecar's description, archived flag, people's names or place
    trashed: int = 0
    skipped: int = 0
    matched: int = 0  # distinct files that came with a sidecar (Takeout's capture time, title, flags)
    failed: int = 0
    failures: list[dict] = field(default_factory=list)
    messages: int = 0  # message records imported from the export's Messages/ (SMS and MMS)
    message_duplicates: int = 0  # already on the server
    calls: int = 0  # call log records imported
    call_duplicates: int = 0
    contacts: int = 0  # contacts of the export's Contacts/ added (new, or changed since an earlier import)
    contact_duplicates: int = 0  # already in the address book, unchanged

    def as_dict(self) -> dict:
        return asdict(self)


@dataclass
class Item:
    """One distinct file (by content), wherever it appears in the export."""

    source: SourceFile
    sidecar: dict
    sha1: str | None = None
    asset_id: str | None = None
    folders: set[str] = field(default_factory=set)


def _load_json(source: SourceFile) -> dict | None:
    if source.size > MAX_JSON_BYTES:
        return None
    try:
        with source.open() as stream:
            value = json.loads(stream.read(MAX_JSON_BYTES + 1))
    except (OSError, ValueError, RecursionError):
        return None
    return value if isinstance(value, dict) else None


def _kind(folder: str, has_metadata: bool) -> str:
    base = folder.rpartition("/")[2]
    if has_metadata:
        return "album"
    if _YEAR_FOLDER.match(base):
        return "year"
    if base.casefold() in _TRASH_FOLDERS:
        return "trash"
    if base in ("", "Takeout", "Google Photos"):
        return "loose"
    return "album"


def _when(sidecar: dict, source: SourceFile) -> dt.datetime:
    """The modification time to upload with: the export's exact one, else Takeout's capture time, else
    the archive's entry time; each only when it lies in the range the server takes (core.dates)."""
    extension = sidecar.get("phonecloud") if isinstance(sidecar.get("phonecloud"), dict) else {}
    try:
        if isinstance(extension.get("fileModifiedAt"), str):
            return parse_moment(extension["fileModifiedAt"])
    except DateOutOfRange:
        pass
    return _takeout_time(sidecar.get("photoTakenTime")) or clamped(
        dt.datetime.fromtimestamp(max(0, min(source.mtime or 0, 2**32)), dt.UTC))


def _takeout_time(value: object) -> dt.datetime | None:
    """A Takeout time ({"timestamp": "<Unix seconds>", "formatted": ...}), or None when it is not one."""
    if isinstance(value, dict) and str(value.get("timestamp", "")).isdigit():
        try:
            return from_unix_seconds(int(value["timestamp"]))
        except DateOutOfRange:
            return None
    return None


def _coordinates(value: object) -> tuple[float, float, float | None] | None:
    """(latitude, longitude, altitude) of a Takeout geoData, None for none (Takeout writes zeros for none)."""
    if not isinstance(value, dict):
        return None
    numbers = [value.get(name) for name in ("latitude", "longitude", "altitude")]
    if not all(isinstance(number, (int, float)) and not isinstance(number, bool) for number in numbers[:2]):
        return None
    latitude, longitude = float(numbers[0]), float(numbers[1])
    if (latitude, longitude) == (0.0, 0.0) or not (-90 <= latitude <= 90 and -180 <= longitude <= 180):
        return None
    altitude = numbers[2] if isinstance(numbers[2], (int, float)) and not isinstance(numbers[2], bool) else None
    return latitude, longitude, float(altitude) if altitude is not None and -20_000 <= altitude <= 100_000 else None


def _place(sidecar: dict) -> dict | None:
    """Where Google Photos placed it (geoData) when that is not the file's own GPS (geoDataExif): edited or
    estimated there, and lost unless kept."""
    given, exif = _coordinates(sidecar.get("geoData")), _coordinates(sidecar.get("geoDataExif"))
    if given is None or (exif is not None and max(abs(given[0] - exif[0]), abs(given[1] - exif[1])) < 1e-6):
        return None
    return {"latitude": given[0], "longitude": given[1], "altitude": given[2]}


def _description(sidecar: dict) -> tuple[str | None, bool | None, list[str] | None, dict | None] | None:
    """(description, archived, people's names, place) of a sidecar, each None when it has none; None for none
    at all."""
    text = sidecar.get("description")
    description = text[:MAX_DESCRIPTION] if isinstance(text, str) and text.strip() else None
    archived = True if sidecar.get("archived") is True else None
    listed = sidecar.get("people") if isinstance(sidecar.get("people"), list) else []
    names = [person["name"].strip()[:MAX_NAME] for person in listed
             if isinstance(person, dict) and isinstance(person.get("name"), str) and person["name"].strip()]
    people = list(dict.fromkeys(names))[:MAX_PEOPLE] or None
    found = (description, archived, people, _place(sidecar))
    return found if any(value is not None for value in found) else None


def _sha1(source: SourceFile) -> str:
    digest = hashlib.sha1()
    for chunk in read_chunks(source):
        digest.update(chunk)
    return digest.hexdigest()


class ImportRun:
    def __init__(self, api: Api, connection: Connection, transfers: int, reporter: TransferReporter):
        self.api, self.connection, self.transfers, self.reporter = api, connection, transfers, reporter
        self.summary = ImportSummary()
        self._lock = threading.Lock()

    def run(self, paths: list[Path]) -> ImportSummary:
        self.api.me()
        with open_sources(paths, MAX_FILE_BYTES) as sources:
            for name, why in sources.skipped:
                self._skip(name, why)
            backups, files = split_messages(sources.files)
            vcards, files = split_contacts(files)
            items, albums = self._index(files)
            self._identify(items)
            self._upload(items)
            self._import_messages(backups)
            self._import_contacts(vcards)
        self._restore_favorites(items)
        self._restore_descriptions(items)
        self._restore_albums(items, albums)
        self._restore_trash(items)
        return self.summary

    # -- reading the export ------------------------------------------------------------------------------

    def _index(self, files: list[SourceFile]) -> tuple[list[Item], dict[str, dict]]:
        """Distinct files with their sidecars, and album folder → its metadata (title, description)."""
        folders: dict[str, dict[str, SourceFile]] = defaultdict(dict)
        for source in files:
            folder, _, name = source.path.rpartition("/")
            if not name.startswith("."):
                folders[folder][name] = source
        items: list[Item] = []
        albums: dict[str, dict] = {}
        for folder, entries in folders.items():
            metadata = next((entries[name] for name in sorted(entries) if takeout_names.is_album_metadata(name)), None)
            kind = _kind(folder, metadata is not None)
            if kind == "album":
                loaded = _load_json(metadata) if metadata else None
                albums[folder] = loaded or {"title": readable(folder.rpartition("/")[2])}
            media = {name for name in entries if not name.lower().endswith((".json", ".html", ".htm"))}
            jsons = {name for name in entries
                     if name.lower().endswith(".json") and takeout_names.looks_like_sidecar(name)}
            sidecars = takeout_names.match_sidecars(media, jsons)
            for orphan in sorted(jsons - set(sidecars.values())):
                self._skip(entries[orphan].path, "a sidecar with no photo or video of its name beside it")
            for name in sorted(media):
                if entries[name].size == 0:
                    self._skip(entries[name].path, "an empty file (0 bytes): no photo or video in it")
                    continue
                sidecar = _load_json(entries[sidecars[name]]) if name in sidecars else None
                if name in sidecars and sidecar is None:
                    self._skip(entries[sidecars[name]].path, "a sidecar that is not a JSON object (its file is "
                               "imported without it)")
                sidecar = dict(sidecar or {})
                if sidecar and takeout_names.describes_another(name, sidecar.get("title")):
                    sidecar.pop("title", None)  # an edited copy or a Live Photo's video: shared times, own name
                items.append(Item(entries[name], sidecar, folders={folder}))
                if kind == "trash":
                    items[-1].sidecar.setdefault("trashed", True)
        return items, albums

    def _identify(self, items: list[Item]) -> None:
        """Each item's SHA-1: from the export's sidecar when it says, else read from the file."""
        for item in items:
            extension = item.sidecar.get("phonecloud")
            sha1 = extension.get("sha1") if isinstance(extension, dict) else None
            if isinstance(sha1, str) and len(sha1) == 40 and all(c in "0123456789abcdef" for c in sha1):
                item.sha1 = sha1
            else:
                try:
                    item.sha1 = _sha1(item.source)
                except (OSError, zipfile.BadZipFile) as error:  # BadZipFile: the CRC-32 does not match
                    self._fail(item.source.path, f"cannot read: {error}")

    # -- uploading ---------------------------------------------------------------------------------------

    def _upload(self, items: list[Item]) -> None:
        distinct: dict[str, Item] = {}
        for item in items:
            if item.sha1 is None:
                continue
            first = distinct.setdefault(item.sha1, item)
            if first is not item:
                first.folders |= item.folders
                first.sidecar = first.sidecar or item.sidecar
        unique = list(distinct.values())
        self.summary.matched = sum(1 for item in unique if item.sidecar)
        for start in range(0, len(unique), CHECK_BATCH):
            batch = unique[start:start + CHECK_BATCH]
            existing = self.api.check([(item.sha1, item.sha1) for item in batch])
            for item in batch:
                item.asset_id = existing.get(item.sha1)
        new = [item for item in unique if item.asset_id is None]
        self.summary.duplicates += len(unique) - len(new)
        self.reporter.planned(len(new), sum(item.source.size for item in new))
        with ThreadPoolExecutor(self.transfers) as pool:
            for future in [pool.submit(self._send, item) for item in new]:
                future.result()
        for item in items:  # every place of a file knows its asset
            if item.sha1 is not None:
                item.asset_id = distinct[item.sha1].asset_id

    def _send(self, item: Item) -> None:
        source = item.source
        title = item.sidecar.get("title")
        own_name = readable(source.path.rpartition("/")[2])
        filename = title if isinstance(title, str) and 0 < len(title) <= 4096 else own_name

        def chunks():
            for chunk in read_chunks(source):
                self.reporter.advance(len(chunk))
                yield chunk

        try:
            uploaded = self.api.upload_chunks(chunks, filename, _when(item.sidecar, source), source.size, item.sha1)
        except (ServerError, OSError, zipfile.BadZipFile) as error:
            reason = str(error)
            if isinstance(error, ServerError) and error.code == "unsupported_media":
                self._skip(source.path, "not a photo or video")
            else:
                self._fail(source.path, reason)
            self.reporter.finished()
            return
        item.asset_id = uploaded.asset_id
        with self._lock:
            if uploaded.duplicate:
                self.summary.duplicates += 1
            else:
                self.summary.uploaded += 1
                self.summary.bytes += source.size
        self.reporter.finished(f"uploaded: {source.path}" if not self.reporter.rich else None)

    # -- messages and calls ------------------------------------------------------------------------------

    def _import_messages(self, backups: list[SourceFile]) -> None:
        """Each backup uploaded and its import waited for in turn, as `phonecloud messages import` does. The
        state that lets a cut upload resume is opened only for an export that has messages."""
        if not backups:
            return
        self.reporter.planned(len(backups), sum(source.size for source in backups))
        state = backup_state(self.connection)
        try:
            for source in backups:
                self._import_backup(state, source)
        finally:
            state.close()

    def _import_backup(self, state: SyncState, source: SourceFile) -> None:
        """One backup: what the server imported from it (a failed import's records before the damage too)
        is counted, and a refusal or a failed import counts as failed, with its reason."""
        try:
            imported = push_backup(self.api, state, upload_source(source, self.reporter.advance), _sha1(source),
                                   self.reporter.say)
        except (ServerError, OSError, zipfile.BadZipFile) as error:
            self._fail(source.path, str(error))
            self.reporter.finished()
            return
        if holds_calls(imported):
            self.summary.calls += imported["imported"]
            self.summary.call_duplicates += imported["duplicates"]
        else:
            self.summary.messages += imported["imported"]
            self.summary.message_duplicates += imported["duplicates"]
        if why := stopped(imported):
            self._fail(source.path, why)
        reasons = "".join(f"; skipped {count}: {reason}" for reason, count in imported["skipped_reasons"].items())
        self.reporter.finished(f"{source.path}: imported {imported['imported']}, already there "
                               f"{imported['duplicates']}, skipped {imported['skipped']}{reasons}")

    # -- contacts --------------------------------------------------------------------------------------------

    def _import_contacts(self, vcards: list[SourceFile]) -> None:
        """Each address book's file sent in turn into the default address book; a file the server refuses
        (one it cannot read, naming the line) counts as failed, with its reason, and the others still go."""
        if not vcards:
            return
        self.reporter.planned(len(vcards), sum(source.size for source in vcards))
        sender = import_api(self.connection)
        try:
            for source in vcards:
                self._import_vcards(sender, source)
        finally:
            sender.close()

    def _import_vcards(self, sender: Api, source: SourceFile) -> None:
        streamed = upload_source(source, self.reporter.advance)
        try:
            imported = import_vcards(sender, lambda: streamed.chunks(0), source.size)
        except (ServerError, OSError, zipfile.BadZipFile) as error:
            self._fail(source.path, str(error))
            self.reporter.finished()
            return
        with self._lock:
            self.summary.contacts += imported["imported"] + imported["updated"]
            self.summary.contact_duplicates += imported["duplicates"]
        self.reporter.finished(f"{source.path}: {said(imported)}")

    # -- favourites, albums, trash -----------------------------------------------------------------------

    def _restore_favorites(self, items: list[Item]) -> None:
        favorites = sorted({item.asset_id for item in items if item.asset_id and item.sidecar.get("favorited") is True})
        for asset_id in favorites:
            self._attempt("(favourites)", self.api.favorite, asset_id)
        self.summary.favorites = len(favorites)

    def _restore_descriptions(self, items: list[Item]) -> None:
        """Each asset's description, archived flag, people (Takeout's `people`: [{"name"}]) and place, from the
        first of its places whose sidecar has any."""
        described: dict[str, tuple] = {}
        for item in items:
            if item.asset_id and item.asset_id not in described and (found := _description(item.sidecar)):
                described[item.asset_id] = found
        for asset_id, found in sorted(described.items()):
            if self._attempt("(descriptions)", self.api.describe, asset_id, *found):
                self.summary.described += 1

    def _restore_albums(self, items: list[Item], albums: dict[str, dict]) -> None:
        members: dict[str, set[str]] = defaultdict(set)
        folder_names = {folder.rpartition("/")[2]: folder for folder in albums}
        for item in items:
            if item.asset_id is None:
                continue
            for folder in item.folders & albums.keys():
                members[folder].add(item.asset_id)
            extension = item.sidecar.get("phonecloud")
            listed = extension.get("albums") if isinstance(extension, dict) else None
            for name in listed if isinstance(listed, list) else []:  # a trashed photo's albums
                if isinstance(name, str) and name in folder_names:
                    members[folder_names[name]].add(item.asset_id)
        existing = self.api.albums()
        for folder, metadata in albums.items():
            title = metadata.get("title") if isinstance(metadata.get("title"), str) else folder.rpartition("/")[2]
            title = title.strip()[:500] or "Untitled"
            description = metadata.get("description") if isinstance(metadata.get("description"), str) else ""
            made = _takeout_time(metadata.get("date"))
            made = min(made, dt.datetime.now(dt.UTC)) if made else None  # a clock ahead is no reason to fail
            if title not in existing and not self._attempt(folder, self._create_album, existing, title, description,
                                                           made):
                continue
            ids = sorted(members.get(folder, ()))
            for start in range(0, len(ids), ALBUM_BATCH):
                self._attempt(folder, self.api.add_to_album, existing[title], ids[start:start + ALBUM_BATCH])
            self.summary.albums += 1

    def _create_album(self, existing: dict[str, str], title: str, description: str, made: dt.datetime | None) -> None:
        existing[title] = self.api.create_album(title, description[:10_000], made)

    def _restore_trash(self, items: list[Item]) -> None:
        trashed = sorted({item.asset_id for item in items if item.asset_id and item.sidecar.get("trashed") is True})
        for asset_id in trashed:
            self._attempt("(trash)", self.api.trash, asset_id)
        self.summary.trashed = len(trashed)

    # -- bookkeeping -------------------------------------------------------------------------------------

    def _attempt(self, what: str, call, *args) -> bool:
        """Run an API call; a refusal is reported as a failure of `what`, and the import goes on."""
        try:
            call(*args)
        except ServerError as error:
            self._fail(what, str(error))
            return False
        return True

    def _skip(self, path: str, why: str) -> None:
        with self._lock:
            self.summary.skipped += 1
            self.summary.failures.append({"path": path, "reason": f"skipped: {why}"})

    def _fail(self, path: str, reason: str) -> None:
        with self._lock:
            self.summary.failed += 1
            self.summary.failures.append({"path": path, "reason": reason})


def import_export(api: Api, connection: Connection, paths: list[Path], transfers: int,
                  reporter: TransferReporter) -> ImportSummary:
    """connection: the api's, which keeps the resumable uploads of messages backups apart per server and key."""
    return ImportRun(api, connection, transfers, reporter).run(paths)
