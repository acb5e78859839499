"""What the API and the web pages both send of contacts: a contact's photo (only an image format a browser
shows, by its first bytes: the type a card declares is not trusted, and an SVG could carry scripts), one
contact's .vcf, and an address book (or all) as one .vcf written as it is sent."""

from __future__ import annotations

import hashlib
import re
from typing import Annotated
from urllib.parse import quote

from fastapi import Path, Query
from starlette.responses import Response, StreamingResponse

from phonecloud.contacts.models import Contact
from phonecloud.contacts.service import ContactsService
from phonecloud.contacts.vcard import Card, parse_card, to_version
from phonecloud.core.errors import NotFound
from phonecloud.core.names import display_name

VCARD_TYPE = "text/vcard; charset=utf-8"
ContactId = Annotated[int, Path(ge=1, le=2**63 - 1)]  # the table's 64-bit key
Version = Annotated[str, Query(pattern=r"^(3\.0|4\.0)$", description="vCard version of the answer")]
NOT_CACHED = {"Cache-Control": "no-store", "X-Content-Type-Options": "nosniff"}
_IMAGE_MAGIC = ((b"\xff\xd8\xff", "image/jpeg"), (b"\x89PNG\r\n\x1a\n", "image/png"), (b"GIF87a", "image/gif"),
                (b"GIF89a", "image/gif"))


def photo_of(card: Card | None) -> tuple[bytes, str] | None:
    """The card's photo and its type, when its bytes are a JPEG, PNG, GIF or WebP image; else None."""
    if card is None or not card.photo:
        return None
    data = bytes(card.photo)
    for magic, media_type in _IMAGE_MAGIC:
        if data.startswith(magic):
            return data, media_type
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return data, "image/webp"
    return None


def photo_etag(contact: Contact) -> str:
    return '"photo-%s"' % hashlib.sha256(contact.etag.encode()).hexdigest()[:24]


def photo_response(contact: Contact, if_none_match: str | None) -> Response:
    etag = photo_etag(contact)
    headers = {"ETag": etag, "Cache-Control": "private, no-cache", "X-Content-Type-Options": "nosniff",
               "Content-Security-Policy": "default-src 'none'; sandbox", "Content-Disposition": "inline"}
    if if_none_match == etag:
        return Response(status_code=304, headers=headers)
    photo = photo_of(parse_card(contact.vcard)) if contact.has_photo else None
    if photo is None:
        raise NotFound("this contact has no photo a browser can show")
    data, media_type = photo
    return Response(data, media_type=media_type, headers=headers)


def download_name(name: str, fallback: str = "contact") -> str:
    """A file name for a .vcf download: the name without what a file system or header cannot hold."""
    cleaned = re.sub(r'[\x00-\x1f\x7f/\\:*?"<>|]+', "_", display_name(name)).strip(" ._") or fallback
    return cleaned[:100] + ".vcf"


def attachment(filename: str) -> str:
    """Content-Disposition for a download: an ASCII name for old clients, the real one (RFC 6266) for others."""
    ascii_name = re.sub(r"[^A-Za-z0-9 ()._-]+", "_", filename).strip() or "contacts.vcf"
    return f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(filename, safe='')}"


def vcard_response(contact: Contact, version: str) -> Response:
    return Response(to_version(contact.vcard, version), media_type=VCARD_TYPE,
                    headers={"Content-Disposition": attachment(download_name(contact.display_name)), **NOT_CACHED})


def export_response(library: ContactsService, owner_id: int, book_id: int | None, version: str) -> StreamingResponse:
    """One address book, or all of them, as one .vcf file in vCard 4.0 or 3.0."""
    name = download_name(library.book_by_id(owner_id, book_id).slug) if book_id else "contacts.vcf"
    if version == "3.0":
        name = name[:-4] + " (vCard 3.0).vcf"
    texts = library.every_vcard(owner_id, book_id)
    return StreamingResponse((to_version(text, version).encode("utf-8") for text in texts), media_type=VCARD_TYPE,
                             headers={"Content-Disposition": attachment(name), **NOT_CACHED})
