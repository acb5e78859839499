"""HTTP routes of the messages kind: thin adapters over its services (kind.Messages)."""

from __future__ import annotations

import mimetypes
import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.responses import JSONResponse, StreamingResponse
from starlette.concurrency import run_in_threadpool

from phonecloud.accounts.http import current_principal
from phonecloud.accounts.service import Principal
from phonecloud.core.db import utcnow
from phonecloud.core.http import ErrorOut, Moment, ranged_answer
from phonecloud.core.limits import ApiRoute
from phonecloud.core.names import safe_filename
from phonecloud.messages.exporter import FILES
from phonecloud.messages.kind import messages_of
from phonecloud.messages.schemas import (CallPage, ConversationOut, ConversationPage, ImportOut, ImportPage,
                                         MessagePage, call_out, conversation_out, message_out)
from phonecloud.messages.thumbnails import THUMBNAIL_TYPE
from phonecloud.uploads.intake import IntakeMeta
from phonecloud.uploads.plain import take_plain_upload

router = APIRouter(prefix="/messages", tags=["messages"], route_class=ApiRoute)
Cursor = Annotated[str | None, Query(max_length=500, description="next_cursor of the previous page")]
Limit = Annotated[int, Query(ge=1, le=1000)]
# Attachment types a browser may show as they are; any other is sent as bytes to save (an SVG or HTML
# attachment can carry scripts).
_SHOWN_AS_IS = {"image/jpeg", "image/png", "image/gif", "image/webp", "image/heic", "image/heif", "image/bmp",
                "video/mp4", "video/3gpp", "video/3gpp2", "video/webm", "audio/amr", "audio/mpeg", "audio/mp4",
                "audio/ogg", "audio/aac", "audio/3gpp", "text/plain", "text/x-vcard", "text/vcard"}


# -- imports -------------------------------------------------------------------------------------------------

@router.post(
    "/imports", status_code=201, response_model=ImportOut,
    responses={415: {"model": ErrorOut, "description": "Not a backup file of SMS Backup & Restore or SMS Import / "
                                                       "Export, or hostile XML"}},
    openapi_extra={"requestBody": {"required": True, "content": {"application/octet-stream": {
        "schema": {"type": "string", "format": "binary"}}}}},
)
async def upload_backup(
    request: Request,
    filename: Annotated[str, Query(description="The file's name (kept as metadata only)")],
    modified_at: Annotated[Moment | None, Query(description="The file's modification time, ISO 8601")] = None,
    size: int | None = Query(default=None, description="Declared size; refused with 400 if the body differs"),
    sha1: str | None = Query(default=None, description="Declared SHA-1 (hex); refused with 400 if it differs"),
    principal: Principal = Depends(current_principal),
):
    """Upload one backup file as the raw request body (large ones: over tus, /uploads/ with destination
    `messages`). It is stored, then imported in the background: GET /messages/imports/{id} follows it."""
    intake = messages_of(request).intake
    meta = IntakeMeta(filename, modified_at or utcnow(), size, sha1)
    result = await take_plain_upload(request, intake, principal, meta,
                                     lambda expected: intake.check_room(principal, expected))
    if isinstance(result, Response):
        return result
    return JSONResponse(ImportOut.of(result.item).model_dump(mode="json"), status_code=201)


@router.get("/imports", response_model=ImportPage)
def list_imports(request: Request, cursor: Cursor = None, limit: Limit = 100,
                 principal: Principal = Depends(current_principal)):
    """The caller's imports, newest first."""
    page = messages_of(request).library.imports(principal, cursor, limit)
    return ImportPage(items=[ImportOut.of(row) for row in page.items], next_cursor=page.next_cursor)


@router.get("/imports/{import_id}", response_model=ImportOut)
def get_import(import_id: uuid.UUID, request: Request, principal: Principal = Depends(current_principal)):
    """An import's progress, then its result: what was imported, already there, skipped and why, and where
    a damaged file stopped."""
    return ImportOut.of(messages_of(request).library.get_import(principal, import_id))


@router.post("/imports/{import_id}/retry", response_model=ImportOut,
             responses={409: {"description": "Not a failed import"}})
def retry_import(import_id: uuid.UUID, request: Request, principal: Principal = Depends(current_principal)):
    """Read a failed import's kept file again, on from the last record it stored (after making room in the
    quota, say): nothing is stored twice, and a damaged file stops at its damage again."""
    return ImportOut.of(messages_of(request).intake.retry(principal, import_id))


@router.delete("/imports/{import_id}", status_code=204, responses={409: {"description": "Still being read"}})
def delete_import(import_id: uuid.UUID, request: Request, principal: Principal = Depends(current_principal)):
    """Forget a finished import and the uploaded file a failed one kept; what it imported stays."""
    messages_of(request).library.delete_import(principal, import_id)


# -- reading -------------------------------------------------------------------------------------------------

@router.get("/conversations", response_model=ConversationPage)
def list_conversations(request: Request, cursor: Cursor = None, limit: Limit = 100,
                       principal: Principal = Depends(current_principal)):
    """Conversations newest first (by their last message), with their names and last message."""
    page = messages_of(request).library.conversations(principal, cursor, limit)
    return {"items": [conversation_out(row) for row in page.items], "next_cursor": page.next_cursor}


@router.get("/conversations/{conversation_id}", response_model=ConversationOut)
def get_conversation(conversation_id: uuid.UUID, request: Request, principal: Principal = Depends(current_principal)):
    return conversation_out(messages_of(request).library.conversation(principal, conversation_id))


def _messages(thread) -> dict:
    return {"items": [message_out(row, thread.parts.get(row.id, []), thread.titles.get(row.conversation_id, ""))
                      for row in thread.messages], "next_cursor": thread.next_cursor}


@router.get("/conversations/{conversation_id}/messages", response_model=MessagePage)
def list_conversation_messages(conversation_id: uuid.UUID, request: Request, cursor: Cursor = None,
                               limit: Limit = 100, principal: Principal = Depends(current_principal)):
    """A conversation's messages, newest first, each with its parties and parts."""
    return _messages(messages_of(request).library.thread(principal, conversation_id, cursor, limit))


@router.get("/search", response_model=MessagePage)
def search_messages(request: Request, q: Annotated[str, Query(min_length=1, max_length=500)], cursor: Cursor = None,
                    limit: Limit = 100, principal: Principal = Depends(current_principal)):
    """Messages holding every word of q (a word also matches the start of a longer one), newest first."""
    return _messages(messages_of(request).library.search(principal, q, cursor, limit))


@router.get("/calls", response_model=CallPage)
def list_calls(request: Request, cursor: Cursor = None, limit: Limit = 100,
               principal: Principal = Depends(current_principal)):
    """The call log, newest first."""
    page = messages_of(request).library.calls(principal, cursor, limit)
    return {"items": [call_out(row) for row in page.items], "next_cursor": page.next_cursor}


@router.get("/parts/{part_id}/data", response_class=StreamingResponse,
            responses={200: {"content": {"application/octet-stream": {}}}, 206: {},
                       416: {"model": ErrorOut, "description": "The range lies outside the attachment"}})
async def part_data(part_id: uuid.UUID, request: Request) -> Response:
    """An MMS part's bytes (a photo, a video, a contact card...); supports Range (one range) and If-Range."""
    return await run_in_threadpool(_part_response, part_id, request)


def _part_response(part_id: uuid.UUID, request: Request) -> Response:
    library = messages_of(request).library
    part, attachment = library.part(current_principal(request), part_id)
    media_type = part.content_type.split(";")[0].strip().lower()
    media_type = media_type if media_type in _SHOWN_AS_IS else "application/octet-stream"
    extension = (mimetypes.guess_extension(media_type) or ".bin").lstrip(".")
    name = part.filename or part.name or part.content_location or "attachment"
    stem = name[:-len(extension) - 1] if name.lower().endswith("." + extension) else name
    answer = ranged_answer(request, attachment.size_bytes, f'"{attachment.sha256}"', safe_filename(stem, extension),
                           "private, max-age=31536000, immutable")
    chunks = library.read_attachment(attachment, answer.start, answer.end)
    return StreamingResponse(chunks, status_code=answer.status, media_type=media_type, headers=answer.headers)


@router.get("/parts/{part_id}/thumbnail", response_class=Response,
            responses={200: {"content": {THUMBNAIL_TYPE: {}}}, 304: {},
                       404: {"model": ErrorOut, "description": "No such part, or (state: failed) its bytes are "
                                                              "no image the server can read; reason says why"}})
def part_thumbnail(part_id: uuid.UUID, request: Request, principal: Principal = Depends(current_principal)):
    """A small WebP of an MMS photo (250 px on the short side, upright, no metadata), as the gallery's
    thumbnails; made on the first request. The original stays at .../data."""
    messages = messages_of(request)
    _, attachment = messages.library.part(principal, part_id)
    etag = f'"{attachment.sha256}-thumbnail"'
    headers = {"ETag": etag, "Cache-Control": "private, max-age=31536000, immutable"}
    if request.headers.get("if-none-match") == etag:
        return Response(status_code=304, headers=headers)
    return Response(messages.thumbnails.of(attachment), media_type=THUMBNAIL_TYPE, headers=headers)


# -- exports in the apps' formats ----------------------------------------------------------------------------

def _export_route(app: str, holds: str, suffix: str):
    file = FILES[(app, holds)]

    def export(request: Request, principal: Principal = Depends(current_principal)) -> StreamingResponse:
        download = messages_of(request).library.export(principal, app, holds)
        return StreamingResponse(download.chunks, media_type=download.media_type, headers={
            "Content-Disposition": f'attachment; filename="{download.filename}"', "Cache-Control": "no-store"})

    export.__doc__ = (f"The caller's {holds} as {'SMS Backup & Restore' if app == 'sms-backup-restore' else 'SMS Import / Export'} "
                      f"writes them ({suffix}), for that app to restore; written as it is sent.")
    router.add_api_route(f"/export/{app}/{holds}.{suffix}", export, methods=["GET"], response_class=StreamingResponse,
                         name=f"export_{app.replace('-', '_')}_{holds}",
                         responses={200: {"content": {file.media_type: {}}}})


for _app, _holds, _suffix in (("sms-backup-restore", "messages", "xml"), ("sms-backup-restore", "calls", "xml"),
                              ("sms-ie", "messages", "zip"), ("sms-ie", "calls", "json")):
    _export_route(_app, _holds, _suffix)
