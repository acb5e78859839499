"""manifest.json: every file of an export with its part, size and SHA-256. Pure Python.

One file per line, so that it can be written as a stream and read by eye:

    {"format": "phonecloud-export", "version": 1, "export_id": "...", "created_at": "...", "files": [
    {"path": "Takeout/Google Photos/Photos from 2022/IMG_0001.jpg", "part": 1, "size": 2481, "sha256": "..."},
    ...
    ]}

It lists every file but itself; the export's description gives the manifest's own SHA-256.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

FORMAT = "phonecloud-export"
VERSION = 1
PATH = "Takeout/manifest.json"
_SHA256 = re.compile(r"^[0-9a-f]{64}$")


class BadManifest(ValueError):
    pass


@dataclass(frozen=True)
class ManifestFile:
    path: str
    part: int
    size: int
    sha256: str


def manifest_lines(export_id: str, created_at: str, files: Iterable[ManifestFile]) -> Iterator[bytes]:
    head = {"format": FORMAT, "version": VERSION, "export_id": export_id, "created_at": created_at}
    yield json.dumps(head, ensure_ascii=False)[:-1].encode() + b', "files": [\n'
    separator = b""
    for file in files:
        line = {"path": file.path, "part": file.part, "size": file.size, "sha256": file.sha256}
        yield separator + json.dumps(line, ensure_ascii=False).encode()
        separator = b",\n"
    yield b"\n]}\n"


def parse_manifest(data: bytes) -> tuple[dict, dict[str, ManifestFile]]:
    """(header, path → file); BadManifest naming what is wrong."""
    try:
        document = json.loads(data)
    except (ValueError, RecursionError) as error:
        raise BadManifest(f"manifest is not JSON: {error}") from None
    if not isinstance(document, dict) or document.get("format") != FORMAT or not isinstance(document.get("files"), list):
        raise BadManifest(f"not a {FORMAT} manifest")
    files = {}
    for item in document.pop("files"):
        try:
            file = ManifestFile(item["path"], item["part"], item["size"], item["sha256"])
        except (TypeError, KeyError):
            raise BadManifest(f"manifest entry without path, part, size and sha256: {item!r}"[:300]) from None
        if not (isinstance(file.path, str) and isinstance(file.part, int) and isinstance(file.size, int)
                and isinstance(file.sha256, str) and _SHA256.match(file.sha256)):
            raise BadManifest(f"malformed manifest entry: {item!r}"[:300])
        files[file.path] = file
    return document, files
