"""The gallery as a kind of user data: photos and videos, their albums, and the media pipeline that reads and
renders them. Registered in phonecloud.server.kinds; everything else that concerns all data asks this."""

from __future__ import annotations

from itertools import chain
from pathlib import Path

from sqlalchemy import select

from phonecloud.core.db import utcnow
from phonecloud.core.kinds import DataKind, Kind, NavEntry, Usage
from phonecloud.gallery import blobs, repository
from phonecloud.gallery.albums import AlbumService
from phonecloud.gallery.context import NAME, Gallery
from phonecloud.gallery.export import GallerySection
from phonecloud.gallery.ingest import GalleryIntake
from phonecloud.gallery.models import Asset
from phonecloud.gallery.moving.service import MOVE_JOB, LibraryMoves
from phonecloud.gallery.search.service import SearchService
from phonecloud.gallery.service import TRASH_PURGE_JOB, GalleryService
from phonecloud.gallery.sharing.members import AlbumMembers
from phonecloud.gallery.sharing.ratelimit import RateLimiter
from phonecloud.gallery.sharing.service import ShareLinks
from phonecloud.gallery.takeout import blobs as takeout_blobs
from phonecloud.gallery.takeout.intake import TakeoutIntake
from phonecloud.gallery.takeout.service import IMPORT_JOB as TAKEOUT_JOB, TakeoutImports
from phonecloud.media.jobs import MEDIA_JOB, PREVIEW_JOB
from phonecloud.media.models import AssetMedia


def _referenced_keys(session):
    yield from session.scalars(select(Asset.blob_key).execution_options(yield_per=1000))
    for row in session.execute(select(AssetMedia.thumbnail_key, AssetMedia.preview_key).execution_options(
            yield_per=1000)):
        yield from row


def build(running) -> DataKind:
    """The gallery bound to the running server's services (phonecloud.server.container.Services)."""
    settings = running.settings

    def check_intake(principal) -> None:
        running.gate.check(principal, NAME)

    gallery = Gallery(
        library=GalleryService(running.db, running.blobs, running.quota),
        albums=AlbumService(running.db),
        intake=GalleryIntake(running.db, running.blobs, running.quota, running.jobs, settings.max_upload_bytes,
                             check_intake),
        _settings=settings,
    )
    gallery.search = SearchService(running.db)
    takeout_intake = TakeoutIntake(running.db, running.blobs, running.quota, running.jobs, settings.max_upload_bytes,
                                   check_intake)
    gallery.takeout = takeout = TakeoutImports(running.db, running.blobs, running.quota, running.jobs, gallery)
    gallery.moves = moves = LibraryMoves(
        running.db, running.blobs, running.jobs, settings.resolved_data_dir / "moves", settings.public_url,
        lambda user_id: [file for kind in running.kinds.values() for file in kind.portable_files(user_id)],
        settings.google_client, settings.moves_to_private_addresses)

    gallery.links = links = ShareLinks(
        running.db, running.blobs, running.accounts.throttle,
        RateLimiter(settings.share_requests_per_minute / 60, settings.share_request_burst))
    gallery.members = AlbumMembers(running.db)

    def usage(session, user_id: int) -> Usage:
        """Its photos and videos, and the bytes of Takeout parts waiting to be read (charged, not items)."""
        items, size = repository.usage(session, user_id)
        return Usage(items, size + takeout.waiting_bytes(session, user_id))

    def usage_by_owner(session) -> dict[int, Usage]:
        totals = {owner: Usage(*counts) for owner, counts in repository.usage_by_owner(session).items()}
        for owner, size in takeout.waiting_bytes_by_owner(session).items():
            kept = totals.get(owner, Usage())
            totals[owner] = Usage(kept.items, kept.bytes + size)
        return totals

    def purge_user(user_id: int, record) -> None:
        moves.purge_user(user_id, record)
        takeout.purge_user(user_id, record)
        links.purge_user(user_id, record)  # links, album members, memberships: before the items and albums
        gallery.library.purge_user(user_id, record)

    def start_daily_purge() -> None:
        gallery.library.schedule_trash_purge(utcnow().date())  # once a day, however often asked

    return DataKind(
        name=NAME, title=KIND.title, service=gallery,
        jobs={MEDIA_JOB: lambda subject: gallery.media().process(subject),
              PREVIEW_JOB: lambda subject: gallery.media().make_preview(subject),
              TRASH_PURGE_JOB: gallery.library.run_trash_purge, TAKEOUT_JOB: takeout.run, MOVE_JOB: moves.run},
        on_workers_start=start_daily_purge,
        export_sections=(GallerySection(),),
        destinations=(gallery.intake, takeout_intake),
        usage=usage, usage_by_owner=usage_by_owner,
        summary_fields=lambda used: {"asset_count": used.items},
        orphans=lambda session, keys: blobs.orphans(session, keys) + takeout_blobs.orphans(session, keys),
        referenced_keys=lambda session: chain(_referenced_keys(session), takeout_blobs.referenced_keys(session)),
        content_sha1=blobs.content_sha1,
        scrub_totals=repository.scrub_totals, scrub_page=repository.scrub_page,
        purge_user=purge_user,
        rows_left=lambda session, user_id: repository.rows_of_owner(session, user_id) + takeout.rows_of_owner(
            session, user_id) + moves.rows_of_owner(session, user_id) + links.rows_of_user(session, user_id),
        manifest=repository.manifest,
        check_intake=check_intake,
        closers=(gallery.close,),
    )


def _api_routers():
    from phonecloud.gallery.map.routes import router as map_clusters
    from phonecloud.gallery.memories_routes import router as memories
    from phonecloud.gallery.moving.routes import router as moving
    from phonecloud.gallery.routes import router
    from phonecloud.gallery.search.routes import router as search
    from phonecloud.gallery.sharing.routes import router as sharing
    from phonecloud.gallery.takeout.routes import router as takeout
    from phonecloud.gallery.trash_routes import router as trash

    return router, trash, takeout, moving, memories, sharing, map_clusters, search


def _web_routers():
    from phonecloud.gallery.web import albums, library, map as map_page, moving, public, sharing, takeout
    from phonecloud.gallery.web import search as search_page

    return (library.router, albums.router, takeout.router, moving.router, map_page.router, sharing.router,
            public.router, search_page.router)


def _template_filters():
    from phonecloud.gallery.web.views import FILTERS

    return FILTERS


KIND = Kind(
    name=NAME, title="Photos and videos", build=build, api_routers=_api_routers, web_routers=_web_routers,
    template_filters=_template_filters, templates=Path(__file__).resolve().parent / "web" / "templates",
    nav=(NavEntry("/", "timeline", "Photos"), NavEntry("/albums", "albums", "Albums"), NavEntry("/map", "map", "Map"),
         NavEntry("/search", "search", "Search"),
         NavEntry("/upload", "upload", "Upload"), NavEntry("/trash", "trash", "Trash")),
    move_page="/move",
)
