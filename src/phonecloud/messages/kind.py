"""Messages as a kind of user data: SMS, MMS and call logs from the phones' backup apps, imported through the
general intake, browsed and searched, and given back in either app's format. Registered in
phonecloud.server.kinds; everything else that concerns all data asks this."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from phonecloud.core.kinds import DataKind, Kind, NavEntry, PortableFile, Record, Usage
from phonecloud.messages import blobs, repository
from phonecloud.messages import models  # noqa: F401  (registers the tables)
from phonecloud.messages.export import MessagesSection
from phonecloud.messages.exporter import SMS_BACKUP_RESTORE
from phonecloud.messages.importer import IMPORT_JOB, ImportService
from phonecloud.messages.intake import DESTINATION, MessagesIntake
from phonecloud.messages.purge import purge_user
from phonecloud.messages.service import MessagesService
from phonecloud.messages.thumbnails import Thumbnails, sandbox_factory

NAME = DESTINATION


@dataclass
class Messages:
    """The kind's services, as its routes (and pages) use them."""

    library: MessagesService
    intake: MessagesIntake
    imports: ImportService
    thumbnails: Thumbnails


def messages_of(request) -> Messages:
    """The messages kind's services for a request (its app's: see phonecloud.server.container)."""
    return request.app.state.services.kind(NAME).service


def build(running) -> DataKind:
    """The messages kind bound to the running server's services (phonecloud.server.container.Services)."""

    def check_intake(principal) -> None:
        running.gate.check(principal, NAME)

    library = MessagesService(running.db, running.blobs, running.quota)
    messages = Messages(
        library=library,
        intake=MessagesIntake(running.db, running.blobs, running.quota, running.jobs,
                              running.settings.max_upload_bytes, check_intake),
        imports=ImportService(running.db, running.blobs, running.quota),
        thumbnails=Thumbnails(running.blobs, sandbox_factory(running.settings)),
    )

    def usage(session, user_id: int) -> Usage:
        return Usage(*repository.usage(session, user_id))

    def usage_by_owner(session) -> dict[int, Usage]:
        return {owner: Usage(*counts) for owner, counts in repository.usage_by_owner(session).items()}

    def purge(user_id: int, record: Record) -> None:
        purge_user(running.db, running.blobs, running.quota, user_id, record)

    def portable_files(user_id: int) -> list[PortableFile]:
        with running.db.read() as session:
            if not repository.usage(session, user_id)[0]:
                return []

        def writer(holds: str):
            def write(path) -> None:
                with open(path, "wb") as out:
                    library.write_export(user_id, SMS_BACKUP_RESTORE, holds, out)
            return write

        return [PortableFile(holds, writer(holds)) for holds in ("messages", "calls")]

    return DataKind(
        name=NAME, title=KIND.title, service=messages,
        jobs={IMPORT_JOB: messages.imports.run},
        export_sections=(MessagesSection(running.blobs, library.exporter),),
        destinations=(messages.intake,),
        usage=usage, usage_by_owner=usage_by_owner,
        orphans=blobs.orphans, referenced_keys=blobs.referenced_keys, content_sha1=blobs.content_sha1,
        scrub_totals=repository.scrub_totals,
        scrub_page=lambda session, after, derived: repository.scrub_page(session, after),
        purge_user=purge, rows_left=repository.rows_of_owner,
        portable_files=portable_files,
        check_intake=check_intake,
        closers=(messages.thumbnails.close,),
    )


def _api_routers():
    from phonecloud.messages.routes import router

    return (router,)


def _web_routers():
    from phonecloud.messages.web.pages import router

    return (router,)


def _template_filters():
    from phonecloud.messages.web.views import FILTERS

    return FILTERS


_WEB = Path(__file__).resolve().parent / "web"

KIND = Kind(
    name=NAME, title="Messages and calls", build=build, api_routers=_api_routers, web_routers=_web_routers,
    template_filters=_template_filters, templates=_WEB / "templates", static=_WEB / "static",
    nav=(NavEntry("/messages", "messages", "Messages"),),
    migrations=Path(__file__).resolve().parent / "migrations",
)
