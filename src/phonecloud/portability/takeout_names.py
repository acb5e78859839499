"""Which JSON sidecar of a Google Takeout describes which photo or video, with the naming quirks that Google's
exports really have (as seen in real Takeouts and described by the tools that read them):

- a sidecar is `<media>.json`, or since 2024 `<media>.supplemental-metadata.json`;
- the sidecar's whole name is cut to 51 characters (46 or 47 before `.json`; counted as Java counts them, in
  UTF-16 units, so an emoji counts twice), so the media name, or the `.supplemental-metadata` after it, is
  clipped: `IMG_20190101_123456_very_long_na.json`, `IMG_0001.jpg.supplemental-metad.json`,
  `IMG_0001.jpg.suppl.json`;
- a second file of the same name in a folder is `IMG(1).jpg`, and its sidecar carries the counter at the end
  instead: `IMG.jpg(1).json`, `IMG.jpg.supplemental-metadata(1).json`; when the sidecar's name is clipped there
  is no room for the counter, and the duplicates share one sidecar;
- a Live Photo's video (`IMG_0001.MOV` beside `IMG_0001.HEIC`) has no sidecar of its own either: it shares
  its still's, whose title names the still;
- an edited copy (`IMG-edited.jpg`, and the word in the account's language: `-bearbeitet`, `-modifié`, …) has
  no sidecar of its own: it shares its original's, which may sit in the folder without the original itself
  (an album holding only the edited copy), and may name an original without an extension.

Checked against the name pairs that immich-go's matcher tests record from its users' Takeouts (34 pairs, all
agreeing), and against the Takeout folders of its test data (see the note on issue 20).

Pure functions of names: the importer (client/importer.py) reads the files."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable

SUPPLEMENTAL = "supplemental-metadata"
MAX_SIDECAR_NAME = 51  # characters, `.json` included
CLIPPED_STEM = MAX_SIDECAR_NAME - len(".json")  # a clipped name's length before `.json` (46, once 47)
# What Google Photos appends to an edited copy's name, in the languages it exports in.
EDITED_SUFFIXES = ("-edited", "-bearbeitet", "-modifié", "-modificato", "-editado", "-editada", "-bewerkt",
                   "-redigerad", "-redigert", "-muokattu", "-edytowane", "-upravené", "-upraveno", "-szerkesztett",
                   "-編集済み", "-已编辑", "-編輯", "-편집됨", "-отредактировано", "-ediertes")
# The album's own metadata file, whose name Takeout writes in the account's language.
ALBUM_METADATA_NAMES = frozenset(unicodedata.normalize("NFC", name).casefold() for name in (
    "metadata.json", "métadonnées.json", "metadaten.json", "metadatos.json", "metadati.json", "metadados.json",
    "metagegevens.json", "metadane.json", "metadata.json", "metadatat.json", "metaadatok.json", "metadatové.json",
    "метаданные.json", "メタデータ.json", "元数据.json", "中繼資料.json", "메타데이터.json"))
# The videos of Live Photos (Apple's .MOV) and of phones that copied the idea.
LIVE_VIDEO_EXTENSIONS = frozenset({"mov", "mp4"})
_COUNTER = re.compile(r"^(?P<name>.*)\((?P<n>\d{1,4})\)$")
_MEDIA_COUNTER = re.compile(r"^(?P<stem>.*)\((?P<n>\d{1,4})\)(?P<ext>\.[^.]*)?$")


def looks_like_sidecar(json_name: str) -> bool:
    """A JSON file named after a media file (with the media's extension, or clipped to Google's length), not
    the album's or the export's own (metadata.json, manifest.json, print-subscriptions.json)."""
    stem = sidecar_key(json_name)[0]
    return ("." in stem or _clipped(stem)) and not is_album_metadata(json_name)


def _clipped(stem: str) -> bool:
    """Whether a sidecar's media name may have been cut to Google's length (46 UTF-16 units, once 47)."""
    return len(stem.encode("utf-16-le")) // 2 >= CLIPPED_STEM


def is_album_metadata(name: str) -> bool:
    return unicodedata.normalize("NFC", name).casefold() in ALBUM_METADATA_NAMES


def sidecar_key(json_name: str) -> tuple[str, str | None]:
    """(the media name it points at, perhaps clipped; its counter `(n)` or None) of a sidecar's name."""
    stem = json_name[: -len(".json")] if json_name.lower().endswith(".json") else json_name
    counter = None
    if found := _COUNTER.match(stem):
        stem, counter = found["name"], found["n"]
    head, dot, tail = stem.rpartition(".")
    if dot and head and tail and (tail == SUPPLEMENTAL or (SUPPLEMENTAL.startswith(tail) and "." in head)):
        stem = head  # `.supplemental-metadata`, whole, or clipped after a media name's own extension
    elif stem.endswith(".") and "." in stem[:-1]:
        stem = stem[:-1]  # clipped right after the media name's own dot
    return stem, counter


def _media_key(name: str) -> tuple[str, str | None]:
    """(the name without a `(n)` counter, the counter or None) of a media file's name."""
    if found := _MEDIA_COUNTER.match(name):
        return found["stem"] + (found["ext"] or ""), found["n"]
    return name, None


def describes_another(name: str, sidecar_title: object) -> bool:
    """Whether the sidecar matched to this file names another one (an edited copy's original, a Live Photo's
    still): the file keeps its own name, and takes the sidecar's times and flags."""
    if edited_original(name) is not None:
        return True
    return isinstance(sidecar_title, str) and (
        name.rpartition(".")[2].casefold() != sidecar_title.rpartition(".")[2].casefold())


def edited_original(name: str) -> str | None:
    """The original's name of an edited copy (`IMG-edited.jpg` -> `IMG.jpg`), or None."""
    stem, dot, extension = name.rpartition(".")
    if not dot:
        stem, extension = name, ""
    for suffix in EDITED_SUFFIXES:
        if stem.casefold().endswith(suffix.casefold()) and len(stem) > len(suffix):
            return stem[: -len(suffix)] + (dot + extension if dot else "")
    return None


def match_sidecars(media: Iterable[str], sidecars: Iterable[str]) -> dict[str, str]:
    """For the media files and JSON files of one folder: media name -> the sidecar that describes it."""
    media = sorted(media)
    by_key: dict[tuple[str, str | None], str] = {}
    clipped: list[tuple[str, str | None, str]] = []
    for json_name in sorted(sidecars):
        if is_album_metadata(json_name):
            continue
        stem, counter = sidecar_key(json_name)
        by_key.setdefault((stem, counter), json_name)
        if _clipped(stem):
            clipped.append((stem, counter, json_name))
    matched: dict[str, str] = {}
    taken: set[str] = set()

    def take(name: str, json_name: str | None) -> None:
        if json_name is not None and json_name not in taken:  # one sidecar, one file (and its edited copies)
            matched[name] = json_name
            taken.add(json_name)

    def exact(name: str) -> str | None:  # `IMG(1).jpg.json` holds the counter where the file has it
        return by_key.get((name, None))

    def counter_moved(name: str) -> str | None:  # `IMG(1).jpg` <- `IMG.jpg(1).json`
        base, counter = _media_key(name)
        return by_key.get((base, counter)) if counter is not None else None

    def cut(name: str, free: bool = True, counter_dropped: bool = False) -> str | None:  # clipped to Google's length
        base, counter = _media_key(name)
        for stem, json_counter, json_name in clipped:
            if json_counter == (None if counter_dropped else counter) and not (free and json_name in taken) and (
                    base.startswith(stem) or name.startswith(stem)):
                return json_name
        return None

    for rule in (exact, counter_moved, cut):
        for name in media:
            if name not in matched:
                take(name, rule(name))
    for name in media:  # a clipped sidecar has no room for a duplicate's counter: `IMG(1).jpg` shares `IMG.jpg`'s
        if name not in matched and _media_key(name)[1] is not None:
            if (found := cut(name, free=False, counter_dropped=True)) is not None:
                matched[name] = found
    stills = {name.rpartition(".")[0]: json_name for name, json_name in matched.items()}
    for name in media:  # a Live Photo's video shares its still's
        stem, dot, extension = name.rpartition(".")
        if name not in matched and dot and extension.lower() in LIVE_VIDEO_EXTENSIONS and stem in stills:
            matched[name] = stills[stem]
    for name in media:  # an edited copy shares its original's, found as the original's would be
        if name not in matched and (original := edited_original(name)) is not None:
            bare = original.rpartition(".")[0] or original  # an original without an extension
            found = matched.get(original) or next((json_name for candidate in (original, bare) for rule in (
                exact, counter_moved, lambda candidate: cut(candidate, free=False)) if (json_name := rule(candidate))),
                None)
            if found is not None:
                matched[name] = found
    return matched
