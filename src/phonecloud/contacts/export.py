"""The contacts kind's part of a full export ("Download all"): `Takeout/Contacts/` with each address book as
one .vcf file in vCard 4.0, and the same in vCard 3.0 (for older phones, and iOS) under `vCard 3.0/`.

Each file is written when the export is prepared, streamed into a blob named by its content
(users/{owner}/contacts/exports/{sha256}), and placed in the archive as originals are; a later export of
unchanged contacts makes the same files and reuses them; recovery removes those no export lists any more.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from functools import partial

from sqlalchemy import select
from sqlalchemy.orm import Session

from phonecloud.contacts.models import AddressBook, Contact
from phonecloud.contacts.service import ContactsService
from phonecloud.contacts.vcard import to_version
from phonecloud.core.blobstore import BlobStore
from phonecloud.core.kinds import Orphan
from phonecloud.core.names import safe_filename
from phonecloud.portability.models import ExportEntry
from phonecloud.portability.sections import ExportContext, ExportFile, GeneratedSection

FOLDER = "Takeout/Contacts"
VERSIONS = {"4.0": FOLDER, "3.0": f"{FOLDER}/vCard 3.0"}
KIND = "contacts"
_EXPORT = re.compile(r"^users/(\d+)/contacts/exports/[0-9a-f]{64}$")


def export_key(owner_id: int, sha256: str) -> str:
    return f"users/{owner_id}/contacts/exports/{sha256}"


class ContactsSection(GeneratedSection):
    name = "contacts"
    kind = KIND

    def __init__(self, blobs: BlobStore, library: ContactsService):
        super().__init__(blobs)
        self.library = library

    def files(self, session: Session, context: ExportContext) -> Iterator[ExportFile]:
        books = list(session.scalars(select(AddressBook).where(AddressBook.owner_id == context.owner_id)
                                     .order_by(AddressBook.id)))
        names: set[str] = set()
        for book in books:
            if not session.scalar(select(Contact.id).where(Contact.book_id == book.id,
                                                           Contact.deleted.is_(False)).limit(1)):
                continue
            filename = _unique(safe_filename(book.display_name or book.slug, "vcf"), names)
            mtime = int(book.modified_at.timestamp())
            for version, folder in VERSIONS.items():
                yield self.stored(f"{folder}/{filename}", mtime, partial(export_key, context.owner_id),
                                  partial(self._write, context.owner_id, book.id, version))

    def _write(self, owner_id: int, book_id: int, version: str, out) -> None:
        for text in self.library.every_vcard(owner_id, book_id):
            out.write(to_version(text, version).encode("utf-8"))


def _unique(filename: str, taken: set[str]) -> str:
    """Two books of one name become "Name.vcf" and "Name (2).vcf"."""
    stem, _, extension = filename.rpartition(".")
    candidate, number = filename, 1
    while candidate.casefold() in taken:
        number += 1
        candidate = f"{stem} ({number}).{extension}"
    taken.add(candidate.casefold())
    return candidate


def orphans(session: Session, keys: Sequence[str]) -> list[Orphan]:
    """Of these keys, the export files no export lists any more."""
    exports = {key: int(match.group(1)) for key in keys if (match := _EXPORT.match(key))}
    if not exports:
        return []
    kept = set(session.scalars(select(ExportEntry.blob_key).where(ExportEntry.blob_key.in_(list(exports)))))
    return [Orphan(key, owner, "contacts export file") for key, owner in exports.items() if key not in kept]
