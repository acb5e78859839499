"""`GET /api/v1/map/clusters`: the owner's photos with a place in a box, clustered for a zoom (service.py)."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Query, Request

from phonecloud.accounts.http import current_principal
from phonecloud.accounts.service import Principal
from phonecloud.core.limits import ApiRoute
from phonecloud.gallery.context import gallery_of
from phonecloud.gallery.map import service
from phonecloud.gallery.map.schemas import ClustersOut

router = APIRouter(tags=["gallery"], route_class=ApiRoute)


@router.get("/map/clusters", response_model=ClustersOut)
def map_clusters(request: Request, principal: Principal = Depends(current_principal),
                 west: float = Query(default=-180.0, ge=-180, le=180, description="Degrees; west > east crosses "
                                     "the antimeridian"),
                 south: float = Query(default=-90.0, ge=-90, le=90),
                 east: float = Query(default=180.0, ge=-180, le=180),
                 north: float = Query(default=90.0, ge=-90, le=90),
                 zoom: int = Query(default=0, ge=0, le=service.MAX_ZOOM, description="Web Mercator zoom: clusters "
                                   f"are the photos of one {service.CELL_PX}-pixel cell")):
    """Clusters of the owner's photos and videos that have a place (their GPS, else an import's place) inside
    the box, not in the trash: each with its count, mean place, bounds and newest item."""
    box = service.check_box(west, south, east, north)
    found = service.clusters(gallery_of(request).library.db, principal, box, zoom)
    return {"zoom": zoom, "cell_px": service.CELL_PX, "total": sum(cluster.count for cluster in found),
            "clusters": [{"count": c.count, "latitude": c.latitude, "longitude": c.longitude,
                          "bounds": {"west": c.west, "south": c.south, "east": c.east, "north": c.north},
                          "asset_id": c.asset_id, "kind": c.kind} for c in found]}
