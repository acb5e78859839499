"""Another phonecloud as the target, through its API: each original streamed from the source into the
target (large ones over tus, resumable across runs), its capture time kept (the source's modification time
goes with it, as a sync sends it), read back by SHA-1; then favourites, descriptions, archive, people,
places, the trash and the albums."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path

from phonecloud.client.api import Api
from phonecloud.client.config import Connection, client_dir
from phonecloud.client.errors import ServerError
from phonecloud.client.migrate import other_kinds
from phonecloud.client.migrate.engine import (Arrival, Arrived, Failed, KindFailed, KindMoved, Skipped,
                                              put_metadata, send_and_read_back)
from phonecloud.client.messages import backup_state
from phonecloud.client.migrate.record import MigrationRecord, Row
from phonecloud.client.migrate.source import Library, Source
from phonecloud.client.progress import TransferReporter
from phonecloud.client.sync import resumable
from phonecloud.client.sync.state import SyncState
from phonecloud.core.dates import nanoseconds
from phonecloud.portability.takeout import AlbumInfo, AssetInfo

CHECK_BATCH = 1000
ALBUM_BATCH = 1000


class PhonecloudDestination:
    quota_spent = False  # no daily quota

    def __init__(self, source: Source, connection: Connection, transfers: int, reporter: TransferReporter,
                 workdir: Path | None = None):
        self.source, self.transfers, self.reporter = source, transfers, reporter
        self.api, self.connection = Api(connection, transfers), connection
        # Resumable uploads' state and staging: in the client's folder (its uploads' URLs shared with sync), or
        # in a server job's own.
        self.home = workdir or client_dir()
        self.state = SyncState(self.home / connection.state_name())
        key_digest = hashlib.sha256(connection.key.encode()).hexdigest()[:16]
        self.identity, self.label = f"phonecloud {connection.server} {key_digest}", f"phonecloud at {connection.server}"

    def close(self) -> None:
        try:
            self.api.close()
        finally:
            self.state.close()

    def present(self, assets: list[AssetInfo], library: Library, known: dict[str, Row]) -> dict[str, Arrival]:
        """The target's own de-duplication by SHA-1 says which bytes it holds already."""
        self.api.me()  # a wrong key or server is said before anything else
        found = {}
        for start in range(0, len(assets), CHECK_BATCH):
            batch = assets[start:start + CHECK_BATCH]
            answers = self.api.check([(asset.id, asset.sha1) for asset in batch])
            found.update({asset_id: Arrival(target_id, "sha1") for asset_id, target_id in answers.items() if target_id})
        return found

    def transfer(self, assets: list[AssetInfo], library: Library, record: MigrationRecord, arrived: Arrived,
                 failed: Failed, skipped: Skipped) -> None:
        send_and_read_back(assets, self.transfers, self._upload, self._holds, "the target", arrived, failed)

    def _holds(self, target_id: str, asset: AssetInfo) -> bool:
        stored = self.api.asset(target_id)
        return (stored["sha1"], stored["size_bytes"]) == (asset.sha1, asset.size)

    def _upload(self, asset: AssetInfo) -> str:
        def chunks(offset: int = 0) -> Iterator[bytes]:
            for chunk in self.source.original_chunks(asset, offset):
                self.reporter.advance(len(chunk))
                yield chunk

        if asset.size >= resumable.threshold():
            source = resumable.Source(f"migrate {self.source.server} {asset.id}", asset.original_filename,
                                      asset.size, nanoseconds(asset.file_modified_at), chunks)
            return resumable.upload_source_resumably(self.api, self.state, source, asset.sha1).asset_id
        return self.api.upload_chunks(chunks, asset.original_filename, asset.file_modified_at, asset.size,
                                      asset.sha1).asset_id

    # -- the library's metadata --------------------------------------------------------------------------

    def carry_kinds(self, moved: KindMoved, failed: KindFailed) -> None:
        files = self.source.portable_files()
        if not files:
            return
        staging = self.home / "migrations" / f"kinds-{hashlib.sha256(self.identity.encode()).hexdigest()[:16]}"
        state = backup_state(self.connection, self.home)
        try:
            other_kinds.carry(files, self.source.server, self.api, self.connection, state, staging,
                              self.reporter.say, moved, failed)
        finally:
            state.close()

    def finish(self, library: Library, record: MigrationRecord) -> int:
        return put_metadata(self, library, record)

    def describe(self, asset: AssetInfo, target_id: str) -> None:
        if asset.favorite:
            self.api.favorite(target_id)
        place = {"latitude": asset.place[0], "longitude": asset.place[1], "altitude": asset.place[2]} \
            if asset.place else None
        if asset.description or asset.archived or asset.people or place:
            self.api.describe(target_id, asset.description or None, asset.archived or None,
                              list(asset.people) or None, place)

    def trash(self, target_ids: list[str]) -> None:
        for target_id in target_ids:
            self.api.trash(target_id)

    def create_album(self, album: AlbumInfo) -> str:
        return self.api.create_album(album.title, album.description, album.created_at)

    def fill(self, album_id: str, members: list[str]) -> bool:
        try:
            for start in range(0, len(members), ALBUM_BATCH):
                self.api.add_to_album(album_id, members[start:start + ALBUM_BATCH])
        except ServerError as error:
            if error.status == 404:
                return False
            raise
        return True
