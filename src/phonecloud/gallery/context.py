"""The gallery's services as its routes and pages reach them (the kind binds them at start: gallery/kind.py)."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

from phonecloud.gallery.albums import AlbumService
from phonecloud.gallery.ingest import GalleryIntake
from phonecloud.gallery.service import GalleryService

NAME = "gallery"


@dataclass
class Gallery:
    """The gallery's services, as its routes and pages use them."""

    library: GalleryService
    albums: AlbumService
    intake: GalleryIntake
    takeout: object = None  # gallery.takeout.service.TakeoutImports, which reads into these services
    moves: object = None  # gallery.moving.service.LibraryMoves, which reads from them
    search: object = None  # gallery.search.service.SearchService
    links: object = None  # gallery.sharing.service.ShareLinks: links anyone may open
    members: object = None  # gallery.sharing.members.AlbumMembers: albums shared with other users
    _settings: object = None
    _media: object = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def media(self):
        """The media pipeline, built on first use (it loads the imaging libraries), once for all threads."""
        with self._lock:
            if self._media is None:
                from phonecloud.media.sandbox import RenderSandbox
                from phonecloud.media.service import MediaService

                settings = self._settings
                self._media = MediaService(self.library.db, self.library.blobs,
                                           lambda: RenderSandbox.configured(settings))
            return self._media

    def close(self) -> None:
        if self._media is not None:
            self._media.close()


def gallery_of(request) -> Gallery:
    """The gallery's services for a request (its app's: see phonecloud.server.container)."""
    return request.app.state.services.kind(NAME).service
