"""The calls that the Takeout importer (client/importer.py) makes of a server, made instead on the gallery's
own services for one user, inside the server: the same matching, de-duplication, albums, favourites and trash
as `phonecloud import takeout`, with no HTTP between. A refusal is raised as the client's ServerError, so that
the importer reports it exactly as it reports the server's answer."""

from __future__ import annotations

import datetime as dt
import logging
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from phonecloud.accounts.service import Principal
from phonecloud.client.api import Uploaded
from phonecloud.client.errors import ServerError
from phonecloud.client.importer import ImportRun
from phonecloud.core.errors import PhonecloudError
from phonecloud.gallery.context import Gallery
from phonecloud.uploads.intake import IntakeMeta

log = logging.getLogger("phonecloud.takeout")
PROGRESS_INTERVAL = 1.0  # seconds between progress writes


@contextmanager
def refusals() -> Iterator[None]:
    try:
        yield
    except PhonecloudError as error:
        raise ServerError(error.status, error.code, error.message) from None


class GalleryOnServer:
    def __init__(self, gallery: Gallery, principal: Principal):
        self.gallery, self.principal = gallery, principal

    def me(self) -> dict:
        return {"email": self.principal.email}

    def check(self, items: list[tuple[str, str]]) -> dict[str, str | None]:
        with refusals():
            found = self.gallery.intake.precheck(self.principal, items)
        return {result["id"]: str(result["asset_id"]) if result["exists"] else None for result in found}

    def upload_chunks(self, make_chunks: Callable[[], Iterator[bytes]], filename: str, modified: dt.datetime,
                      size: int, sha1: str) -> Uploaded:
        intake, meta = self.gallery.intake, IntakeMeta(filename, modified, size, sha1)
        with refusals():
            intake.check(self.principal, meta)
            staged = intake.stage(self.principal, meta, size)
            try:
                for chunk in make_chunks():
                    staged.feed([chunk])
                finished = intake.finish(self.principal, staged, meta)
            finally:
                staged.abort()  # nothing once committed
        return Uploaded(str(finished.item_id), not finished.created)

    def favorite(self, asset_id: str) -> None:
        with refusals():
            self.gallery.library.set_favorite(self.principal, uuid.UUID(asset_id), True)

    def describe(self, asset_id: str, description: str | None, archived: bool | None, people: list[str] | None,
                 place: dict | None) -> None:
        where = (place["latitude"], place["longitude"], place["altitude"]) if place else None
        with refusals():
            self.gallery.library.describe(self.principal, uuid.UUID(asset_id), description, archived, people, where)

    def trash(self, asset_id: str) -> None:
        with refusals():
            self.gallery.library.set_trashed(self.principal, uuid.UUID(asset_id), True)

    def albums(self) -> dict[str, str]:
        return {album.title: str(album.id) for album, _ in self.gallery.albums.list_albums(self.principal)}

    def create_album(self, title: str, description: str = "", created_at: dt.datetime | None = None) -> str:
        with refusals():
            return str(self.gallery.albums.create_album(self.principal, title, description, created_at).id)

    def add_to_album(self, album_id: str, asset_ids: list[str]) -> None:
        with refusals():
            self.gallery.albums.change_album_assets(self.principal, uuid.UUID(album_id),
                                                    [uuid.UUID(asset_id) for asset_id in asset_ids], add=True)


class ProgressRecorder:
    """The importer's reporter on the server: counts files and bytes, and hands them to save() at most once a
    second (and at the end), so that GET /takeout/imports/{id} follows the import."""

    rich = False

    def __init__(self, save: Callable[[int, int, int, int], None]):
        self._save = save
        self._lock = threading.Lock()
        self.files_total = self.files_done = self.bytes_total = self.bytes_done = 0
        self._saved_at = 0.0

    def planned(self, files: int, size: int) -> None:
        with self._lock:
            self.files_total += files
            self.bytes_total += size
        self.flush(force=True)

    def advance(self, size: int) -> None:
        with self._lock:
            self.bytes_done += size
        self.flush()

    def finished(self, line: str | None = None) -> None:
        with self._lock:
            self.files_done += 1
        self.flush()

    def say(self, line: str) -> None:
        log.info("%s", line)

    def flush(self, force: bool = False) -> None:
        with self._lock:
            if not force and time.monotonic() - self._saved_at < PROGRESS_INTERVAL:
                return
            self._saved_at = time.monotonic()
            counts = self.files_total, self.files_done, self.bytes_total, self.bytes_done
        self._save(*counts)


class ServerImportRun(ImportRun):
    """A Takeout read on the server holds photos and videos; a phonecloud export's messages and contacts are
    brought back by `phonecloud import-export` (their own imports), so they are skipped here, saying so."""

    def _import_messages(self, backups) -> None:
        for source in backups:
            self._skip(source.path, "messages and calls are imported with phonecloud import-export or on the "
                       "Messages page, not as a Takeout")

    def _import_contacts(self, vcards) -> None:
        for source in vcards:
            self._skip(source.path, "contacts are imported with phonecloud import-export or on the Contacts page, "
                       "not as a Takeout")
