"""Immich's upload API at /api, over phonecloud's gallery and API keys (sent as `x-api-key`, as Immich's
clients send them, or as a bearer token). Both generations of paths are served: today's (Immich's 3.x
command-line client) and Immich 1.x's (its 2.x client), each pair by the same handler.

Covered: discovery (`/.well-known/immich`), server ping, version, features and media types, the caller's
user and API key, the duplicate check, uploads (multipart, streamed into staging), an asset (read, update
its description, favourite, archive and position), moving assets to the trash, asset statistics, and albums
(list, create, add assets). Nothing else of Immich's API is: phonecloud's own API is at /api/v1."""

from __future__ import annotations

import uuid
from typing import ClassVar, Literal

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from phonecloud import __version__
from phonecloud.accounts.http import current_principal
from phonecloud.accounts.service import Principal
from phonecloud.core.db import utcnow
from phonecloud.core.errors import BadRequest, Unauthorized
from phonecloud.core.http import ERROR_RESPONSES, services
from phonecloud.core.limits import ApiRoute
from phonecloud.gallery.context import gallery_of
from phonecloud.gallery.ingest import MAX_PRECHECK_ITEMS
from phonecloud.immich.multipart import ImmichForm
from phonecloud.immich.service import ImmichView, media_types, sha1_hex, user_of
from phonecloud.uploads.intake import IntakeMeta
from phonecloud.uploads.plain import take_plain_upload

# The Immich release whose API this follows, as its clients read the server's version.
IMMICH_VERSION = {"major": 1, "minor": 132, "patch": 0}

discovery = APIRouter(include_in_schema=False)
router = APIRouter(prefix="/api", route_class=ApiRoute, tags=["immich"], responses=ERROR_RESPONSES)


def immich_principal(request: Request) -> Principal:
    """The caller, from `x-api-key` (Immich's clients) or else `Authorization: Bearer`."""
    key = request.headers.get("x-api-key", "").strip()
    if not key:
        if not request.headers.get("authorization"):
            raise Unauthorized("missing credentials: send a phonecloud API key as 'x-api-key'")
        return current_principal(request)
    return services(request).accounts.authenticate(key)


immich_principal.authenticates_caller = True  # core.limits runs it before a route's body is read


def view(request: Request) -> ImmichView:
    return ImmichView(gallery_of(request))


def paths(*both: str):
    """A handler served at today's path and at Immich 1.x's."""
    def register(handler, method: str = "GET", status_code: int = 200):
        for path in both:
            router.add_api_route(path, handler, methods=[method], status_code=status_code)
        return handler
    return register


@discovery.get("/.well-known/immich")
def well_known() -> dict:
    return {"api": {"endpoint": "/api"}}


def ping() -> dict:
    return {"res": "pong"}


def version() -> dict:
    return {**IMMICH_VERSION, "phonecloud": __version__}


def features() -> dict:
    """Which of Immich's features this server has: its trash, none of the rest."""
    return {"trash": True, **{name: False for name in (
        "smartSearch", "facialRecognition", "duplicateDetection", "map", "reverseGeocoding", "importFaces",
        "sidecar", "search", "oauth", "oauthAutoLaunch", "passwordLogin", "configFile", "email")}}


def supported_media_types() -> dict:
    return media_types()


def me(principal: Principal = Depends(immich_principal)) -> dict:
    return user_of(principal)


def my_key(principal: Principal = Depends(immich_principal)) -> dict:
    now = utcnow().isoformat()
    return {"id": str(principal.device_id or 0), "name": "phonecloud API key", "permissions": ["all"],
            "createdAt": now, "updatedAt": now}


def statistics(request: Request, principal: Principal = Depends(immich_principal)) -> dict:
    return view(request).statistics(principal)


class CheckItem(BaseModel):
    id: str = Field(min_length=1, max_length=4096)
    checksum: str = Field(min_length=1, max_length=100)


class BulkCheck(BaseModel):
    max_body_bytes: ClassVar[int] = 48 << 20  # 10,000 paths of 4,096 bytes, and room to spare
    assets: list[CheckItem] = Field(max_length=MAX_PRECHECK_ITEMS, fail_fast=True)


def bulk_upload_check(body: BulkCheck, request: Request, principal: Principal = Depends(immich_principal)) -> dict:
    """Which of these files (by SHA-1) the caller has already: `accept` the others."""
    return {"results": view(request).check(principal, [(item.id, item.checksum) for item in body.assets])}


async def upload(request: Request, principal: Principal = Depends(immich_principal)) -> Response:
    """A multipart upload (`assetData` and its fields), stored durably before the answer: 201 `created`, or
    200 `duplicate` with the id of the asset that has the same bytes."""
    gallery = gallery_of(request)
    checksum = request.headers.get("x-immich-checksum")
    declared = IntakeMeta("upload", utcnow(), None, sha1_hex(checksum, "x-immich-checksum") if checksum else None)
    form = ImmichForm(request.headers.get("content-type", ""))
    def check_room(expected: int) -> None:
        gallery.intake.check_room(principal, expected, declared.declared_sha1)

    result = await take_plain_upload(request, gallery.intake, principal, declared, check_room, form)
    if isinstance(result, Response):
        return result
    if result.created and form.fields.get("isFavorite", "").lower() == "true":
        gallery.library.set_favorite(principal, result.item_id, True)
    return JSONResponse({"id": str(result.item_id), "status": "created" if result.created else "duplicate",
                         "duplicate": not result.created}, status_code=201 if result.created else 200)


def albums(request: Request, principal: Principal = Depends(immich_principal)) -> list:
    return view(request).albums(principal)


class AlbumIn(BaseModel):
    max_body_bytes: ClassVar[int] = 1 << 20
    albumName: str = Field(min_length=1, max_length=500)
    description: str = Field(default="", max_length=10_000)
    assetIds: list[uuid.UUID] = Field(default_factory=list, max_length=10_000)


def create_album(body: AlbumIn, request: Request, principal: Principal = Depends(immich_principal)) -> dict:
    return view(request).create_album(principal, body.albumName, body.description, body.assetIds)


class AssetIdsIn(BaseModel):
    max_body_bytes: ClassVar[int] = 8 << 20  # Immich's client sends up to 65,000 ids at once
    ids: list[uuid.UUID] = Field(min_length=1, max_length=65_000, fail_fast=True)


def add_to_album(album_id: uuid.UUID, body: AssetIdsIn, request: Request,
                 principal: Principal = Depends(immich_principal)) -> list:
    return view(request).add_to_album(principal, album_id, body.ids)


def get_asset(asset_id: uuid.UUID, request: Request, principal: Principal = Depends(immich_principal)) -> dict:
    return view(request).asset(principal, asset_id)


class AssetUpdateIn(BaseModel):
    max_body_bytes: ClassVar[int] = 1 << 20
    description: str | None = Field(default=None, max_length=10_000)
    isFavorite: bool | None = None
    isArchived: bool | None = None  # Immich before 1.133
    visibility: Literal["archive", "timeline"] | None = None  # Immich 1.133 and later
    latitude: float | None = Field(default=None, ge=-90, le=90)
    longitude: float | None = Field(default=None, ge=-180, le=180)


def update_asset(asset_id: uuid.UUID, body: AssetUpdateIn, request: Request,
                 principal: Principal = Depends(immich_principal)) -> dict:
    if (body.latitude is None) != (body.longitude is None):
        raise BadRequest("latitude and longitude go together", field="latitude")
    archived = body.isArchived if body.visibility is None else body.visibility == "archive"
    position = (body.latitude, body.longitude) if body.latitude is not None else None
    return view(request).update_asset(principal, asset_id, body.description, body.isFavorite, archived, position)


class AssetDeleteIn(BaseModel):
    max_body_bytes: ClassVar[int] = 8 << 20
    ids: list[uuid.UUID] = Field(min_length=1, max_length=65_000, fail_fast=True)
    force: bool = False


def delete_assets(body: AssetDeleteIn, request: Request, principal: Principal = Depends(immich_principal)) -> None:
    """To the trash. Deleting for good stays phonecloud's own trash's business (its API and pages)."""
    if body.force:
        raise BadRequest("force: phonecloud deletes for good only from its trash; send force false to move "
                         "these to the trash", field="force")
    view(request).trash(principal, body.ids)


paths("/server/ping", "/server-info/ping")(ping)
paths("/server/version", "/server-info/version")(version)
paths("/server/features", "/server-info/features")(features)
paths("/server/media-types", "/server-info/media-types")(supported_media_types)
paths("/users/me", "/user/me")(me)
paths("/api-keys/me")(my_key)
paths("/assets/statistics", "/asset/statistics")(statistics)
paths("/assets/bulk-upload-check", "/asset/bulk-upload-check")(bulk_upload_check, "POST")
paths("/assets", "/asset/upload")(upload, "POST", 201)
paths("/albums", "/album")(albums)
paths("/albums", "/album")(create_album, "POST", 201)
paths("/albums/{album_id}/assets", "/album/{album_id}/assets")(add_to_album, "PUT")
paths("/assets/{asset_id}")(get_asset)  # after /assets/statistics, which it would otherwise take
paths("/assets/{asset_id}")(update_asset, "PUT")
paths("/assets")(delete_assets, "DELETE", 204)
