"""HTTP routes of exports: thin adapters over PortabilityService."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.responses import StreamingResponse

from phonecloud.accounts.http import current_principal
from phonecloud.accounts.service import Principal
from phonecloud.core.http import RowId, ranged_answer, services
from phonecloud.core.limits import ApiRoute
from phonecloud.portability.schemas import DigestOut, DigestPage, ExportOut, VerifiedIn

router = APIRouter(tags=["export"], route_class=ApiRoute)


@router.post("/export", status_code=202, response_model=ExportOut)
def create_export(request: Request, principal: Principal = Depends(current_principal)):
    """Snapshot the whole library now, as zip parts laid out like Google Takeout; prepared in the
    background (poll GET /export/{id} until its state is ready). While one is being prepared, that one."""
    view = services(request).portability.create(principal, str(request.base_url))
    return ExportOut.of(view)


@router.get("/export", response_model=ExportOut)
def latest_export(request: Request, principal: Principal = Depends(current_principal)):
    """The newest export: its state, and once ready its parts (name, size, URL) and its manifest's SHA-256."""
    return ExportOut.of(services(request).portability.latest(principal))


@router.get("/export/digests", response_model=DigestPage)
def list_digests(request: Request, cursor: uuid.UUID | None = Query(default=None),
                 limit: int = Query(default=1000, ge=1, le=10_000), principal: Principal = Depends(current_principal)):
    """The SHA-256 of each original that an export has hashed, by asset id (others have only their SHA-1)."""
    rows = services(request).portability.digests(principal, cursor, limit + 1)
    more = len(rows) > limit
    rows = rows[:limit]
    return DigestPage(items=[DigestOut(asset_id=asset_id, sha256=sha256) for asset_id, sha256 in rows],
                      next_cursor=str(rows[-1][0]) if more else None)


@router.get("/export/{export_id}", response_model=ExportOut)
def get_export(export_id: uuid.UUID, request: Request, principal: Principal = Depends(current_principal)):
    return ExportOut.of(services(request).portability.describe(principal, export_id))


@router.delete("/export/{export_id}", status_code=204)
def delete_export(export_id: uuid.UUID, request: Request, principal: Principal = Depends(current_principal)):
    """Forget the export (its parts can no longer be downloaded); the library is untouched."""
    services(request).portability.delete(principal, export_id)


@router.post("/export/{export_id}/verified", response_model=ExportOut)
def export_verified(export_id: uuid.UUID, body: VerifiedIn, request: Request,
                    principal: Principal = Depends(current_principal)):
    """Say that every part was downloaded and checked against the manifest whose SHA-256 is given (what
    `phonecloud export` does at the end); the export then shows verified_at, and so do retirement notices."""
    return ExportOut.of(services(request).portability.verified(principal, export_id, body.manifest_sha256))


@router.get("/export/{export_id}/manifest", response_class=StreamingResponse,
            responses={200: {"content": {"application/json": {}}}, 404: {}, 409: {}})
def get_manifest(export_id: uuid.UUID, request: Request, principal: Principal = Depends(current_principal)):
    """manifest.json: every file of the export with its part, size and SHA-256."""
    size, body = services(request).portability.manifest(principal, export_id)
    return StreamingResponse(body, media_type="application/json", headers={"Content-Length": str(size)})


_PART_RESPONSES = {200: {"content": {"application/zip": {}}}, 206: {}, 404: {}, 409: {}, 410: {}, 416: {}}


# One route per method: a shared route's operationId would depend on set order, which differs between processes.
@router.get("/export/{export_id}/parts/{number}", response_class=StreamingResponse, responses=_PART_RESPONSES)
@router.head("/export/{export_id}/parts/{number}", response_class=StreamingResponse, responses=_PART_RESPONSES)
def download_part(export_id: uuid.UUID, request: Request, number: RowId,
                  principal: Principal = Depends(current_principal)):
    """One zip part: the same bytes every time. Supports Range (one range) and If-Range, to resume."""
    portability = services(request).portability
    view = portability.part(principal, export_id, number)
    answer = ranged_answer(request, view.part.size, view.etag, view.name, "private, max-age=86400")
    if request.method == "HEAD":
        return Response(status_code=answer.status, headers=answer.headers, media_type="application/zip")
    return StreamingResponse(portability.read_part(view, answer.start, answer.end), status_code=answer.status,
                             media_type="application/zip", headers=answer.headers)
