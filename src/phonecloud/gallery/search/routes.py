"""GET /api/v1/search: a thin adapter over SearchService (every parameter checked there: 400 naming it)."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Query, Request

from phonecloud.accounts.http import current_principal
from phonecloud.accounts.service import Principal
from phonecloud.core.http import ErrorOut
from phonecloud.core.limits import ApiRoute
from phonecloud.gallery.context import gallery_of
from phonecloud.gallery.schemas import AssetPage, asset_out
from phonecloud.gallery.search.schemas import PARAMETERS, SearchParams, parse_limit
from phonecloud.gallery.service import MAX_PAGE

router = APIRouter(tags=["gallery"], route_class=ApiRoute)


def _described(name: str, **options):
    return Query(default=None, description=PARAMETERS[name], **options)


@router.get("/search", response_model=AssetPage,
            responses={400: {"model": ErrorOut, "description": "A parameter is wrong (its name is in `parameter`)"},
                       404: {"model": ErrorOut, "description": "The album is not the caller's"}})
def search(request: Request, q: str | None = _described("q"), from_: str | None = _described("from", alias="from"),
           to: str | None = _described("to"), place: str | None = _described("place"),
           camera: str | None = _described("camera"), filename: str | None = _described("filename"),
           album: str | None = _described("album"), favorite: str | None = _described("favorite"),
           kind: str | None = _described("kind"),
           cursor: str | None = Query(default=None, description="The next_cursor of the previous page"),
           limit: str | None = Query(default=None, description=f"Items per page, 1 to {MAX_PAGE} (100)"),
           principal: Principal = Depends(current_principal)):
    """The caller's items outside the trash that meet every parameter given, newest first, as the library
    listing gives them (GET /assets); no parameter: the whole library."""
    params = SearchParams.parse(q, from_, to, place, camera, filename, album, favorite, kind)
    gallery = gallery_of(request)
    page = gallery.search.find(principal, params, cursor, parse_limit(limit, 100, MAX_PAGE))
    media = gallery.library.media_of(page.items)
    return AssetPage(items=[asset_out(asset, media.get(asset.id)) for asset in page.items],
                     next_cursor=page.next_cursor)
