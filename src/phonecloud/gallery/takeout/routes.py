"""Takeout imports over HTTP: thin routes over gallery.takeout.service."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.responses import JSONResponse

from phonecloud.accounts.http import current_principal
from phonecloud.accounts.service import Principal
from phonecloud.core.db import utcnow
from phonecloud.core.http import ErrorOut, Moment
from phonecloud.core.limits import ApiRoute
from phonecloud.gallery.context import gallery_of
from phonecloud.gallery.takeout.intake import DESTINATION, TakeoutIntake
from phonecloud.gallery.takeout.schemas import ImportOut, PartOut, StartImport
from phonecloud.uploads.intake import IntakeMeta
from phonecloud.uploads.plain import take_plain_upload

router = APIRouter(prefix="/takeout", tags=["takeout"], route_class=ApiRoute)


def _takeout(request: Request):
    return gallery_of(request).takeout


def _intake(request: Request) -> TakeoutIntake:
    return request.app.state.services.intake.destination(DESTINATION)


@router.post(
    "/parts", status_code=201, response_model=PartOut,
    responses={415: {"model": ErrorOut, "description": "Not a zip archive"}},
    openapi_extra={"requestBody": {"required": True, "content": {"application/octet-stream": {
        "schema": {"type": "string", "format": "binary"}}}}},
)
async def upload_part(
    request: Request,
    filename: Annotated[str, Query(description="The part's name (takeout-…-001.zip)")],
    modified_at: Annotated[Moment | None, Query(description="The file's modification time, ISO 8601")] = None,
    size: int | None = Query(default=None, description="Declared size; refused with 400 if the body differs"),
    sha1: str | None = Query(default=None, description="Declared SHA-1 (hex); refused with 400 if it differs"),
    principal: Principal = Depends(current_principal),
):
    """Upload one zip part of a Takeout as the raw request body (large ones: over tus, /uploads/ with
    destination `takeout`). It is kept, charged to the quota, until the import that reads it is done."""
    intake = _intake(request)
    meta = IntakeMeta(filename, modified_at or utcnow(), size, sha1)
    result = await take_plain_upload(request, intake, principal, meta,
                                     lambda expected: intake.check_room(principal, expected))
    if isinstance(result, Response):
        return result
    return JSONResponse(PartOut.of(result.item).model_dump(mode="json"), status_code=201)


@router.get("/parts", response_model=list[PartOut])
def list_parts(request: Request, principal: Principal = Depends(current_principal)):
    """The caller's uploaded parts that no import has taken yet."""
    return [PartOut.of(part) for part in _takeout(request).free_parts(principal)]


@router.delete("/parts/{takeout_part_id}", status_code=204,
               responses={409: {"description": "An import reads it: delete the import"}})
def delete_part(takeout_part_id: uuid.UUID, request: Request, principal: Principal = Depends(current_principal)):
    """Delete an uploaded part that no import has taken (its bytes and their charge go)."""
    _takeout(request).delete_part(principal, takeout_part_id)
    return Response(status_code=204)


@router.post("/imports", status_code=201, response_model=ImportOut,
             responses={404: {"description": "A part that is not the caller's"},
                        409: {"description": "A part another import reads"}})
def start_import(body: StartImport, request: Request, principal: Principal = Depends(current_principal)):
    """Import the Takeout of these parts into the gallery, in the background: each photo and video once, with
    its sidecar's capture time, title and flags, its albums and its trash. GET /takeout/imports/{id} follows it."""
    takeout = _takeout(request)
    started = takeout.start(principal, body.parts)
    return ImportOut.of(*takeout.get(principal, started.id))


@router.get("/imports", response_model=list[ImportOut])
def list_imports(request: Request, principal: Principal = Depends(current_principal)):
    """The caller's Takeout imports, newest first."""
    return [ImportOut.of(*found) for found in _takeout(request).list(principal)]


@router.get("/imports/{takeout_id}", response_model=ImportOut)
def get_import(takeout_id: uuid.UUID, request: Request, principal: Principal = Depends(current_principal)):
    """An import's progress, then its report: what was imported, matched, already there and skipped, and why."""
    return ImportOut.of(*_takeout(request).get(principal, takeout_id))


@router.post("/imports/{takeout_id}/retry", response_model=ImportOut,
             responses={409: {"description": "Not a failed import"}})
def retry_import(takeout_id: uuid.UUID, request: Request, principal: Principal = Depends(current_principal)):
    """Read a failed import's kept parts again (after making room in a full quota): nothing is added twice."""
    takeout = _takeout(request)
    takeout.retry(principal, takeout_id)
    return ImportOut.of(*takeout.get(principal, takeout_id))


@router.delete("/imports/{takeout_id}", status_code=204, responses={409: {"description": "Still being read"}})
def delete_import(takeout_id: uuid.UUID, request: Request, principal: Principal = Depends(current_principal)):
    """Forget a finished import and the parts a failed one kept; the photos it imported stay."""
    _takeout(request).delete(principal, takeout_id)
    return Response(status_code=204)
