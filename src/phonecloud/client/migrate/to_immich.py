"""An Immich server as the target, through its public API (an API key sent as `x-api-key`): the duplicate
check by SHA-1 (`POST /api/assets/bulk-upload-check`), each original streamed as a multipart upload
(`POST /api/assets`, its SHA-1 in `x-immich-checksum`, its capture and modification times as Immich's
`fileCreatedAt` and `fileModifiedAt`), read back by the checksum Immich keeps (`GET /api/assets/{id}`); then
favourites, descriptions, archive and positions (`PUT /api/assets/{id}`: `visibility` from Immich 1.133,
`isArchived` before), the trash (`DELETE /api/assets` without force) and albums (`/api/albums`)."""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Callable, Iterator

import httpx

from phonecloud import __version__
from phonecloud.client.api import send_retrying
from phonecloud.client.errors import Retry, ServerError
from phonecloud.client.migrate.engine import (Arrival, Arrived, Failed, KindFailed, KindMoved, Skipped,
                                              put_metadata, send_and_read_back)
from phonecloud.client.migrate.record import MigrationRecord, Row
from phonecloud.client.migrate.source import Library, Source
from phonecloud.client.progress import TransferReporter
from phonecloud.portability.takeout import AlbumInfo, AssetInfo

CHECK_BATCH = 1000
ALBUM_BATCH = 1000
DEVICE_ID = "phonecloud-migrate"
VISIBILITY_SINCE = (1, 133)  # the Immich release that replaced isArchived by visibility


class ChunkReader:
    """A file-like view of a stream of chunks, for httpx's multipart encoder (which reads files)."""

    def __init__(self, chunks: Iterator[bytes]):
        self._chunks, self._left = chunks, b""

    def read(self, size: int = -1) -> bytes:
        while not self._left:
            try:
                self._left = next(self._chunks)
            except StopIteration:
                return b""
        wanted = len(self._left) if size < 0 else size
        piece, self._left = self._left[:wanted], self._left[wanted:]
        return piece


class ImmichDestination:
    quota_spent = False  # no daily quota

    def __init__(self, source: Source, server: str, key: str, transfers: int, reporter: TransferReporter):
        self.source, self.transfers, self.reporter = source, transfers, reporter
        self.server = server.rstrip("/").removesuffix("/api")
        self.retry = Retry()
        self._http = httpx.Client(base_url=f"{self.server}/api", timeout=httpx.Timeout(60.0, connect=15.0),
                                  headers={"x-api-key": key, "User-Agent": f"phonecloud-migrate/{__version__}"},
                                  limits=httpx.Limits(max_connections=transfers + 2))
        key_digest = hashlib.sha256(key.encode()).hexdigest()[:16]
        self.identity, self.label = f"immich {self.server} {key_digest}", f"Immich at {self.server}"
        self._visibility = False

    def close(self) -> None:
        self._http.close()

    def _request(self, method: str, path: str, fresh: Callable[[], dict] | None = None, **kwargs) -> httpx.Response:
        return send_retrying(self._http, method, path, self.retry, fresh, **kwargs)

    def present(self, assets: list[AssetInfo], library: Library, known: dict[str, Row]) -> dict[str, Arrival]:
        """Immich's own duplicate check by SHA-1 (which also proves the key and says the server's version)."""
        version = self._request("GET", "/server/version").json()
        self._visibility = (version.get("major", 0), version.get("minor", 0)) >= VISIBILITY_SINCE
        found = {}
        for start in range(0, len(assets), CHECK_BATCH):
            batch = assets[start:start + CHECK_BATCH]
            body = {"assets": [{"id": asset.id, "checksum": asset.sha1} for asset in batch]}
            for result in self._request("POST", "/assets/bulk-upload-check", json=body).json()["results"]:
                if result.get("action") == "reject" and result.get("assetId"):
                    found[result["id"]] = Arrival(result["assetId"], "sha1")
        return found

    def transfer(self, assets: list[AssetInfo], library: Library, record: MigrationRecord, arrived: Arrived,
                 failed: Failed, skipped: Skipped) -> None:
        send_and_read_back(assets, self.transfers, self._upload, self._holds, "Immich", arrived, failed)

    def _holds(self, target_id: str, asset: AssetInfo) -> bool:
        """By the checksum Immich keeps (base64 of the SHA-1) and, where it says, the size."""
        stored = self._request("GET", f"/assets/{target_id}").json()
        size = (stored.get("exifInfo") or {}).get("fileSizeInByte")
        return stored.get("checksum") == base64.b64encode(bytes.fromhex(asset.sha1)).decode() and size in (
            None, asset.size)

    def _upload(self, asset: AssetInfo) -> str:
        def counted() -> Iterator[bytes]:
            for chunk in self.source.original_chunks(asset):
                self.reporter.advance(len(chunk))
                yield chunk

        # Both generations' fields, as Immich's own command-line clients send them: deviceAssetId and
        # deviceId (required before Immich 2), fileSize (sent by today's); a server drops what it does not use.
        fields = {"deviceAssetId": re.sub(r"\s+", "", f"{asset.original_filename}-{asset.size}"),
                  "deviceId": DEVICE_ID, "fileCreatedAt": asset.taken.isoformat(),
                  "fileModifiedAt": asset.file_modified_at.isoformat(), "fileSize": str(asset.size),
                  "isFavorite": "true" if asset.favorite else "false", "filename": asset.original_filename}
        answer = self._request(
            "POST", "/assets", data=fields, headers={"x-immich-checksum": asset.sha1},
            timeout=httpx.Timeout(300.0, connect=15.0),
            fresh=lambda: {"files": {"assetData": (asset.original_filename, ChunkReader(counted()), asset.mime_type)}})
        return answer.json()["id"]

    # -- the library's metadata --------------------------------------------------------------------------

    def carry_kinds(self, moved: KindMoved, failed: KindFailed) -> None:
        """Immich keeps photos and videos only: `phonecloud messages export` and `contacts export` take the
        rest out."""

    def finish(self, library: Library, record: MigrationRecord) -> int:
        return put_metadata(self, library, record)

    def describe(self, asset: AssetInfo, target_id: str) -> None:
        change: dict = {}
        if asset.favorite:
            change["isFavorite"] = True
        if asset.description:
            change["description"] = asset.description
        if asset.archived:
            change.update({"visibility": "archive"} if self._visibility else {"isArchived": True})
        if asset.place:
            change.update(latitude=asset.place[0], longitude=asset.place[1])
        if change:
            self._request("PUT", f"/assets/{target_id}", json=change)

    def trash(self, target_ids: list[str]) -> None:
        self._request("DELETE", "/assets", json={"ids": target_ids, "force": False})

    def create_album(self, album: AlbumInfo) -> str:
        created = self._request("POST", "/albums", json={"albumName": album.title, "description": album.description})
        return created.json()["id"]

    def fill(self, album_id: str, members: list[str]) -> bool:
        try:
            for start in range(0, len(members), ALBUM_BATCH):
                self._request("PUT", f"/albums/{album_id}/assets", json={"ids": members[start:start + ALBUM_BATCH]})
        except ServerError as error:
            if error.status == 404:
                return False
            raise
        return True
