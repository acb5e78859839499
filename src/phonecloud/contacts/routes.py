"""HTTP routes of the contacts kind: thin adapters over its services (kind.Contacts)."""

from __future__ import annotations

import re
import tempfile
from typing import Annotated

from fastapi import APIRouter, Depends, Header, Query, Request, Response
from fastapi.responses import StreamingResponse
from starlette.concurrency import run_in_threadpool
from starlette.requests import ClientDisconnect

from phonecloud.accounts.http import current_principal
from phonecloud.accounts.service import Principal
from phonecloud.contacts import editing
from phonecloud.contacts.dav.front import MOUNT
from phonecloud.contacts.downloads import ContactId, Version, export_response, photo_response, vcard_response
from phonecloud.contacts.kind import contacts_of
from phonecloud.contacts.schemas import (BookIn, BookOut, ContactDetail, ContactIn, ContactOut, ContactPage,
                                         DavSettings, ImportOut, book_out, contact_out)
from phonecloud.contacts.service import MAX_IMPORT_BYTES
from phonecloud.contacts.vcard import VCardError
from phonecloud.core.errors import BadRequest, TooLarge, UnsupportedMedia
from phonecloud.core.http import ROW_ID_MAX, ErrorOut, RowId, error_response
from phonecloud.core.limits import ApiRoute

router = APIRouter(prefix="/contacts", tags=["contacts"], route_class=ApiRoute)
BookChoice = Annotated[int | None, Query(ge=1, le=ROW_ID_MAX, description="an address book's id (default: all, "
                                                                          "or the first for imports)")]


def _carddav_root(request: Request) -> str:
    return str(request.base_url) + MOUNT.lstrip("/") + "/"


@router.get("/books", response_model=list[BookOut])
def list_books(request: Request, principal: Principal = Depends(current_principal)):
    library = contacts_of(request).library
    return [book_out(book, library.listing(principal.user_id, book.id, limit=1)[1], _carddav_root(request),
                     principal.email) for book in library.books(principal.user_id)]


@router.post("/books", status_code=201, response_model=BookOut,
             responses={409: {"model": ErrorOut, "description": "An address book of that name exists already"}})
def create_book(body: BookIn, request: Request, principal: Principal = Depends(current_principal)):
    slug = body.slug or re.sub(r"[^A-Za-z0-9._-]+", "-", body.name).strip("-.").lower()[:100] or "address-book"
    library = contacts_of(request).library
    library.books(principal.user_id)  # the default book first, so that it stays the default
    book = library.create_book(principal.user_id, slug, body.name)
    return book_out(book, 0, _carddav_root(request), principal.email)


@router.delete("/books/{book_id}", status_code=204)
def delete_book(book_id: RowId, request: Request, principal: Principal = Depends(current_principal)):
    contacts_of(request).library.delete_book(principal.user_id, book_id)
    return Response(status_code=204)


@router.get("", response_model=ContactPage)
def list_contacts(request: Request, book: BookChoice = None, q: Annotated[str, Query(max_length=200)] = "",
                  limit: Annotated[int, Query(ge=1, le=1000)] = 100, offset: Annotated[int, Query(ge=0)] = 0,
                  principal: Principal = Depends(current_principal)):
    """The caller's contacts by name (of one address book, or all); q: words found in names, organisation,
    numbers or emails."""
    if book is not None:
        contacts_of(request).library.book_by_id(principal.user_id, book)
    found, total = contacts_of(request).library.listing(principal.user_id, book, q, limit, offset)
    return ContactPage(contacts=[contact_out(contact) for contact in found], total=total)


@router.get("/export", response_class=StreamingResponse,
            responses={200: {"content": {"text/vcard": {}}, "description": "the contacts as one .vcf file"}})
def export_contacts(request: Request, book: BookChoice = None, version: Version = "4.0",
                    principal: Principal = Depends(current_principal)):
    return export_response(contacts_of(request).library, principal.user_id, book, version)


@router.post("/imports", status_code=201, response_model=ImportOut,
             responses={415: {"model": ErrorOut,
                              "description": "Not a vCard file, or a hostile one (the line is named)"},
                        413: {"model": ErrorOut, "description": "Over the import size limit"}},
             openapi_extra={"requestBody": {"required": True, "content": {"text/vcard": {
                 "schema": {"type": "string", "format": "binary"}}}}})
async def import_vcards(request: Request, book: BookChoice = None,
                        principal: Principal = Depends(current_principal)):
    """Import a .vcf file (the raw request body) of any dialect into an address book (the default one when
    none is named). Re-importing the same file adds nothing: each contact is known by its UID, else by its
    name, numbers and emails."""
    library = contacts_of(request).library
    target = await run_in_threadpool(library.book_by_id, principal.user_id, book)
    with tempfile.SpooledTemporaryFile(max_size=8 << 20) as spool:
        received = 0
        try:
            async for chunk in request.stream():
                received += len(chunk)
                if received > MAX_IMPORT_BYTES:
                    raise TooLarge(f"a contacts file over {MAX_IMPORT_BYTES} bytes; split it", limit=MAX_IMPORT_BYTES)
                await run_in_threadpool(spool.write, chunk)
        except ClientDisconnect:
            return error_response(BadRequest("the client disconnected before the whole file arrived"))
        try:
            report = await run_in_threadpool(library.import_file, principal.user_id, target.id, spool)
        except VCardError as error:
            raise UnsupportedMedia(f"not a readable vCard file: {error}", line=error.line) from None
    return ImportOut(book_id=target.id, **report.as_dict())


@router.get("/dav", response_model=DavSettings)
def dav_settings(request: Request, principal: Principal = Depends(current_principal)):
    """What to type into DAVx⁵, iOS or Thunderbird (no password: POST makes a fresh app password)."""
    return _settings(request, principal, None)


@router.post("/dav/app-password", status_code=201, response_model=DavSettings)
def new_app_password(request: Request, device: Annotated[str, Query(max_length=200)] = "CardDAV",
                     principal: Principal = Depends(current_principal)):
    """A new app password for one phone or program: an API key of its own, revocable under Devices."""
    issued = request.app.state.services.accounts.create_api_key(principal.user_id, device)
    return _settings(request, principal, issued.key)


def _settings(request: Request, principal: Principal, password: str | None) -> DavSettings:
    book = contacts_of(request).library.books(principal.user_id)[0]
    out = book_out(book, 0, _carddav_root(request), principal.email)
    return DavSettings(server_url=str(request.base_url), carddav_url=_carddav_root(request),
                       address_book_url=out.carddav_url, username=principal.email, password=password)


@router.get("/{contact_id}", response_model=ContactDetail)
def get_contact(contact_id: ContactId, request: Request, principal: Principal = Depends(current_principal)):
    return contact_out(contacts_of(request).library.contact(principal.user_id, contact_id), detail=True)


@router.get("/{contact_id}/vcard", response_class=Response,
            responses={200: {"content": {"text/vcard": {}}, "description": "the contact as a .vcf file"}})
def download_contact(contact_id: ContactId, request: Request, version: Version = "4.0",
                     principal: Principal = Depends(current_principal)):
    return vcard_response(contacts_of(request).library.contact(principal.user_id, contact_id), version)


@router.get("/{contact_id}/photo", response_class=Response,
            responses={200: {"content": {"image/jpeg": {}}, "description": "the contact's photo (JPEG, PNG, GIF "
                                                                             "or WebP; any other is not sent)"},
                       304: {"description": "unchanged since the ETag sent in If-None-Match"}})
def contact_photo(contact_id: ContactId, request: Request, principal: Principal = Depends(current_principal)):
    contact = contacts_of(request).library.contact(principal.user_id, contact_id)
    return photo_response(contact, request.headers.get("if-none-match"))


@router.put("/{contact_id}", response_model=ContactOut)
def edit_contact(contact_id: ContactId, body: ContactIn, request: Request,
                 if_match: Annotated[str | None, Header()] = None,
                 principal: Principal = Depends(current_principal)):
    """Change a contact's name, organisation, numbers and emails; its other properties (photo included) are
    kept. Phones get the change at their next sync. If-Match: the etag read, to refuse overwriting a change
    made meanwhile (412)."""
    library = contacts_of(request).library
    contact = library.contact(principal.user_id, contact_id)
    text = editing.edited(contact.vcard, body.name, body.organisation, body.phones, body.emails)
    stored = library.put(principal.user_id, contact.book_id, contact.href, text, if_match=if_match or contact.etag)
    return contact_out(stored.contact)


@router.delete("/{contact_id}", status_code=204)
def delete_contact(contact_id: ContactId, request: Request, if_match: Annotated[str | None, Header()] = None,
                   principal: Principal = Depends(current_principal)):
    library = contacts_of(request).library
    contact = library.contact(principal.user_id, contact_id)
    library.remove(principal.user_id, contact.book_id, contact.href, if_match)
    return Response(status_code=204)
