"""The Contacts pages: the list (search, address books, import, download), a contact's card with its edit and
delete, and the settings a phone or program needs to sync over CardDAV. They read and write through the same
service as the API and CardDAV (`contacts_of(request).library`); every contact is looked up with its owner, so
another user's id answers 404 as one that never existed."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from fastapi.routing import APIRoute
from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile

from phonecloud.accounts.service import Principal
from phonecloud.contacts import editing
from phonecloud.contacts.dav.front import MOUNT
from phonecloud.contacts.downloads import (NOT_CACHED, ContactId, Version, export_response, photo_response,
                                           vcard_response)
from phonecloud.contacts.kind import contacts_of
from phonecloud.contacts.models import AddressBook
from phonecloud.contacts.schemas import ContactIn
from phonecloud.contacts.service import MAX_IMPORT_BYTES, ImportReport
from phonecloud.contacts.vcard import VCardError
from phonecloud.contacts.web import views
from phonecloud.core.errors import BadRequest, Forbidden, NotFound, PhonecloudError, PreconditionFailed
from phonecloud.core.http import services
from phonecloud.web import session
from phonecloud.web.pages import (
    SignInRequired,
    WebRoute,
    error_page,
    redirect,
    render,
    signed_in,
)

router = APIRouter(route_class=WebRoute, include_in_schema=False)

PAGE_SIZE = 100  # contacts per page of the list
MAX_FIELD_LENGTH = 500  # a number or an email typed on the edit page


# -- helpers ---------------------------------------------------------------------------------------------------

def _book_id(text: str) -> int | None:
    """The ?book= of a link or form: empty for every book, else an id (anything else names no book)."""
    text = text.strip()
    if not text:
        return None
    if not text.isdigit() or len(text) > 18:
        raise NotFound(f"no address book {text!r}")
    return int(text)


@dataclass(frozen=True)
class BookChoice:
    id: int
    name: str
    count: int


def _books(request: Request, me: Principal) -> list[BookChoice]:
    library = contacts_of(request).library
    return [BookChoice(book.id, views.clean(book.display_name) or book.slug,
                       library.listing(me.user_id, book.id, limit=1)[1]) for book in library.books(me.user_id)]


def _summary(report: ImportReport) -> str:
    if report.cards == 0:
        return "no contacts in this file."
    return (f"{report.imported} imported, {report.updated} updated, {report.duplicates} already here "
            f"(duplicate{'' if report.duplicates == 1 else 's'}).")


def _dav_root(request: Request) -> str:
    return str(request.base_url) + MOUNT.strip("/") + "/"


def _book_url(request: Request, email: str, book: AddressBook) -> str:
    return f"{_dav_root(request)}{quote(email, safe='@')}/{quote(book.slug, safe='@')}/"


# -- the list --------------------------------------------------------------------------------------------------

@router.get("/contacts")
def contact_list(request: Request, me: Principal = Depends(signed_in),
                 q: Annotated[str, Query(max_length=200)] = "", book: Annotated[str, Query(max_length=20)] = "",
                 offset: Annotated[int, Query(ge=0, le=10**7)] = 0):
    library = contacts_of(request).library
    books = _books(request, me)
    chosen = _book_id(book)
    if chosen is not None and chosen not in {choice.id for choice in books}:
        raise NotFound(f"no address book {chosen}")
    found, total = library.listing(me.user_id, chosen, q.strip(), PAGE_SIZE, offset)
    query = {key: value for key, value in (("q", q.strip()), ("book", chosen or "")) if value}

    def page_link(start: int) -> str:
        return "/contacts?" + urlencode({**query, **({"offset": start} if start else {})})

    shown_book = next((choice for choice in books if choice.id == chosen), None)
    return render(request, "contacts.html", me, page="contacts", q=q.strip(), books=books, chosen=chosen,
                  shown_book=shown_book, rows=[views.row(contact, q) for contact in found], total=total,
                  everyone=sum(choice.count for choice in books), offset=offset, page_size=PAGE_SIZE,
                  earlier=page_link(max(offset - PAGE_SIZE, 0)) if offset else None,
                  later=page_link(offset + PAGE_SIZE) if offset + PAGE_SIZE < total else None,
                  download_query=urlencode({"book": chosen}) + "&" if chosen else "",
                  max_import=MAX_IMPORT_BYTES)


@router.get("/contacts/export")
def download_book(request: Request, me: Principal = Depends(signed_in), book: Annotated[str, Query(max_length=20)] = "",
                  version: Version = "4.0"):
    """One address book, or all of them, as one .vcf file in vCard 4.0 or 3.0."""
    return export_response(contacts_of(request).library, me.user_id, _book_id(book), version)


# -- importing -------------------------------------------------------------------------------------------------

class FileFormRoute(APIRoute):
    """The import form's route: a file of up to MAX_IMPORT_BYTES (a page's ordinary forms stop at 64 kB). The
    session is checked before a byte of the body is read, the CSRF token (the X-CSRF-Token header of the
    page's script, else the form's field) before anything is stored; errors are pages, or JSON for the script."""

    def get_route_handler(self):
        handler = super().get_route_handler()

        async def page(request: Request) -> Response:
            async def failed(status: int, message: str) -> Response:
                if _wants_json(request):
                    return JSONResponse({"error": "refused", "message": message}, status_code=status)
                return await run_in_threadpool(error_page, request, status, message)

            length = request.headers.get("content-length", "")
            if not length.isdigit():
                return await failed(411, "a form must be sent with its Content-Length")
            if int(length) > MAX_IMPORT_BYTES + (64 << 10):
                return await failed(413, f"a contacts file may have at most {MAX_IMPORT_BYTES >> 20} MiB; split it")
            try:
                return await handler(request)
            except SignInRequired:
                if _wants_json(request):
                    return JSONResponse({"error": "unauthorized", "message": "sign in again"}, status_code=401)
                response = RedirectResponse("/signin?next=/contacts", status_code=303)
                session.clear_session(response)
                return response
            except PhonecloudError as error:
                return await failed(error.status, error.message)
            except RequestValidationError as error:
                return await failed(422, "invalid request: " + "; ".join(str(p["msg"]) for p in error.errors()))

        return page


def _wants_json(request: Request) -> bool:
    return "application/json" in request.headers.get("accept", "")


async def import_file(request: Request, me: Principal = Depends(signed_in)):
    """A .vcf file posted by the page's form (multipart): its contacts added to the chosen address book."""
    header_token = request.headers.get(session.CSRF_HEADER)
    if header_token is not None and not session.csrf_valid(request, header_token):
        raise Forbidden("This page has expired or did not come from this site. Reload it and try again.")
    form = await request.form(max_files=1, max_fields=8)
    try:
        if header_token is None and not session.csrf_valid(request, _text(form.get(session.CSRF_FIELD))):
            raise Forbidden("This form has expired or did not come from this site. Reload the page and try again.")
        upload = form.get("file")
        if not isinstance(upload, UploadFile) or not upload.filename:
            raise BadRequest("Choose a .vcf file to import.")
        chosen = _book_id(_text(form.get("book")))
        back = "/contacts" + (f"?book={chosen}" if chosen else "")
        name = views.clean(upload.filename)[:200]
        library = contacts_of(request).library
        target = await run_in_threadpool(library.book_by_id, me.user_id, chosen)
        try:
            report = await run_in_threadpool(library.import_file, me.user_id, target.id, upload.file)
        except VCardError as error:
            result = f"could not be read: {error}. Nothing of it was imported."
            if _wants_json(request):
                return JSONResponse({"error": "unsupported_media", "message": f"{name} {result}", "result": result,
                                     "line": error.line}, status_code=415)
            return redirect(request, back, error=f"{name} {result}")
        except PhonecloudError as error:
            if _wants_json(request):
                return JSONResponse({**error.to_json(), "message": f"{name}: {error.message}",
                                     "result": error.message}, status_code=error.status)
            return redirect(request, back, error=f"{name}: {error.message}")
    finally:
        await form.close()
    result = _summary(report)
    if _wants_json(request):
        return JSONResponse({"file": name, "book": target.id, **report.as_dict(), "message": f"{name}: {result}",
                             "result": result}, status_code=201)
    return redirect(request, back, ok=f"{name}: {result}")


def _text(value) -> str:
    return value if isinstance(value, str) else ""


router.add_api_route("/contacts/imports", import_file, methods=["POST"], route_class_override=FileFormRoute)


# -- syncing with a phone --------------------------------------------------------------------------------------

def sync_page(request: Request, me: Principal, issued=None):
    library = contacts_of(request).library
    books = [(views.clean(book.display_name) or book.slug, _book_url(request, me.email, book))
             for book in library.books(me.user_id)]
    page = render(request, "contacts_sync.html", me, page="contacts", carddav_url=_dav_root(request), books=books,
                  username=me.email, issued=issued, plain_http=str(request.base_url).startswith("http:"))
    if issued is not None:
        page.headers.update(NOT_CACHED)  # the new password is in this page: keep it out of every cache
    return page


@router.get("/contacts/sync")
def sync_settings(request: Request, me: Principal = Depends(signed_in)):
    return sync_page(request, me)


@router.post("/contacts/sync/app-password")
def new_app_password(request: Request, device: str = Form(default="", max_length=200),
                     me: Principal = Depends(signed_in)):
    """A fresh app password: an API key of its own, shown once, revocable under Account › Devices."""
    issued = services(request).accounts.create_api_key(me.user_id, device.strip() or "Contacts sync")
    return sync_page(request, me, issued)


# -- one contact -----------------------------------------------------------------------------------------------

@router.get("/contacts/{contact_id:int}")
def contact_card(request: Request, contact_id: ContactId, me: Principal = Depends(signed_in)):
    library = contacts_of(request).library
    contact = library.contact(me.user_id, contact_id)
    book = library.book_by_id(me.user_id, contact.book_id)
    several = len(library.books(me.user_id)) > 1
    return render(request, "contacts_card.html", me, page="contacts", contact=views.detail(contact),
                  book_name=(views.clean(book.display_name) or book.slug) if several else None)


@router.get("/contacts/{contact_id:int}/photo")
def contact_photo(request: Request, contact_id: ContactId, me: Principal = Depends(signed_in)):
    contact = contacts_of(request).library.contact(me.user_id, contact_id)
    return photo_response(contact, request.headers.get("if-none-match"))


@router.get("/contacts/{contact_id:int}/vcard")
def download_contact(request: Request, contact_id: ContactId, me: Principal = Depends(signed_in),
                     version: Version = "4.0"):
    return vcard_response(contacts_of(request).library.contact(me.user_id, contact_id), version)


def _edit_page(request: Request, me: Principal, contact, status: int = 200, error: str | None = None,
               attempted: ContactIn | None = None):
    shown = views.detail(contact)
    return render(request, "contacts_edit.html", me, status=status, page="contacts", contact=shown,
                  etag=contact.etag, error=error, attempted=attempted,
                  phones=[line.value for line in shown.phones], emails=[line.value for line in shown.emails])


@router.get("/contacts/{contact_id:int}/edit")
def edit_form(request: Request, contact_id: ContactId, me: Principal = Depends(signed_in)):
    return _edit_page(request, me, contacts_of(request).library.contact(me.user_id, contact_id))


def _typed(values: list[str]) -> list[str]:
    kept = [" ".join(value.split()) for value in values if value.strip()]
    if any(len(value) > MAX_FIELD_LENGTH for value in kept):
        raise BadRequest(f"a number or an email may have at most {MAX_FIELD_LENGTH} characters")
    return kept


@router.post("/contacts/{contact_id:int}/edit")
def save_edit(request: Request, contact_id: ContactId, etag: str = Form(max_length=200),
              name: str = Form(default="", max_length=500), organisation: str = Form(default="", max_length=500),
              phones: list[str] = Form(default=[]), emails: list[str] = Form(default=[]),
              me: Principal = Depends(signed_in)):
    """Save the form: name, organisation, numbers and emails replace the card's own, every other property
    stays. The etag the form was made with must still be the contact's: a change made meanwhile (on a phone,
    over CardDAV) is never overwritten unseen."""
    library = contacts_of(request).library
    contact = library.contact(me.user_id, contact_id)
    try:
        if not name.strip():
            raise BadRequest("A contact needs a name.")
        wanted = ContactIn(name=" ".join(name.split()), organisation=organisation.strip(), phones=_typed(phones),
                           emails=_typed(emails))
    except ValidationError as error:
        return _edit_page(request, me, contact, 422, "Not saved: " + "; ".join(p["msg"] for p in error.errors()))
    except BadRequest as error:
        return _edit_page(request, me, contact, 422, f"Not saved: {error.message}")
    if _unchanged(contact, wanted):  # nothing to store: the card (and its etag, and every phone) stays as it is
        return redirect(request, f"/contacts/{contact_id}", ok="Nothing was changed.")
    if etag != contact.etag:  # known stale before any work; put() checks again inside its transaction
        return _stale(request, me, contact, wanted)
    try:
        text = editing.edited(contact.vcard, wanted.name, wanted.organisation, wanted.phones, wanted.emails)
        library.put(me.user_id, contact.book_id, contact.href, text, if_match=etag)
    except PreconditionFailed:
        return _stale(request, me, library.contact(me.user_id, contact_id), wanted)
    except NotFound:
        raise
    except PhonecloudError as error:
        return _edit_page(request, me, contact, error.status, f"Not saved: {error.message}", wanted)
    return redirect(request, f"/contacts/{contact_id}", ok="Saved. Your phones get the change at their next sync.")


def _unchanged(contact, wanted: ContactIn) -> bool:
    """Whether the form holds what the card holds now, as the form showed it."""
    shown = views.detail(contact)

    def same(value: str) -> str:
        return " ".join(value.split())

    return (same(shown.name), same(shown.organisation), [same(line.value) for line in shown.phones],
            [same(line.value) for line in shown.emails]) == (wanted.name, wanted.organisation, wanted.phones,
                                                            wanted.emails)


def _stale(request: Request, me: Principal, current, attempted: ContactIn):
    return _edit_page(request, me, current, 409, "Not saved: this contact was changed somewhere else (on a phone, "
                      "say) after you opened it. The form now shows it as it is; make your changes again, then "
                      "save.", attempted)


@router.get("/contacts/{contact_id:int}/delete")
def confirm_delete(request: Request, contact_id: ContactId, me: Principal = Depends(signed_in)):
    contact = contacts_of(request).library.contact(me.user_id, contact_id)
    return render(request, "contacts_delete.html", me, page="contacts", contact=views.detail(contact),
                  etag=contact.etag)


@router.post("/contacts/{contact_id:int}/delete")
def delete_contact(request: Request, contact_id: ContactId, etag: str = Form(max_length=200),
                   me: Principal = Depends(signed_in)):
    library = contacts_of(request).library
    contact = library.contact(me.user_id, contact_id)
    name = views.clean(contact.display_name) or "The contact"
    try:
        library.remove(me.user_id, contact.book_id, contact.href, if_match=etag)
    except PreconditionFailed:
        return redirect(request, f"/contacts/{contact_id}",
                        error=f"Not deleted: {name} was changed somewhere else after you opened it. Here it is as "
                              "it is now; delete it again if you still want to.")
    return redirect(request, "/contacts", ok=f"Deleted {name}. Your phones remove it at their next sync.")
