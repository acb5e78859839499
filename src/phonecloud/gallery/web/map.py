"""The map page: the owner's photos with a place, clustered (gallery/map/), over a plain graticule, or over
the tiles of the operator's tile server when one is configured (Settings.map_tile_url): then, and only then,
the page's Content-Security-Policy lets images come from that server."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request

from phonecloud.accounts.service import Principal
from phonecloud.core.http import services
from phonecloud.gallery.map.service import CELL_PX, MAX_ZOOM, TileSource
from phonecloud.web.pages import CONTENT_SECURITY_POLICY, WebRoute, render, signed_in

router = APIRouter(route_class=WebRoute, include_in_schema=False)


def content_security_policy(tiles: TileSource | None) -> str:
    if tiles is None:
        return CONTENT_SECURITY_POLICY
    return CONTENT_SECURITY_POLICY.replace("img-src 'self'", f"img-src 'self' {tiles.origin}", 1)


@router.get("/map")
def map_page(request: Request, me: Principal = Depends(signed_in)):
    tiles = TileSource.configured(services(request).settings)
    response = render(request, "map.html", me, page="map", tiles=tiles, max_zoom=MAX_ZOOM, cell_px=CELL_PX)
    response.headers["Content-Security-Policy"] = content_security_policy(tiles)
    return response
