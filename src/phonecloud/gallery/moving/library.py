"""The library of one user as a move reads it inside the server (client/migrate/source.Source): every asset
with what the media pipeline read of it, the trash included, the albums and their members from the database,
and each original's bytes from the blob store, checked against its SHA-1 as they are read."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator

from phonecloud.client.errors import NO_STATUS, ServerError
from phonecloud.client.migrate.source import Library
from phonecloud.core.blobstore import BlobNotFound, BlobStore
from phonecloud.core.db import Database
from phonecloud.core.kinds import PortableFile
from phonecloud.gallery import repository as gallery
from phonecloud.gallery.export import albums_of, asset_info
from phonecloud.portability.takeout import AssetInfo

class LibraryOnServer:
    api = None  # read here, not over HTTP

    def __init__(self, db: Database, blobs: BlobStore, owner_id: int, base_url: str,
                 portable_files: Callable[[], list[PortableFile]]):
        self.db, self.blobs, self.owner_id, self.base_url = db, blobs, owner_id, base_url
        self.server = f"{base_url} user {owner_id}"
        self._portable_files = portable_files
        self._keys: dict[str, str] = {}  # asset id → blob key

    def library(self) -> Library:
        with self.db.read() as session:
            assets = []
            for asset, media in session.execute(gallery.owner_assets_with_media(self.owner_id)
                                                .execution_options(yield_per=1000)):
                assets.append(asset_info(asset, media, None, self.base_url))
                self._keys[str(asset.id)] = asset.blob_key
            albums, members = albums_of(session, self.owner_id)
        return Library(sorted(assets, key=lambda asset: asset.order), albums, members)

    def original_chunks(self, asset: AssetInfo, offset: int = 0) -> Iterator[bytes]:
        """From the blob store; a blob whose bytes are not the asset's SHA-1 (damaged since, or gone) fails
        the item rather than sending other bytes: read whole, the check is made before the last chunk goes."""
        try:
            key = self._keys[asset.id]
            digest = hashlib.sha1()
            pending = None
            for chunk in self.blobs.get(key, offset):
                if pending is not None:
                    yield pending
                digest.update(chunk)
                pending = chunk
            if offset == 0 and digest.hexdigest() != asset.sha1:
                raise ServerError(NO_STATUS, "damaged", f"{asset.original_filename}: its stored bytes differ from "
                                                        "its SHA-1; `phonecloud admin scrub` says more")
            if pending is not None:
                yield pending
        except (BlobNotFound, KeyError):
            raise ServerError(NO_STATUS, "missing", f"{asset.original_filename}: its original is missing from "
                                                    "the server's storage") from None

    def portable_files(self) -> list[PortableFile]:
        return self._portable_files()
