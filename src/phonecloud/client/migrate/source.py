"""The library being moved: every asset (the trash too), its albums and their members, and each original's
bytes from any offset. Read from a server's API by the client (`ApiSource`), or inside the server by its
own services for a job started from the web app (gallery/moving/library.py): the targets see only `Source`."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from phonecloud.client.api import Api
from phonecloud.client.contacts import export_vcards
from phonecloud.client.download import download_whole
from phonecloud.client.pull.mirror import album_from_api, asset_from_api
from phonecloud.core.portable import PortableFile
from phonecloud.portability.takeout import AlbumInfo, AssetInfo

MESSAGES_EXPORT = "/messages/export/sms-backup-restore/{holds}.xml"


@dataclass
class Library:
    assets: list[AssetInfo]  # oldest first
    albums: list[AlbumInfo]
    members: dict[str, list[str]]  # album id → asset ids

    @property
    def size(self) -> int:
        return sum(asset.size for asset in self.assets)


class Source(Protocol):
    server: str  # names the library in the keys of resumable uploads
    api: Api | None  # the source server's API when read over HTTP (several originals to a request, other kinds)

    def library(self) -> Library: ...

    def original_chunks(self, asset: AssetInfo, offset: int = 0) -> Iterator[bytes]:
        """The original's bytes from `offset`; only the bytes of its SHA-1 (else an error)."""

    def portable_files(self) -> list[PortableFile]:
        """The account's other kinds of data (messages, calls, contacts) as files another phonecloud imports:
        none of a kind it does not hold."""


class ApiSource:
    def __init__(self, api: Api):
        self.api, self.server = api, api.server

    def library(self) -> Library:
        api = self.api
        listed = [*api.assets(), *api.trashed_assets()]
        assets = sorted((asset_from_api(item, None, api.server) for item in listed), key=lambda asset: asset.order)
        albums = [album_from_api(item) for item in api.album_list()]
        return Library(assets, albums, {album.id: api.album_asset_ids(album.id) for album in albums})

    def original_chunks(self, asset: AssetInfo, offset: int = 0) -> Iterator[bytes]:
        return self.api.original_chunks(asset.id, asset.sha1, offset)

    def portable_files(self) -> list[PortableFile]:
        usage = self.api.me()["usage"]
        files = []
        if usage.get("messages", {}).get("items"):
            files += [PortableFile(holds, lambda path, holds=holds: self._download(MESSAGES_EXPORT.format(
                holds=holds), path)) for holds in ("messages", "calls")]
        if usage.get("contacts", {}).get("items"):
            files.append(PortableFile("contacts", lambda path: export_vcards(self.api, path)[2]))
        return files

    def _download(self, url: str, path: Path) -> None:
        download_whole(self.api, url, path)
