"""HTTP routes of the gallery: thin adapters over GalleryService."""

from __future__ import annotations

import itertools
from typing import Annotated
import uuid

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.responses import JSONResponse, StreamingResponse
from starlette.concurrency import run_in_threadpool

from phonecloud.accounts.http import current_principal
from phonecloud.accounts.service import Principal
from phonecloud.core.http import ErrorOut, Moment, ranged_answer
from phonecloud.core.limits import ApiRoute
from phonecloud.core.names import safe_filename
from phonecloud.gallery.schemas import (
    AlbumChangeResponse, AlbumIn, AlbumOut, AlbumPatch, AssetIds, AssetOut, AssetPatch, AssetPage, CheckRequest,
    CheckResponse, MonthCount, MonthCounts, OriginalsRequest, UploadOut, asset_out,
)
from phonecloud.gallery.context import gallery_of
from phonecloud.uploads.intake import IntakeMeta
from phonecloud.uploads.plain import take_plain_upload
from phonecloud.media.sniff import sniff_extension

router = APIRouter(tags=["gallery"], route_class=ApiRoute)



def _many(request: Request, assets) -> list[AssetOut]:
    media = gallery_of(request).library.media_of(assets)
    return [asset_out(asset, media.get(asset.id)) for asset in assets]


def _one(request: Request, asset) -> AssetOut:
    return _many(request, [asset])[0]


@router.post(
    "/assets", status_code=201, response_model=UploadOut,
    responses={200: {"model": UploadOut, "description": "Already stored: the existing asset"},
               415: {"model": ErrorOut, "description": "Not a photo or video"}},
    openapi_extra={"requestBody": {"required": True, "content": {"application/octet-stream": {
        "schema": {"type": "string", "format": "binary"}}}}},
)
async def upload_asset(
    request: Request,
    filename: Annotated[str, Query(description="The file's name on the device (kept as metadata only)")],
    modified_at: Annotated[Moment, Query(description="The file's modification time, ISO 8601 (UTC if no zone), "
                                                     "years 1900 to 2200")],
    size: int | None = Query(default=None, description="Declared size; refused with 400 if the body differs"),
    sha1: str | None = Query(default=None, description="Declared SHA-1 (hex); refused with 400 if it differs"),
    principal: Principal = Depends(current_principal),
):
    """Upload one photo or video as the raw request body, streamed and stored durably before the answer."""
    intake = gallery_of(request).intake
    meta = IntakeMeta(filename, modified_at, size, sha1)
    result = await take_plain_upload(request, intake, principal, meta,
                                     lambda expected: intake.check_room(principal, expected, sha1))
    if isinstance(result, Response):
        return result
    out = UploadOut(id=result.item_id, duplicate=not result.created, asset=_one(request, result.item))
    return JSONResponse(out.model_dump(mode="json"), status_code=201 if result.created else 200)


@router.post("/assets/check", response_model=CheckResponse)
def check_assets(body: CheckRequest, request: Request, principal: Principal = Depends(current_principal)):
    """Which of these files (by SHA-1) the caller already has: the client uploads only the rest."""
    results = gallery_of(request).intake.precheck(principal, [(item["id"], item["sha1"]) for item in body.items])
    return {"results": results}


@router.get("/assets", response_model=AssetPage)
def list_assets(
    request: Request,
    cursor: str | None = Query(default=None, max_length=200),
    limit: int = Query(default=100, ge=1, le=1000),
    trashed: bool = Query(default=False, description="List the trash instead of the library"),
    principal: Principal = Depends(current_principal),
):
    """The library newest first (by capture time when known, else modification time)."""
    page = gallery_of(request).library.list_assets(principal, cursor, limit, trashed)
    return AssetPage(items=_many(request, page.items), next_cursor=page.next_cursor)


@router.get("/timeline/months", response_model=MonthCounts)
def timeline_months(request: Request, principal: Principal = Depends(current_principal)):
    """How many items of the library (outside the trash) each month holds, by the month of their sort time
    in UTC: what the web app's scrubber needs to jump to any month without listing the library."""
    counts = gallery_of(request).library.month_counts(principal)
    return MonthCounts(months=[MonthCount(month=month, count=count) for month, count in counts])


@router.get("/assets/{asset_id}", response_model=AssetOut)
def get_asset(asset_id: uuid.UUID, request: Request, principal: Principal = Depends(current_principal)):
    return _one(request, gallery_of(request).library.get_asset(principal, asset_id))


@router.get("/assets/{asset_id}/original", response_class=StreamingResponse,
            responses={200: {"content": {"application/octet-stream": {}}}, 206: {},
                       416: {"model": ErrorOut, "description": "The range lies outside the file"}})
async def download_original(asset_id: uuid.UUID, request: Request) -> Response:
    """The original bytes exactly as uploaded; supports Range (one range) and If-Range."""
    # One worker-thread hop authenticates, looks up and reads the first stretch: a photo is answered
    # whole from it, which is most of what a mirror or a viewer asks for.
    return await run_in_threadpool(_original_response, asset_id, request)


def _original_response(asset_id: uuid.UUID, request: Request) -> Response:
    gallery = gallery_of(request).library
    asset = gallery.readable_asset(current_principal(request), asset_id)  # an album shared with the caller's too
    name = safe_filename(asset.original_filename, sniff_extension(asset.mime_type))
    answer = ranged_answer(request, asset.size_bytes, f'"{asset.sha1}"', name, "private, max-age=31536000, immutable")
    status, headers, start, end = answer.status, answer.headers, answer.start, answer.end
    chunks = gallery.read_original(asset, start, end)
    first = next(chunks, b"")
    if len(first) == end - start:
        getattr(chunks, "close", lambda: None)()  # the file is let go of now, not when collected
        return Response(first, status_code=status, media_type=asset.mime_type, headers=headers)
    return StreamingResponse(itertools.chain((first,), chunks), status_code=status, media_type=asset.mime_type,
                             headers=headers)


@router.post("/assets/originals", response_class=StreamingResponse,
             responses={200: {"content": {"application/octet-stream": {}}},
                        404: {"model": ErrorOut, "description": "Not the caller's assets (all are named)"}})
def download_originals(body: OriginalsRequest, request: Request, principal: Principal = Depends(current_principal)):
    """Several originals in one answer, for mirrors: their bytes exactly as uploaded, one after another in
    the order asked, split by the sizes the library listing gives. One request instead of one per file
    saves the server most of its work per file. Every asset is checked before the first byte; an original
    lost meanwhile stops the answer short of its Content-Length (fetch the rest one by one, with Range)."""
    gallery = gallery_of(request).library
    assets = gallery.owned_assets(principal, body.asset_ids)
    return StreamingResponse(gallery.read_originals(assets), media_type="application/octet-stream",
                             headers={"Content-Length": str(sum(asset.size_bytes for asset in assets))})


def _derivative(name: str, asset_id: uuid.UUID, request: Request, principal: Principal) -> StreamingResponse:
    gallery = gallery_of(request)
    asset = gallery.library.readable_asset(principal, asset_id)  # an album shared with the caller's too
    key, mime = gallery.media().derivative(asset, gallery.library.media_of([asset]).get(asset.id), name)
    etag = f'"{asset.sha1}-{name}"'
    headers = {"ETag": etag, "Cache-Control": "private, max-age=31536000, immutable"}
    if request.headers.get("if-none-match") == etag:
        return Response(status_code=304, headers=headers)
    return StreamingResponse(gallery.library.blobs.get(key), media_type=mime, headers=headers)


_DERIVATIVE_RESPONSES = {200: {"content": {"image/*": {}}}, 304: {},
                         409: {"model": ErrorOut, "description": "still being made"}}
_PREVIEW_RESPONSES = {**_DERIVATIVE_RESPONSES,
                      410: {"model": ErrorOut, "description": "the original it is made from is missing"}}


@router.get("/assets/{asset_id}/thumbnail", response_class=StreamingResponse, responses=_DERIVATIVE_RESPONSES)
def thumbnail(asset_id: uuid.UUID, request: Request, principal: Principal = Depends(current_principal)):
    """A small WebP (250 px on the short side), upright; 409 while it is being made, 404 if it cannot be."""
    return _derivative("thumbnail", asset_id, request, principal)


@router.get("/assets/{asset_id}/preview", response_class=StreamingResponse, responses=_PREVIEW_RESPONSES)
def preview(asset_id: uuid.UUID, request: Request, principal: Principal = Depends(current_principal)):
    """A JPEG of 1440 px on the long side, upright, sRGB. Made after the thumbnail, by a job of lower priority,
    or by this request if that job has not run yet (and kept); 409 while the media job has not read the item,
    404 if it cannot be made, 410 if the original it is made from is missing from storage."""
    return _derivative("preview", asset_id, request, principal)


@router.patch("/assets/{asset_id}", response_model=AssetOut)
def describe_asset(asset_id: uuid.UUID, body: AssetPatch, request: Request,
                   principal: Principal = Depends(current_principal)):
    """Set an asset's description, archived flag, people's names or place (what is not given stays as it is)."""
    place = (body.place.latitude, body.place.longitude, body.place.altitude) if body.place else None
    return _one(request, gallery_of(request).library.describe(principal, asset_id, body.description,
                                                              body.is_archived, body.people, place))


@router.post("/assets/{asset_id}/trash", response_model=AssetOut)
def trash_asset(asset_id: uuid.UUID, request: Request, principal: Principal = Depends(current_principal)):
    """Move to the trash: hidden from the library, kept (and counted in the quota) until deleted for good."""
    return _one(request, gallery_of(request).library.set_trashed(principal, asset_id, True))


@router.post("/assets/{asset_id}/restore", response_model=AssetOut)
def restore_asset(asset_id: uuid.UUID, request: Request, principal: Principal = Depends(current_principal)):
    return _one(request, gallery_of(request).library.set_trashed(principal, asset_id, False))


@router.put("/assets/{asset_id}/favorite", response_model=AssetOut)
def favorite_asset(asset_id: uuid.UUID, request: Request, principal: Principal = Depends(current_principal)):
    """Mark as a favourite (idempotent)."""
    return _one(request, gallery_of(request).library.set_favorite(principal, asset_id, True))


@router.delete("/assets/{asset_id}/favorite", response_model=AssetOut)
def unfavorite_asset(asset_id: uuid.UUID, request: Request, principal: Principal = Depends(current_principal)):
    """No longer a favourite (idempotent)."""
    return _one(request, gallery_of(request).library.set_favorite(principal, asset_id, False))


@router.delete("/assets/{asset_id}", status_code=204, responses={404: {}, 409: {"description": "Not in the trash"}})
def delete_asset(asset_id: uuid.UUID, request: Request, principal: Principal = Depends(current_principal)):
    """Delete a trashed item for good: the original and its derivatives are removed and its bytes leave the
    quota. Items left in the trash are deleted this way automatically after 30 days."""
    gallery_of(request).library.delete_forever(principal, asset_id)


@router.get("/albums", response_model=list[AlbumOut])
def list_albums(request: Request, principal: Principal = Depends(current_principal)):
    return [AlbumOut.of(album, count) for album, count in gallery_of(request).albums.list_albums(principal)]


@router.post("/albums", response_model=AlbumOut, status_code=201)
def create_album(body: AlbumIn, request: Request, principal: Principal = Depends(current_principal)):
    return AlbumOut.of(gallery_of(request).albums.create_album(principal, body.title, body.description,
                                                              body.created_at), 0)


@router.get("/albums/{album_id}", response_model=AlbumOut)
def get_album(album_id: uuid.UUID, request: Request, principal: Principal = Depends(current_principal)):
    return AlbumOut.of(*gallery_of(request).albums.get_album(principal, album_id))


@router.patch("/albums/{album_id}", response_model=AlbumOut)
def update_album(album_id: uuid.UUID, body: AlbumPatch, request: Request,
                 principal: Principal = Depends(current_principal)):
    albums = gallery_of(request).albums
    albums.update_album(principal, album_id, body.title, body.description)
    return AlbumOut.of(*albums.get_album(principal, album_id))


@router.delete("/albums/{album_id}", status_code=204)
def delete_album(album_id: uuid.UUID, request: Request, principal: Principal = Depends(current_principal)):
    """Delete the album; its photos stay in the library."""
    gallery_of(request).albums.delete_album(principal, album_id)


@router.get("/albums/{album_id}/assets", response_model=AssetPage)
def list_album_assets(
    album_id: uuid.UUID, request: Request,
    cursor: str | None = Query(default=None, max_length=200),
    limit: int = Query(default=100, ge=1, le=1000),
    principal: Principal = Depends(current_principal),
):
    page = gallery_of(request).library.list_assets(principal, cursor, limit, album_id=album_id)
    return AssetPage(items=_many(request, page.items), next_cursor=page.next_cursor)


@router.put("/albums/{album_id}/assets", response_model=AlbumChangeResponse)
def add_album_assets(album_id: uuid.UUID, body: AssetIds, request: Request,
                     principal: Principal = Depends(current_principal)):
    results = gallery_of(request).albums.change_album_assets(principal, album_id, body.asset_ids, add=True)
    return AlbumChangeResponse(results=results)


@router.delete("/albums/{album_id}/assets", response_model=AlbumChangeResponse)
def remove_album_assets(album_id: uuid.UUID, body: AssetIds, request: Request,
                        principal: Principal = Depends(current_principal)):
    results = gallery_of(request).albums.change_album_assets(principal, album_id, body.asset_ids, add=False)
    return AlbumChangeResponse(results=results)
