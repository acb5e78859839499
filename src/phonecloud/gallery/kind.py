"""The gallery as a kind of user data: photos and videos, their albums, and the media pipeline that reads and
renders them. Registered in phonecloud.server.kinds; everything else that concerns all data asks this."""

from __future__ import annotations

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
from phonecloud.gallery.service import TRASH_PURGE_JOB, GalleryService
from phonecloud.media.jobs import MEDIA_JOB
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

    def usage(session, user_id: int) -> Usage:
        return Usage(*repository.usage(session, user_id))

    def usage_by_owner(session) -> dict[int, Usage]:
        return {owner: Usage(*counts) for owner, counts in repository.usage_by_owner(session).items()}

    def start_daily_purge() -> None:
        gallery.library.schedule_trash_purge(utcnow().date())  # once a day, however often asked

    return DataKind(
        name=NAME, title=KIND.title, service=gallery,
        jobs={MEDIA_JOB: lambda subject: gallery.media().process(subject),
              TRASH_PURGE_JOB: gallery.library.run_trash_purge},
        on_workers_start=start_daily_purge,
        export_sections=(GallerySection(),),
        destinations=(gallery.intake,),
        usage=usage, usage_by_owner=usage_by_owner,
        summary_fields=lambda used: {"asset_count": used.items},
        orphans=blobs.orphans,
        referenced_keys=_referenced_keys, content_sha1=blobs.content_sha1,
        scrub_totals=repository.scrub_totals, scrub_page=repository.scrub_page,
        purge_user=gallery.library.purge_user, rows_left=repository.rows_of_owner,
        manifest=repository.manifest,
        check_intake=check_intake,
        closers=(gallery.close,),
    )


def _api_routers():
    from phonecloud.gallery.routes import router

    return (router,)


def _web_routers():
    from phonecloud.gallery.web import albums, library

    return library.router, albums.router


def _template_filters():
    from phonecloud.gallery.web.views import FILTERS

    return FILTERS


KIND = Kind(
    name=NAME, title="Photos and videos", build=build, api_routers=_api_routers, web_routers=_web_routers,
    template_filters=_template_filters, templates=Path(__file__).resolve().parent / "web" / "templates",
    nav=(NavEntry("/", "timeline", "Photos"), NavEntry("/albums", "albums", "Albums"),
         NavEntry("/upload", "upload", "Upload"), NavEntry("/trash", "trash", "Trash")),
)
