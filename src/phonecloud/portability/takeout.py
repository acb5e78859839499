"""The Google Takeout layout of a photo library: folders, safe file names, and the JSON sidecars.

Shared by the server's export and the client's pull mirror, so both write the same tree. Pure Python.

- `Photos from YYYY/` holds each asset under the year of its capture time (the camera's wall clock when
  the media pipeline read one; otherwise the instant the timeline sorts it by, which falls back to the
  file's modification time on the phone). `Trash/` holds the trash; an album's folder holds its assets
  again, with the album's `metadata.json`.
- Names come from the name the file had on the phone, made safe for zip and common file systems
  (no `/ \\ : * ? " < > |`, control characters, `..`, Windows device names; at most 200 UTF-8 bytes)
  and unique in their folder ignoring case, Takeout's way: `IMG.jpg`, `IMG(1).jpg`. The original name
  stays in the sidecar's `title`.
- `<file>.json` beside each file is Takeout's sidecar, plus a `phonecloud` object with what Takeout has
  no field for (exact modification time, hashes, album folders), which the importer reads.
"""

from __future__ import annotations

import calendar
import datetime as dt
import json
import re
import unicodedata
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field

from phonecloud.core.names import safe_filename

ROOT = "Takeout/Google Photos"
TRASH = "Trash"
ALBUM_METADATA = "metadata.json"
SIDECAR_SUFFIX = ".json"
YEAR_FOLDER = re.compile(r"^Photos from (\d{4})$")

_UNSAFE = re.compile(r'[\x00-\x1f\x7f/\\:*?"<>|]')
_MAX_FOLDER_BYTES = 100
_WINDOWS_DEVICES = {"CON", "PRN", "AUX", "NUL", *(f"COM{n}" for n in range(1, 10)), *(f"LPT{n}" for n in range(1, 10))}
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


@dataclass(frozen=True)
class AssetInfo:
    id: str
    original_filename: str
    kind: str
    mime_type: str
    extension: str  # the usual one for its content, for a name that has none
    size: int
    sha1: str
    sha256: str | None
    file_modified_at: dt.datetime  # aware
    uploaded_at: dt.datetime
    taken: dt.datetime  # the instant the timeline sorts it by (aware, UTC)
    taken_local: dt.datetime | None  # the camera's wall clock, when the media pipeline read one
    taken_offset_minutes: int | None
    date_source: str | None
    latitude: float | None
    longitude: float | None
    altitude: float | None
    favorite: bool
    trashed: bool
    url: str
    description: str = ""
    archived: bool = False
    people: tuple[str, ...] = ()
    place: tuple[float, float, float | None] | None = None  # where Google Photos had it, if not the file's GPS

    @property
    def year(self) -> int:
        return (self.taken_local or self.taken).year

    @property
    def order(self) -> tuple:
        return self.taken, self.id


@dataclass(frozen=True)
class AlbumInfo:
    id: str
    title: str
    description: str
    created_at: dt.datetime


@dataclass
class Folder:
    name: str
    album: AlbumInfo | None = None
    files: list[tuple[str, AssetInfo]] = field(default_factory=list)  # (file name, asset)


@dataclass(frozen=True)
class Plan:
    folders: list[Folder]
    album_folders_of: dict[str, list[str]]  # asset id → the album folders it is in


# --- names ------------------------------------------------------------------------------------------------


def _not_a_device(name: str) -> str:
    """Windows refuses CON, NUL, COM1 ... with any extension."""
    return "_" + name if name.split(".")[0].rstrip(" ").upper() in _WINDOWS_DEVICES else name


def file_name(original: str, extension: str) -> str:
    return _not_a_device(safe_filename(original, extension))


def folder_name(title: str) -> str:
    cleaned = _UNSAFE.sub("_", unicodedata.normalize("NFC", title)).strip(" .")
    cleaned = cleaned.encode()[:_MAX_FOLDER_BYTES].decode("utf-8", "ignore").rstrip(" .")
    return _not_a_device(cleaned or "Untitled")


def _numbered(name: str, number: int) -> str:
    stem, dot, extension = name.rpartition(".")
    return f"{stem}({number}).{extension}" if dot and stem else f"{name}({number})"


class NameAllocator:
    """Unique names in one folder, ignoring case (as macOS and Windows do), given in a fixed order."""

    def __init__(self, reserved: Iterable[str] = ()):
        self._taken = {name.casefold() for name in reserved}

    def _free(self, name: str, sidecar: bool) -> bool:
        return name.casefold() not in self._taken and not (sidecar and (name + SIDECAR_SUFFIX).casefold() in self._taken)

    def reserve(self, name: str) -> None:
        self._taken.update((name.casefold(), (name + SIDECAR_SUFFIX).casefold()))

    def allocate(self, wanted: str, sidecar: bool = True) -> str:
        """wanted, or wanted(1), wanted(2) ...; with sidecar, its `<name>.json` is kept free too."""
        name, number = wanted, 0
        while not self._free(name, sidecar):
            number += 1
            name = _numbered(wanted, number)
        self._taken.add(name.casefold())
        if sidecar:
            self._taken.add((name + SIDECAR_SUFFIX).casefold())
        return name


def year_folder(year: int) -> str:
    return f"Photos from {year:04d}"


# --- the plan ---------------------------------------------------------------------------------------------


def plan(assets: Iterable[AssetInfo], albums: list[AlbumInfo], members: dict[str, list[str]], *,
         years: str = "all", trash: bool = True, album_folders: bool = True,
         previous: dict[str, dict[str, str]] | None = None) -> Plan:
    """Folders in order (years ascending, the trash, then albums in the order given), each with its files.

    years: "all" puts every asset not in the trash in its year's folder; "unfiled" only those in no album.
    members: album id → asset ids. Trashed assets appear in the trash only.
    previous: folder → {asset id: name} of an earlier plan (a mirror's): those assets keep their names and
    the other names stay taken, so that adding a photo never renames another.
    """
    by_id = {asset.id: asset for asset in assets}
    live = sorted((asset for asset in by_id.values() if not asset.trashed), key=lambda asset: asset.order)
    in_album = {asset_id for ids in members.values() for asset_id in ids if asset_id in by_id}
    year_folders: dict[int, Folder] = {}
    for asset in live:
        if years == "all" or asset.id not in in_album:
            year_folders.setdefault(asset.year, Folder(year_folder(asset.year))).files.append(("", asset))
    folders = [year_folders[year] for year in sorted(year_folders)]
    if trash:
        binned = sorted((asset for asset in by_id.values() if asset.trashed), key=lambda asset: asset.order)
        if binned:
            folders.append(Folder(TRASH, files=[("", asset) for asset in binned]))
    album_folders_of: dict[str, list[str]] = defaultdict(list)
    top = NameAllocator(folder.name for folder in folders)
    for album in albums:
        name = _album_folder(top, album.title)
        for asset_id in members.get(album.id, ()):
            if asset_id in by_id:
                album_folders_of[asset_id].append(name)
        if album_folders:
            chosen = sorted((by_id[i] for i in set(members.get(album.id, ())) if i in by_id and not by_id[i].trashed),
                            key=lambda asset: asset.order)
            folders.append(Folder(name, album, [("", asset) for asset in chosen]))
    for folder in folders:
        _name_files(folder, (previous or {}).get(folder.name, {}))
    return Plan(folders, dict(album_folders_of))


def _name_files(folder: Folder, previous: dict[str, str]) -> None:
    names = NameAllocator([ALBUM_METADATA] if folder.album else [])
    kept = {}
    for _, asset in folder.files:
        name = previous.get(asset.id)
        if name is not None and name == file_name(name, asset.extension):  # only a name this module could give
            kept[asset.id] = names.allocate(name)
    for asset_id, name in previous.items():
        if asset_id not in kept:
            names.reserve(name)  # a file an earlier pull left, which stays: its name is not given away
    folder.files = [(kept.get(asset.id) or names.allocate(file_name(asset.original_filename, asset.extension)), asset)
                    for _, asset in folder.files]


def _album_folder(top: NameAllocator, title: str) -> str:
    """An album's folder name: never one that reads as a year's folder or the trash."""
    name = folder_name(title)
    if YEAR_FOLDER.match(name) or name.casefold() == TRASH.casefold():
        name += "(1)"
    return top.allocate(name, sidecar=False)


# --- JSON -------------------------------------------------------------------------------------------------


def formatted(moment: dt.datetime) -> str:
    """Takeout's human form: 'Sep 20, 2020, 10:12:07 AM UTC' (English whatever the locale)."""
    moment = moment.astimezone(dt.UTC)
    hour = moment.hour % 12 or 12
    return (f"{_MONTHS[moment.month - 1]} {moment.day}, {moment.year}, {hour}:{moment.minute:02d}:"
            f"{moment.second:02d} {'AM' if moment.hour < 12 else 'PM'} UTC")


def unix_seconds(moment: dt.datetime) -> int:
    return calendar.timegm(moment.astimezone(dt.UTC).timetuple())


def timestamp(moment: dt.datetime) -> dict[str, str]:
    return {"timestamp": str(unix_seconds(moment)), "formatted": formatted(moment)}


def iso(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")


def _geo(latitude: float | None, longitude: float | None, altitude: float | None) -> dict[str, float]:
    return {"latitude": latitude or 0.0, "longitude": longitude or 0.0, "altitude": altitude or 0.0,
            "latitudeSpan": 0.0, "longitudeSpan": 0.0}


def to_json(value: dict) -> bytes:
    return (json.dumps(value, indent=2, ensure_ascii=False) + "\n").encode()


def sidecar(asset: AssetInfo, album_folders: list[str]) -> bytes:
    """Takeout's per-file JSON: geoDataExif is the file's GPS, geoData the place Google Photos had when an import
    brought one that is not the file's (else the file's again)."""
    extension = {
        "id": asset.id, "kind": asset.kind, "mimeType": asset.mime_type, "size": asset.size, "sha1": asset.sha1,
        **({"sha256": asset.sha256} if asset.sha256 else {}),
        "fileModifiedAt": iso(asset.file_modified_at), "uploadedAt": iso(asset.uploaded_at),
        "takenAt": asset.taken_local.isoformat() if asset.taken_local else None,
        "takenAtOffsetMinutes": asset.taken_offset_minutes, "dateSource": asset.date_source,
        "albums": album_folders,
    }
    return to_json({
        "title": asset.original_filename, "description": asset.description,
        "creationTime": timestamp(asset.uploaded_at), "photoTakenTime": timestamp(asset.taken),
        "geoData": _geo(*(asset.place or (asset.latitude, asset.longitude, asset.altitude))),
        "geoDataExif": _geo(asset.latitude, asset.longitude, asset.altitude),
        **({"people": [{"name": name} for name in asset.people]} if asset.people else {}),
        "url": asset.url, "favorited": asset.favorite, "archived": asset.archived, "trashed": asset.trashed,
        "phonecloud": extension,
    })


def album_metadata(album: AlbumInfo) -> bytes:
    return to_json({"title": album.title, "description": album.description, "access": "protected",
                    "date": timestamp(album.created_at), "phonecloud": {"id": album.id}})
