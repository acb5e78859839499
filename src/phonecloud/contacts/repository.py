"""The contacts kind's queries. Every one names its owner: an address book is found by owner and slug (or id),
a contact through its owner's book."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from phonecloud.contacts.models import AddressBook, Contact
from phonecloud.core.db import utcnow

OWNED_TABLES = (Contact, AddressBook)


def books(session: Session, owner_id: int) -> list[AddressBook]:
    return list(session.scalars(select(AddressBook).where(AddressBook.owner_id == owner_id)
                                .order_by(AddressBook.id)))


def book(session: Session, owner_id: int, slug: str) -> AddressBook | None:
    return session.scalar(select(AddressBook).where(AddressBook.owner_id == owner_id, AddressBook.slug == slug))


def book_by_id(session: Session, owner_id: int, book_id: int) -> AddressBook | None:
    return session.scalar(select(AddressBook).where(AddressBook.owner_id == owner_id, AddressBook.id == book_id))


def next_revision(session: Session, book_id: int) -> int:
    """The number of a new change of this book. The UPDATE holds the book's row until the transaction ends,
    so changes of one book are numbered one after another whatever the number of processes."""
    session.execute(update(AddressBook).where(AddressBook.id == book_id)
                    .values(revision=AddressBook.revision + 1, modified_at=utcnow()))
    return session.scalar(select(AddressBook.revision).where(AddressBook.id == book_id))


def entry(session: Session, book_id: int, href: str) -> Contact | None:
    """The contact at href, tombstone included."""
    return session.scalar(select(Contact).where(Contact.book_id == book_id, Contact.href == href))


def live(session: Session, book_id: int, hrefs: Sequence[str] | None = None) -> list[Contact]:
    query = select(Contact).where(Contact.book_id == book_id, Contact.deleted.is_(False))
    if hrefs is not None:
        query = query.where(Contact.href.in_(hrefs))
    return list(session.scalars(query.order_by(Contact.id)))


def live_with_uid(session: Session, book_id: int, uid: str) -> Contact | None:
    return session.scalar(select(Contact).where(Contact.book_id == book_id, Contact.uid == uid,
                                                Contact.deleted.is_(False)))


def live_with_identity(session: Session, book_id: int, identity: str) -> Contact | None:
    return session.scalar(select(Contact).where(Contact.book_id == book_id, Contact.identity == identity,
                                                Contact.deleted.is_(False)).limit(1))


def changed_since(session: Session, book_id: int, revision: int) -> list[str]:
    """The hrefs changed (or deleted) after the given revision."""
    return list(session.scalars(select(Contact.href).where(Contact.book_id == book_id,
                                                           Contact.revision > revision)))


def owned_contact(session: Session, owner_id: int, contact_id: int) -> Contact | None:
    return session.scalar(select(Contact).where(Contact.id == contact_id, Contact.owner_id == owner_id,
                                                Contact.deleted.is_(False)))


def _matching(owner_id: int, book_id: int | None, words: Iterable[str]) -> list:
    """The conditions for the owner's live contacts (of one book, or all) with each word in their names,
    organisation, numbers or emails."""
    conditions = [Contact.owner_id == owner_id, Contact.deleted.is_(False)]
    if book_id is not None:
        conditions.append(Contact.book_id == book_id)
    for word in words:
        escaped = word.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        conditions.append(Contact.search_text.like(f"%{escaped}%", escape="\\"))
    return conditions


def search(session: Session, owner_id: int, book_id: int | None, words: Iterable[str], limit: int,
           offset: int) -> list[Contact]:
    return list(session.scalars(select(Contact).where(*_matching(owner_id, book_id, words))
                                .order_by(func.lower(Contact.display_name), Contact.id).limit(limit).offset(offset)))


def count_matching(session: Session, owner_id: int, book_id: int | None, words: Iterable[str]) -> int:
    return session.scalar(select(func.count()).select_from(Contact).where(*_matching(owner_id, book_id, words))) or 0


def usage(session: Session, owner_id: int) -> tuple[int, int]:
    items, size = session.execute(select(func.count(), func.coalesce(func.sum(Contact.size_bytes), 0))
                                  .where(Contact.owner_id == owner_id, Contact.deleted.is_(False))).one()
    return items, size


def usage_by_owner(session: Session) -> dict[int, tuple[int, int]]:
    rows = session.execute(select(Contact.owner_id, func.count(), func.sum(Contact.size_bytes))
                           .where(Contact.deleted.is_(False)).group_by(Contact.owner_id))
    return {owner_id: (items, size) for owner_id, items, size in rows}


def rows_of_owner(session: Session, owner_id: int) -> int:
    return sum(session.scalar(select(func.count()).select_from(table).where(table.owner_id == owner_id)) or 0
               for table in OWNED_TABLES)


def delete_batch(session: Session, owner_id: int, limit: int) -> tuple[int, int, int]:
    """Delete up to `limit` of the owner's contacts: (rows, live contacts, their bytes)."""
    batch = list(session.execute(select(Contact.id, Contact.deleted, Contact.size_bytes)
                                 .where(Contact.owner_id == owner_id).limit(limit)))
    if not batch:
        return 0, 0, 0
    session.execute(delete(Contact).where(Contact.id.in_([row[0] for row in batch])))
    alive = [row for row in batch if not row[1]]
    return len(batch), len(alive), sum(row[2] for row in alive)


def delete_books(session: Session, owner_id: int) -> int:
    return session.execute(delete(AddressBook).where(AddressBook.owner_id == owner_id)).rowcount


def vcards_after(session: Session, owner_id: int, book_id: int | None, after: int,
                 limit: int) -> list[tuple[int, str]]:
    query = select(Contact.id, Contact.vcard).where(Contact.owner_id == owner_id, Contact.deleted.is_(False),
                                                    Contact.id > after)
    if book_id is not None:
        query = query.where(Contact.book_id == book_id)
    return list(session.execute(query.order_by(Contact.id).limit(limit)))
