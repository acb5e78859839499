"""Contacts as a kind of user data: address books synced live with phones over CardDAV (Radicale, over
phonecloud's database), vCard files of every dialect imported, and everything given back as .vcf.
Registered in phonecloud.server.kinds; everything else that concerns all data asks this."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from phonecloud.accounts.basic import BasicSignIn
from phonecloud.accounts.models import User
from phonecloud.accounts.service import Principal, Standing
from phonecloud.contacts import models  # noqa: F401  (registers the tables)
from phonecloud.contacts import repository
from phonecloud.contacts.dav.front import MOUNT, CardDav
from phonecloud.contacts.export import ContactsSection, orphans
from phonecloud.contacts.purge import purge_user
from phonecloud.contacts.service import ContactsService
from phonecloud.contacts.vcard import to_version
from phonecloud.core.kinds import DataKind, Kind, NavEntry, PortableFile, Record, Usage

NAME = "contacts"


@dataclass
class Contacts:
    """The kind's services, as its routes, pages and CardDAV use them."""

    library: ContactsService
    dav: CardDav


def contacts_of(request) -> Contacts:
    return request.app.state.services.kind(NAME).service


def build(running) -> DataKind:
    def check_intake(owner_id: int) -> None:
        with running.db.read() as session:
            user = session.get(User, owner_id)
        running.gate.check(Principal(user.id, user.email, user.is_admin, standing=Standing.of(user)), NAME)

    library = ContactsService(running.db, running.quota, check_intake)
    contacts = Contacts(library, CardDav(library, BasicSignIn(running.accounts), running.settings.trusted_proxies))

    def usage(session, user_id: int) -> Usage:
        return Usage(*repository.usage(session, user_id))

    def usage_by_owner(session) -> dict[int, Usage]:
        return {owner: Usage(*counts) for owner, counts in repository.usage_by_owner(session).items()}

    def purge(user_id: int, record: Record) -> None:
        purge_user(running.db, running.quota, user_id, record)

    def portable_files(user_id: int) -> list[PortableFile]:
        with running.db.read() as session:
            if not repository.usage(session, user_id)[0]:
                return []

        def write(path) -> int:
            cards = 0
            with open(path, "w", encoding="utf-8", newline="") as out:
                for text in library.every_vcard(user_id):
                    out.write(to_version(text, "4.0"))
                    cards += 1
            return cards

        return [PortableFile("contacts", write)]

    return DataKind(
        name=NAME, title=KIND.title, service=contacts,
        export_sections=(ContactsSection(running.blobs, library),),
        orphans=orphans,
        usage=usage, usage_by_owner=usage_by_owner,
        purge_user=purge, rows_left=repository.rows_of_owner,
        portable_files=portable_files,
        check_intake=lambda principal: running.gate.check(principal, NAME),
    )


def _api_routers():
    from phonecloud.contacts.routes import router

    return (router,)


def _web_routers():
    from phonecloud.contacts.dav.mount import well_known
    from phonecloud.contacts.web.pages import router

    return (well_known, router)


def _mounts():
    from phonecloud.contacts.dav.mount import DavMount

    return ((MOUNT, DavMount(NAME)),)


KIND = Kind(
    name=NAME, title="Contacts", build=build, api_routers=_api_routers, web_routers=_web_routers,
    templates=Path(__file__).resolve().parent / "web" / "templates",
    static=Path(__file__).resolve().parent / "web" / "static",
    mounts=_mounts, nav=(NavEntry("/contacts", "contacts", "Contacts"),),
    migrations=Path(__file__).resolve().parent / "migrations",
)
