"""Radicale's storage interface over phonecloud's database (contacts.service): what lets many API processes on
PostgreSQL + S3 serve CardDAV, where Radicale's own storage needs one local disk.

Paths are Radicale's: "" (the root), "{email}" (the principal), "{email}/{book}" (an address book) and
"{email}/{book}/{href}" (a contact). A path whose first segment is not the caller's email finds nothing: the
rights plugin refuses it first, and the storage could not reach another user's rows anyway.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from email.utils import format_datetime

from radicale import item as radicale_item
from radicale import pathutils, types
from radicale.item import filter as radicale_filter
from radicale.storage import BaseCollection, BaseStorage

from phonecloud.contacts import repository
from phonecloud.contacts.dav import caller
from phonecloud.contacts.models import AddressBook, Contact
from phonecloud.contacts.service import ContactsService, href_for
from phonecloud.core.errors import BadRequest, Conflict, Forbidden, NotFound, QuotaExceeded

TOKEN_PREFIX = "http://phonecloud.org/ns/sync/"


def _http_date(moment) -> str:
    return format_datetime(moment, usegmt=True)


class Collection(BaseCollection):
    def __init__(self, storage: Storage, path: str, owner_id: int | None = None, book: AddressBook | None = None):
        self._storage = storage
        self._path = path
        self._owner_id = owner_id
        self._book = book

    @property
    def _contacts(self) -> ContactsService:
        return self._storage.contacts

    @property
    def path(self) -> str:
        return self._path

    @property
    def etag(self) -> str:
        book = self._book
        return f'"{book.id}-{book.revision}"' if book else f'"{self._path}"'

    @property
    def last_modified(self) -> str:
        return _http_date(self._book.modified_at) if self._book else _http_date(self._storage.started)

    def get_meta(self, key: str | None = None):
        meta = json.loads(self._book.props) if self._book else {}
        return meta if key is None else meta.get(key)

    def set_meta(self, props: Mapping[str, str]) -> None:
        if self._book is None:
            raise ValueError("only an address book has properties to set here")
        self._book = self._contacts.set_props(self._owner_id, self._book.id, dict(props))

    def sync(self, old_token: str = "") -> tuple[str, Iterable[str]]:
        token = f"{TOKEN_PREFIX}{self._book.id}-{self._book.revision}"
        if not old_token:
            return token, [item.href for item in self.get_all()]
        book_id, _, revision = old_token.removeprefix(TOKEN_PREFIX).partition("-")
        if (not old_token.startswith(TOKEN_PREFIX) or book_id != str(self._book.id) or not revision.isdigit()
                or int(revision) > self._book.revision):
            raise ValueError(f"not a sync token of this address book: {old_token!r}")
        with self._contacts.db.read() as session:
            return token, repository.changed_since(session, self._book.id, int(revision))

    def _item(self, contact: Contact) -> radicale_item.Item:
        return radicale_item.Item(
            collection=self, href=contact.href, last_modified=_http_date(contact.modified_at), text=contact.vcard,
            etag=contact.etag, uid=contact.uid, name="VCARD", component_name="",
            time_range=(radicale_filter.TIMESTAMP_MIN, radicale_filter.TIMESTAMP_MAX))

    def _live(self, hrefs: list[str] | None = None) -> list[Contact]:
        if self._book is None:
            return []
        with self._contacts.db.read() as session:
            return repository.live(session, self._book.id, hrefs)

    def get_multi(self, hrefs: Iterable[str]) -> Iterator[tuple[str, radicale_item.Item | None]]:
        wanted = list(dict.fromkeys(hrefs))
        found = {}
        for start in range(0, len(wanted), 500):  # bounded IN lists
            found.update((contact.href, contact) for contact in self._live(wanted[start:start + 500]))
        for href in wanted:
            yield href, self._item(found[href]) if href in found else None

    def get_all(self) -> Iterator[radicale_item.Item]:
        return (self._item(contact) for contact in self._live())

    def has_uid(self, uid: str) -> bool:
        if self._book is None:
            return False
        with self._contacts.db.read() as session:
            return repository.live_with_uid(session, self._book.id, uid) is not None

    def upload(self, href: str, item: radicale_item.Item) -> tuple[radicale_item.Item, radicale_item.Item | None]:
        if self._book is None:
            raise ValueError("contacts belong in an address book")
        try:
            stored = self._contacts.put(self._owner_id, self._book.id, href, item.serialize())
        except QuotaExceeded as error:  # Radicale answers 507 Insufficient Storage for ENOSPC
            raise ValueError(f"[Errno 28] {error.message}") from None
        except Forbidden as error:  # and 403 for EPERM
            raise ValueError(f"[Errno 1] {error.message}") from None
        except (BadRequest, Conflict) as error:
            raise ValueError(error.message) from None
        replaced = self._item(stored.replaced) if stored.replaced is not None else None
        return self._item(stored.contact), replaced

    def delete(self, href: str | None = None) -> None:
        if self._book is None:
            raise ValueError("only address books and contacts can be deleted here")
        if href is None:
            self._contacts.delete_book(self._owner_id, self._book.id)
            return
        try:
            self._contacts.remove(self._owner_id, self._book.id, href)
        except NotFound:
            pass  # deleted meanwhile by another client: what this one wanted


class Storage(BaseStorage):
    _is_collision_free = True
    _supports_unicode = True

    def __init__(self, configuration, contacts: ContactsService, started):
        super().__init__(configuration)
        self.contacts = contacts
        self.started = started

    @staticmethod
    def _owner_id(email: str) -> int | None:
        principal = caller.current()
        return principal.user_id if principal is not None and principal.email == email else None

    def discover(self, path: str, depth: str = "0", child_context_manager=None,
                 user_groups=frozenset()) -> Iterator[types.CollectionOrItem]:
        parts = [part for part in pathutils.strip_path(path).split("/") if part]
        if not parts:
            yield Collection(self, "")
            return
        owner_id = self._owner_id(parts[0])
        if owner_id is None or len(parts) > 3:
            return
        if len(parts) == 1:
            # Radicale looks its caller's principal up first on every request: the default book is made there
            books = self.contacts.books(owner_id)
            yield Collection(self, parts[0], owner_id)
            if depth != "0":
                yield from (Collection(self, f"{parts[0]}/{book.slug}", owner_id, book) for book in books)
            return
        try:
            book = self.contacts.book(owner_id, parts[1])
        except NotFound:
            return
        collection = Collection(self, f"{parts[0]}/{book.slug}", owner_id, book)
        if len(parts) == 3:
            yield from (item for _, item in collection.get_multi([parts[2]]) if item is not None)
            return
        yield collection
        if depth != "0":
            yield from collection.get_all()

    def create_collection(self, href: str, items=None, props=None):
        parts = [part for part in pathutils.strip_path(href).split("/") if part]
        owner_id = self._owner_id(parts[0]) if parts else None
        if owner_id is None or len(parts) > 2:
            raise ValueError("[Errno 1] collections are made only in one's own principal")
        if len(parts) == 1:
            return Collection(self, parts[0], owner_id), {}, []
        props = dict(props or {})
        if props.get("tag", "VADDRESSBOOK") != "VADDRESSBOOK":
            raise ValueError("[Errno 1] phonecloud keeps address books here, not calendars")
        try:
            book = self.contacts.create_book(owner_id, parts[1], props.get("D:displayname", ""), props)
        except BadRequest as error:
            raise ValueError(error.message) from None
        except Conflict:
            book = self.contacts.set_props(owner_id, self.contacts.book(owner_id, parts[1]).id, props)
        collection = Collection(self, f"{parts[0]}/{book.slug}", owner_id, book)
        replaced, new = {}, []
        for item in items or ():
            uploaded, old = collection.upload(href_for(item.uid), item)
            if old is not None:
                replaced[uploaded.href] = old
            else:
                new.append(uploaded.href)
        return collection, replaced, new

    def move(self, item: radicale_item.Item, to_collection: BaseCollection, to_href: str) -> None:
        to_collection.upload(to_href, item)
        item.collection.delete(item.href)

    @contextmanager
    def acquire_lock(self, mode: str, user: str = "", *args, **kwargs) -> Iterator[None]:
        # Every change is one database transaction, and the database orders them across processes.
        yield

    def verify(self) -> bool:
        return True
