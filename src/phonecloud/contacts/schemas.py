"""The contacts API's bodies and answers."""

from __future__ import annotations

import datetime as dt
from typing import ClassVar
from urllib.parse import quote

from pydantic import BaseModel, Field

from phonecloud.contacts.models import AddressBook, Contact
from phonecloud.contacts.vcard import parse_card


class BookOut(BaseModel):
    id: int
    slug: str
    name: str
    contacts: int
    carddav_url: str


class BookIn(BaseModel):
    max_body_bytes: ClassVar[int] = 4096
    name: str = Field(min_length=1, max_length=200)
    slug: str | None = Field(default=None, max_length=200, description="its name in CardDAV paths")


class ContactOut(BaseModel):
    id: int
    book_id: int
    uid: str
    name: str
    organisation: str
    phones: list[str]
    emails: list[str]
    has_photo: bool
    etag: str
    modified_at: dt.datetime


class ContactDetail(ContactOut):
    vcard: str


class ContactPage(BaseModel):
    contacts: list[ContactOut]
    total: int


class ContactIn(BaseModel):
    """An edit from the web app: these fields replace the card's own; every other property is kept."""

    max_body_bytes: ClassVar[int] = 64 << 10
    name: str = Field(min_length=1, max_length=500)
    organisation: str = Field(default="", max_length=500)
    phones: list[str] = Field(default_factory=list, max_length=50)
    emails: list[str] = Field(default_factory=list, max_length=50)


class ImportOut(BaseModel):
    book_id: int
    cards: int
    imported: int
    updated: int
    duplicates: int


class DavSettings(BaseModel):
    server_url: str = Field(description="what DAVx⁵, iOS and Thunderbird ask for: discovery starts there")
    carddav_url: str = Field(description="the CardDAV root (/dav/)")
    address_book_url: str
    username: str
    password: str | None = Field(default=None, description="a new app password (an API key), when asked for")


def book_out(book: AddressBook, count: int, carddav_root: str, email: str) -> BookOut:
    return BookOut(id=book.id, slug=book.slug, name=book.display_name, contacts=count,
                   carddav_url=f"{carddav_root}{quote(email)}/{quote(book.slug)}/")


def contact_out(contact: Contact, detail: bool = False) -> ContactOut:
    card = parse_card(contact.vcard)
    fields = dict(id=contact.id, book_id=contact.book_id, uid=contact.uid, name=contact.display_name,
                  organisation=card.organisation, phones=list(card.phones), emails=list(card.emails),
                  has_photo=contact.has_photo, etag=contact.etag, modified_at=contact.modified_at)
    return ContactDetail(**fields, vcard=contact.vcard) if detail else ContactOut(**fields)
