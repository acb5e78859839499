"""The contacts kind's tables: address books and the contacts in them.

A contact is kept as the vCard text its client sent (or the import normalised), with the columns that lists,
search and de-duplication need beside it. A deleted contact stays as a tombstone (no text) so that a phone
syncing with an older sync token is told of the deletion (RFC 6578): every change takes the next number of
its address book's `revision`, and a sync token is that number.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import BigInteger, Boolean, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from phonecloud.core.db import BIG_ROW_ID, Base, UTCDateTime, utcnow


class AddressBook(Base):
    __tablename__ = "address_books"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    owner_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    slug: Mapped[str] = mapped_column(String(255))  # its name in CardDAV paths
    display_name: Mapped[str] = mapped_column(Text, default="")
    props: Mapped[str] = mapped_column(Text, default="{}")  # JSON: the WebDAV properties clients set
    revision: Mapped[int] = mapped_column(BigInteger, default=0)  # the number of the last change
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    modified_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    __table_args__ = (UniqueConstraint("owner_id", "slug", name="uq_address_books_owner_slug"),)


class Contact(Base):
    __tablename__ = "contacts"

    id: Mapped[int] = mapped_column(BIG_ROW_ID, primary_key=True, autoincrement=True)
    book_id: Mapped[int] = mapped_column(ForeignKey("address_books.id", ondelete="CASCADE"))
    owner_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    href: Mapped[str] = mapped_column(String(255))  # its name in the address book ("….vcf")
    uid: Mapped[str] = mapped_column(Text)
    etag: Mapped[str] = mapped_column(String(80), default="")  # quoted, as HTTP sends it; "" for a tombstone
    vcard: Mapped[str] = mapped_column(Text, default="")
    size_bytes: Mapped[int] = mapped_column(BigInteger, default=0)  # the vCard's UTF-8 bytes: its photo too
    display_name: Mapped[str] = mapped_column(Text, default="")
    search_text: Mapped[str] = mapped_column(Text, default="")  # casefolded names, organisation, phones, emails
    identity: Mapped[str] = mapped_column(String(80), default="")  # vcard.identity: re-imports add nothing
    has_photo: Mapped[bool] = mapped_column(Boolean, default=False)
    deleted: Mapped[bool] = mapped_column(Boolean, default=False)
    revision: Mapped[int] = mapped_column(BigInteger, default=0)
    modified_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    __table_args__ = (
        UniqueConstraint("book_id", "href", name="uq_contacts_book_href"),
        Index("ix_contacts_book_revision", "book_id", "revision"),
        Index("ix_contacts_book_identity", "book_id", "identity"),
        Index("ix_contacts_book_name", "book_id", "display_name"),
    )
