"""The contacts service: address books and the contacts in them, for CardDAV (dav/), the API, the web pages
and the CLI alike. Every method takes the owner; nothing here speaks HTTP.

A contact's bytes are its vCard's UTF-8 bytes (its photo included), charged to the owner's quota in the
transaction that stores it. Every change numbers itself with its book's next revision, so that
sync-collection can answer "what changed since" from one index.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable, Iterator
from typing import BinaryIO
from dataclasses import dataclass

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from phonecloud.accounts.quota import QuotaLedger
from phonecloud.contacts import repository
from phonecloud.contacts.models import AddressBook, Contact
from phonecloud.contacts.vcard import Card, identity, parse_card, read_cards
from phonecloud.core.db import Database, utcnow
from phonecloud.core.errors import BadRequest, Conflict, NotFound, PreconditionFailed

DEFAULT_BOOK = "contacts"
DEFAULT_BOOK_NAME = "Contacts"
MAX_VCARD_BYTES = 8 << 20  # one contact with a large photo; phones send a few hundred kB at most
MAX_IMPORT_BYTES = 512 << 20  # one .vcf file: hundreds of thousands of contacts
_SLUG = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@+-]{0,199}$")
_SAFE_HREF = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@+=-]{0,200}$")


def etag_of(text: str) -> str:
    return '"%s"' % hashlib.sha256(text.encode("utf-8")).hexdigest()


def href_for(uid: str) -> str:
    """A contact's name in its book: its UID when that is a safe file name, else a digest of it."""
    name = f"{uid}.vcf"
    return name if _SAFE_HREF.match(name) else hashlib.sha256(uid.encode("utf-8")).hexdigest() + ".vcf"


def search_text(card: Card) -> str:
    digits = " ".join(re.sub(r"[^\d+]", "", phone) for phone in card.phones)
    return " ".join([card.name, card.organisation, *card.phones, digits, *card.emails]).casefold()


@dataclass(frozen=True)
class Stored:
    """What a write did: the contact as it is now, and what it replaced (None: it is new)."""

    contact: Contact
    replaced: Contact | None


@dataclass
class ImportReport:
    cards: int = 0
    imported: int = 0
    updated: int = 0
    duplicates: int = 0

    def as_dict(self) -> dict[str, int]:
        return {"cards": self.cards, "imported": self.imported, "updated": self.updated,
                "duplicates": self.duplicates}


class ContactsService:
    def __init__(self, db: Database, quota: QuotaLedger, check_intake: Callable[[int], None]):
        self.db = db
        self.quota = quota
        self.check_intake = check_intake  # owner id -> raises when they may not add contacts now

    # -- address books --------------------------------------------------------------------------------------

    def books(self, owner_id: int) -> list[AddressBook]:
        """The owner's address books, the default one first; it is made on first use."""
        with self.db.read() as session:
            found = repository.books(session, owner_id)
        if not found:
            return [self.create_book(owner_id, DEFAULT_BOOK, DEFAULT_BOOK_NAME, exist_ok=True)]
        return sorted(found, key=lambda book: book.slug != DEFAULT_BOOK)  # stable: then by creation

    def book(self, owner_id: int, slug: str) -> AddressBook:
        with self.db.read() as session:
            found = repository.book(session, owner_id, slug)
        if found is None:
            raise NotFound(f"no address book {slug!r}")
        return found

    def book_by_id(self, owner_id: int, book_id: int | None) -> AddressBook:
        """The owner's book with this id, or their default one when None."""
        if book_id is None:
            return self.books(owner_id)[0]
        with self.db.read() as session:
            found = repository.book_by_id(session, owner_id, book_id)
        if found is None:
            raise NotFound(f"no address book {book_id}")
        return found

    def create_book(self, owner_id: int, slug: str, display_name: str, props: dict | None = None,
                    exist_ok: bool = False) -> AddressBook:
        if not _SLUG.match(slug):
            raise BadRequest("an address book's name is 1 to 200 letters, digits and . _ @ + -")
        props = {**(props or {}), "tag": "VADDRESSBOOK"}
        if display_name:
            props["D:displayname"] = display_name
        try:
            with self.db.write() as session:
                book = AddressBook(owner_id=owner_id, slug=slug, display_name=display_name or slug,
                                   props=json.dumps(props, sort_keys=True), revision=0)
                session.add(book)
                session.flush()
                return book
        except IntegrityError:
            if exist_ok:
                return self.book(owner_id, slug)
            raise Conflict(f"an address book {slug!r} exists already") from None

    def set_props(self, owner_id: int, book_id: int, props: dict[str, str]) -> AddressBook:
        props = {**props, "tag": "VADDRESSBOOK"}
        with self.db.write() as session:
            book = repository.book_by_id(session, owner_id, book_id)
            if book is None:
                raise NotFound(f"no address book {book_id}")
            book.props = json.dumps(props, sort_keys=True)
            book.display_name = props.get("D:displayname") or book.slug
            repository.next_revision(session, book.id)
            return book

    def delete_book(self, owner_id: int, book_id: int) -> None:
        with self.db.write() as session:
            book = repository.book_by_id(session, owner_id, book_id)
            if book is None:
                raise NotFound(f"no address book {book_id}")
            freed = sum(contact.size_bytes for contact in repository.live(session, book.id))
            self.quota.release(session, owner_id, freed)
            session.delete(book)

    # -- contacts -------------------------------------------------------------------------------------------

    def put(self, owner_id: int, book_id: int, href: str, text: str, card: Card | None = None,
            if_match: str | None = None) -> Stored:
        """Store the vCard text at href (new or replacing), as sent: CardDAV clients get back what they put."""
        size = len(text.encode("utf-8"))
        if size > MAX_VCARD_BYTES:
            raise BadRequest(f"a contact of {size} bytes is over the limit of {MAX_VCARD_BYTES}")
        card = card or parse_card(text)
        self.check_intake(owner_id)
        try:
            with self.db.write() as session:
                return self._store(session, owner_id, book_id, href, text, card, if_match)
        except IntegrityError:  # another request stored this UID at another name meanwhile
            raise Conflict(f"a contact with UID {card.uid!r} is in this address book already") from None

    def _store(self, session: Session, owner_id: int, book_id: int, href: str, text: str, card: Card,
               if_match: str | None = None) -> Stored:
        existing = repository.entry(session, book_id, href)
        alive = existing is not None and not existing.deleted
        if if_match is not None and if_match != "*" and (not alive or existing.etag != if_match):
            raise PreconditionFailed("the contact changed since it was read (If-Match)")
        replaced = _snapshot(existing) if alive else None
        size = len(text.encode("utf-8"))
        change = size - (existing.size_bytes if alive else 0)
        if change > 0:
            self.quota.charge(session, owner_id, change)
        elif change < 0:
            self.quota.release(session, owner_id, -change)
        contact = existing or Contact(book_id=book_id, owner_id=owner_id, href=href)
        contact.uid, contact.vcard, contact.etag, contact.size_bytes = card.uid, text, etag_of(text), size
        contact.display_name, contact.search_text = card.name, search_text(card)
        contact.identity, contact.has_photo, contact.deleted = identity(card), card.photo is not None, False
        contact.revision, contact.modified_at = repository.next_revision(session, book_id), utcnow()
        if existing is None:
            session.add(contact)
        session.flush()
        return Stored(contact, replaced)

    def remove(self, owner_id: int, book_id: int, href: str, if_match: str | None = None) -> Contact:
        """Delete the contact at href, leaving a tombstone for phones that sync later."""
        with self.db.write() as session:
            contact = repository.entry(session, book_id, href)
            if contact is None or contact.deleted or contact.owner_id != owner_id:
                raise NotFound(f"no contact {href!r}")
            if if_match is not None and if_match not in ("*", contact.etag):
                raise PreconditionFailed("the contact changed since it was read (If-Match)")
            removed = _snapshot(contact)
            self.quota.release(session, owner_id, contact.size_bytes)
            contact.vcard, contact.etag, contact.size_bytes, contact.deleted = "", "", 0, True
            contact.display_name, contact.search_text, contact.has_photo = "", "", False
            contact.revision, contact.modified_at = repository.next_revision(session, book_id), utcnow()
            return removed

    def contact(self, owner_id: int, contact_id: int) -> Contact:
        with self.db.read() as session:
            found = repository.owned_contact(session, owner_id, contact_id)
        if found is None:
            raise NotFound(f"no contact {contact_id}")
        return found

    def listing(self, owner_id: int, book_id: int | None = None, query: str = "", limit: int = 100,
                offset: int = 0) -> tuple[list[Contact], int]:
        """A page of the owner's contacts by name (of one book, or all), and how many match in all."""
        words = query.casefold().split()[:10]
        with self.db.read() as session:
            found = repository.search(session, owner_id, book_id, words, limit, offset)
            total = repository.count_matching(session, owner_id, book_id, words)
        return found, total

    def import_cards(self, owner_id: int, book_id: int, cards: Iterator[Card], batch: int = 500) -> ImportReport:
        """Add each card to the book once: a card whose identity (its UID, else its name, numbers and emails)
        the book has already is a duplicate when unchanged and an update when not."""
        self.check_intake(owner_id)
        report = ImportReport()
        pending: list[Card] = []

        def flush() -> None:
            with self.db.write() as session:
                for card in pending:
                    self._import_one(session, owner_id, book_id, card, report)
            pending.clear()

        for card in cards:
            report.cards += 1
            pending.append(card)
            if len(pending) >= batch:
                flush()
        if pending:
            flush()
        return report

    def import_file(self, owner_id: int, book_id: int, source: BinaryIO) -> ImportReport:
        """Import a .vcf file (seekable: a spooled upload). It is read through once before anything is stored,
        so that a file refused at its line N (VCardError) has added nothing of the lines before."""
        source.seek(0)
        for _ in read_cards(source):
            pass
        source.seek(0)
        return self.import_cards(owner_id, book_id, read_cards(source))

    def _import_one(self, session: Session, owner_id: int, book_id: int, card: Card, report: ImportReport) -> None:
        same = (repository.live_with_identity(session, book_id, identity(card))
                or repository.live_with_uid(session, book_id, card.uid))
        if same is not None and same.etag == etag_of(card.text):
            report.duplicates += 1
            return
        self._store(session, owner_id, book_id, same.href if same else href_for(card.uid), card.text, card)
        if same is None:
            report.imported += 1
        else:
            report.updated += 1

    def every_vcard(self, owner_id: int, book_id: int | None = None, page: int = 500) -> Iterator[str]:
        """The texts of the owner's live contacts (of one book, or all), a page of rows at a time."""
        after = 0
        while True:
            with self.db.read() as session:
                rows = repository.vcards_after(session, owner_id, book_id, after, page)
            yield from (text for _, text in rows)
            if len(rows) < page:
                return
            after = rows[-1][0]


def _snapshot(contact: Contact) -> Contact:
    """A detached copy of a row's values as they are now (the row itself changes in place)."""
    return Contact(id=contact.id, book_id=contact.book_id, owner_id=contact.owner_id, href=contact.href,
                   uid=contact.uid, etag=contact.etag, vcard=contact.vcard, size_bytes=contact.size_bytes,
                   display_name=contact.display_name, modified_at=contact.modified_at)
