"""tus 1.0 over HTTP: thin adapters that read headers, stream bodies and answer with tus headers.

POST /uploads/ creates (optionally with the first bytes), HEAD /uploads/{id} tells the offset, PATCH
appends, DELETE terminates; OPTIONS tells what this server supports and how much the caller may upload.
"""

from __future__ import annotations

import uuid

import anyio
from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from starlette.requests import ClientDisconnect

from phonecloud.accounts.http import current_principal
from phonecloud.accounts.service import Principal
from phonecloud.core.errors import BadRequest, NotFound, PhonecloudError
from phonecloud.core.http import services
from phonecloud.core.limits import ApiRoute
from phonecloud.core.streaming import drain_body, receive_into
from phonecloud.uploads.models import COMPLETED, ResumableUpload
from phonecloud.uploads.protocol import (
    ASSET_HEADER, CHECKSUM_ALGORITHMS, DUPLICATE_HEADER, EXTENSIONS, VERSION, UnsupportedVersion,
    check_content_type, check_version, http_date, parse_checksum, parse_count,
)
from phonecloud.uploads.service import UploadService

router = APIRouter(tags=["uploads"], route_class=ApiRoute)
TUS = {"Tus-Resumable": VERSION}
_VERSION_PARAMETER = {"name": "Tus-Resumable", "in": "header", "required": True,
                      "schema": {"type": "string", "enum": [VERSION]}}
_TUS_HEADERS = {"openapi_extra": {"parameters": [_VERSION_PARAMETER]}}


def _uploads(request: Request) -> UploadService:
    return services(request).uploads


def _refusal(error: PhonecloudError, extra: dict[str, str] | None = None) -> JSONResponse:
    headers = {**TUS, **(extra or {})}
    if isinstance(error, UnsupportedVersion):
        headers["Tus-Version"] = VERSION
    if error.status == 401:
        headers["WWW-Authenticate"] = "Bearer"
    if "upload_offset" in error.details:
        headers["Upload-Offset"] = str(error.details["upload_offset"])
    return JSONResponse(error.to_json(), status_code=error.status, headers=headers)


def _upload_id(text: str) -> uuid.UUID:
    try:
        return uuid.UUID(text)
    except ValueError:
        raise NotFound(f"no upload {text[:64]!r}") from None


def _state_headers(upload: ResumableUpload) -> dict[str, str]:
    headers = {**TUS, "Upload-Offset": str(upload.offset), "Upload-Length": str(upload.length)}
    if upload.state == COMPLETED:
        headers[ASSET_HEADER] = str(upload.asset_id)
    else:
        headers["Upload-Expires"] = http_date(upload.expires_at)
    return headers


async def _authorised(request: Request) -> Principal:
    """tus asks for the version check before anything else; then the caller, as everywhere in the API."""
    check_version(request.headers.get("tus-resumable"))
    uploads = _uploads(request)
    await anyio.to_thread.run_sync(uploads.sweep_if_due)
    return await anyio.to_thread.run_sync(current_principal, request)


def _content_length(request: Request) -> int | None:
    length = request.headers.get("content-length", "")
    return int(length) if length.isdigit() else None


def _has_body(request: Request) -> bool:
    length = request.headers.get("content-length")
    return "chunked" in request.headers.get("transfer-encoding", "").lower() or (length is not None and length != "0")


async def _append(request: Request, body, principal: Principal, upload_id: uuid.UUID, offset: int) -> ResumableUpload:
    """Stream the body into the upload, hashing and writing in parallel as a plain upload does; whatever
    arrived before the client went away is kept and acknowledged to its next HEAD."""
    uploads = _uploads(request)
    checksum = parse_checksum(request.headers.get("upload-checksum"))
    append = await anyio.to_thread.run_sync(uploads.begin, principal, upload_id, offset, checksum)
    staged = append.writer.staged
    try:
        last = await receive_into(body, staged)
        await anyio.to_thread.run_sync(staged.feed, last)
    except ClientDisconnect:
        with anyio.CancelScope(shield=True):
            await anyio.to_thread.run_sync(uploads.end, principal, append)
        raise
    except BaseException as error:
        with anyio.CancelScope(shield=True):
            await anyio.to_thread.run_sync(uploads.fail, append, error)
        raise
    return await anyio.to_thread.run_sync(uploads.end, principal, append)


def _appended(upload: ResumableUpload, status: int = 204, extra: dict[str, str] | None = None) -> Response:
    headers = {**_state_headers(upload), **(extra or {})}
    headers.pop("Upload-Length")
    if upload.state == COMPLETED:
        headers[DUPLICATE_HEADER] = "true" if upload.duplicate else "false"
    return Response(status_code=status, headers=headers)


@router.options("/uploads/", status_code=204, include_in_schema=False)
@router.options("/uploads/{upload_id}", status_code=204, include_in_schema=False)
async def tus_options(request: Request) -> Response:
    """What this server supports; with credentials, Tus-Max-Size is how much the caller may still upload."""
    uploads = _uploads(request)
    room = uploads.max_upload_bytes
    if request.headers.get("authorization"):
        try:
            principal = await anyio.to_thread.run_sync(current_principal, request)
        except PhonecloudError as error:
            return _refusal(error)
        room = await anyio.to_thread.run_sync(uploads.room, principal)
    return Response(status_code=204, headers={
        **TUS, "Tus-Version": VERSION, "Tus-Extension": EXTENSIONS, "Tus-Max-Size": str(room),
        "Tus-Checksum-Algorithm": ",".join(CHECKSUM_ALGORITHMS)})


@router.post("/uploads/", status_code=201, response_class=Response, **_TUS_HEADERS,
             responses={201: {"description": "Created: Location names the upload"}, 400: {}, 401: {}, 412: {},
                        413: {}, 415: {}})
async def create_upload(request: Request) -> Response:
    """Create an upload of Upload-Length bytes (tus creation), optionally with its first bytes in the body
    (creation-with-upload). Upload-Metadata may carry filename, modified_at (ISO 8601) and sha1 (hex)."""
    body = request.stream()
    try:
        principal = await _authorised(request)
        if request.headers.get("upload-defer-length") is not None:
            raise BadRequest("Upload-Defer-Length is not supported: send Upload-Length")
        length = parse_count("Upload-Length", request.headers.get("upload-length"))
        with_bytes = _has_body(request)
        if with_bytes:
            check_content_type(request.headers.get("content-type"))
        uploads = _uploads(request)
        upload = await anyio.to_thread.run_sync(uploads.create, principal, length,
                                                request.headers.get("upload-metadata"))
        location = {"Location": str(request.url_for("upload_status", upload_id=upload.id.hex))}
        if not with_bytes:
            return Response(status_code=201, headers={**_state_headers(upload), **location})
        upload = await _append(request, body, principal, upload.id, 0)
    except ClientDisconnect:
        return _refusal(BadRequest("the client disconnected before the whole body arrived"))
    except PhonecloudError as error:
        return _refusal(error, await drain_body(body, _content_length(request)))
    return _appended(upload, 201, location)


@router.head("/uploads/{upload_id}", name="upload_status", response_class=Response, **_TUS_HEADERS,
             responses={200: {"description": "Upload-Offset and Upload-Length; Phonecloud-Asset-Id once finished"},
                        404: {}, 410: {}, 412: {}})
async def upload_status(upload_id: str, request: Request) -> Response:
    """Where an upload stands: the offset to resume from, and once finished the asset it became."""
    try:
        principal = await _authorised(request)
        upload = await anyio.to_thread.run_sync(_uploads(request).status, principal, _upload_id(upload_id))
    except PhonecloudError as error:
        return _refusal(error)  # a HEAD answer's body is dropped by the server; through POST it is whole
    headers = {**_state_headers(upload), "Cache-Control": "no-store"}
    if upload.metadata_header:
        headers["Upload-Metadata"] = upload.metadata_header
    return Response(status_code=200, headers=headers)


@router.patch("/uploads/{upload_id}", status_code=204, response_class=Response,
              responses={204: {"description": "Stored durably: Upload-Offset is the new offset"}, 400: {},
                         404: {}, 409: {}, 410: {}, 412: {}, 413: {}, 415: {}, 423: {}, 460: {}},
              openapi_extra={"parameters": [_VERSION_PARAMETER], "requestBody": {"required": True, "content": {
                  "application/offset+octet-stream": {"schema": {"type": "string", "format": "binary"}}}}})
async def append_to_upload(upload_id: str, request: Request) -> Response:
    """Append the body at Upload-Offset (tus core). The answer comes once the bytes are durable; the one
    to the last byte names the asset in Phonecloud-Asset-Id."""
    body = request.stream()
    try:
        principal = await _authorised(request)
        check_content_type(request.headers.get("content-type"))
        offset = parse_count("Upload-Offset", request.headers.get("upload-offset"))
        upload = await _append(request, body, principal, _upload_id(upload_id), offset)
    except ClientDisconnect:
        return _refusal(BadRequest("the client disconnected before the whole body arrived"))
    except PhonecloudError as error:
        return _refusal(error, await drain_body(body, _content_length(request)))
    return _appended(upload)


@router.delete("/uploads/{upload_id}", status_code=204, response_class=Response, **_TUS_HEADERS,
               responses={204: {"description": "Terminated"}, 404: {}, 410: {}, 412: {}, 423: {}})
async def terminate_upload(upload_id: str, request: Request) -> Response:
    """Terminate an upload (tus termination): its bytes and its reservation of quota go. The asset a
    finished upload became stays."""
    try:
        principal = await _authorised(request)
        await anyio.to_thread.run_sync(_uploads(request).terminate, principal, _upload_id(upload_id))
    except PhonecloudError as error:
        return _refusal(error)
    return Response(status_code=204, headers=TUS)


@router.post("/uploads/{upload_id}", include_in_schema=False)
async def method_override(upload_id: str, request: Request) -> Response:
    """X-HTTP-Method-Override, which tus requires for clients that cannot send PATCH, DELETE or HEAD."""
    method = request.headers.get("x-http-method-override", "").upper()
    handlers = {"PATCH": append_to_upload, "DELETE": terminate_upload, "HEAD": upload_status}
    if method not in handlers:
        return _refusal(BadRequest("POST to an upload needs X-HTTP-Method-Override: PATCH, DELETE or HEAD"))
    return await handlers[method](upload_id, request)
