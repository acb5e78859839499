"""The library being moved, as its server lists it: every asset (the trash too), its albums and their
members, and each original's bytes from any offset."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from phonecloud.client.api import Api
from phonecloud.client.pull.mirror import album_from_api, asset_from_api
from phonecloud.portability.takeout import AlbumInfo, AssetInfo


@dataclass
class Library:
    assets: list[AssetInfo]  # oldest first
    albums: list[AlbumInfo]
    members: dict[str, list[str]]  # album id → asset ids

    @property
    def size(self) -> int:
        return sum(asset.size for asset in self.assets)


def read_library(api: Api) -> Library:
    listed = [*api.assets(), *api.trashed_assets()]
    assets = sorted((asset_from_api(item, None, api.server) for item in listed), key=lambda asset: asset.order)
    albums = [album_from_api(item) for item in api.album_list()]
    return Library(assets, albums, {album.id: api.album_asset_ids(album.id) for album in albums})


def original_chunks(api: Api, asset: AssetInfo, offset: int = 0) -> Iterator[bytes]:
    return api.original_chunks(asset.id, asset.sha1, offset)
