"""Clusters of the owner's photos on a map: the grid, the box, and the tile server an operator may name.

The map is Web Mercator (as every web map): at zoom z the world is 256·2^z pixels square. Photos are grouped
by the cell of a grid of CELL_PX-pixel squares at the asked zoom, in the database (repository.py), so that
only the clusters of the box travel, never the photos: a library of 100,000 photos is a few hundred rows.
"""

from __future__ import annotations

import math
import uuid
from dataclasses import dataclass
from urllib.parse import urlsplit

from phonecloud.accounts.service import Principal
from phonecloud.core.db import Database
from phonecloud.core.errors import BadRequest
from phonecloud.gallery.map import repository

CELL_PX = 64  # a cluster's cell, in screen pixels: a marker's size and a little room around it
MAX_ZOOM = 20  # about 15 cm a pixel at the equator; beyond that photos' GPS is noise
MAX_CELLS = 128  # a box of at most this many cells a side (a 4K screen and a margin are 70)
MAX_LATITUDE = math.degrees(math.atan(math.sinh(math.pi)))  # 85.0511…: Web Mercator's square ends there


def cells(zoom: int) -> int:
    """Cells a side of the whole world's grid at that zoom."""
    return 2 ** zoom * 256 // CELL_PX


def mercator_x(longitude: float) -> float:
    """0 at 180°W, 1 at 180°E."""
    return (longitude + 180.0) / 360.0


def mercator_y(latitude: float) -> float:
    """0 at the top of the map (85.05°N), 1 at its bottom; beyond those, clamped to them."""
    latitude = max(-MAX_LATITUDE, min(MAX_LATITUDE, latitude))
    return 0.5 - math.log(math.tan(math.pi / 4 + math.radians(latitude) / 2)) / (2 * math.pi)


def latitude_of(y: float) -> float:
    return math.degrees(math.atan(math.sinh(math.pi * (1 - 2 * y))))


def cell_of(latitude: float, longitude: float, zoom: int) -> tuple[int, int]:
    """(row, column) of a place at a zoom: what the database computes, for tests and for the record."""
    n = cells(zoom)
    return min(n - 1, int(mercator_y(latitude) * n)), min(n - 1, int(mercator_x(longitude) * n))


@dataclass(frozen=True)
class Box:
    """What the map shows: west > east when it crosses the antimeridian (180°)."""

    west: float
    south: float
    east: float
    north: float

    def spans(self) -> list[tuple[float, float]]:
        """Its ranges of longitude, west to east: two when it crosses the antimeridian."""
        if self.west <= self.east:
            return [(self.west, self.east)]
        return [(self.west, 180.0), (-180.0, self.east)]


@dataclass(frozen=True)
class Grid:
    """The rows of the grid that a box covers at a zoom, as the latitudes where each next row begins."""

    zoom: int
    n: int
    first_row: int
    last_row: int

    @classmethod
    def of(cls, box: Box, zoom: int) -> Grid:
        n = cells(zoom)
        first, last = (min(n - 1, int(mercator_y(box.north) * n)), min(n - 1, int(mercator_y(box.south) * n)))
        columns = sum(mercator_x(east) - mercator_x(west) for west, east in box.spans()) * n
        if last - first + 1 > MAX_CELLS or columns > MAX_CELLS + 1:
            raise BadRequest(f"the box is too large for zoom {zoom}: at most {MAX_CELLS} cells of {CELL_PX} "
                             "pixels a side; ask a lower zoom or a smaller box", parameter="zoom")
        return cls(zoom, n, first, last)

    def row_edges(self) -> list[tuple[float, int]]:
        """(latitude, row) from north to south: a place north of the latitude is in the row (else a later one)."""
        return [(latitude_of((row + 1) / self.n), row) for row in range(self.first_row, self.last_row)]


def check_box(west: float, south: float, east: float, north: float) -> Box:
    """A box as the API takes it (the ranges of each value are checked by the route)."""
    for name, value in (("west", west), ("south", south), ("east", east), ("north", north)):
        if not math.isfinite(value):
            raise BadRequest(f"{name} must be a finite number of degrees", parameter=name)
    if south > north:
        raise BadRequest(f"south ({south}) must not be north of north ({north})", parameter="south")
    return Box(west, south, east, north)


@dataclass(frozen=True)
class Cluster:
    """Photos of one cell: their number, mean place and bounds, and the newest of them (the photo itself
    when it is alone)."""

    count: int
    latitude: float
    longitude: float
    west: float
    south: float
    east: float
    north: float
    asset_id: uuid.UUID
    kind: str


def clusters(db: Database, principal: Principal, box: Box, zoom: int) -> list[Cluster]:
    """The owner's photos and videos with a place in the box (not in the trash), clustered for the zoom."""
    if not 0 <= zoom <= MAX_ZOOM:
        raise BadRequest(f"zoom must be from 0 to {MAX_ZOOM}", parameter="zoom")
    grid = Grid.of(box, zoom)
    with db.read() as session:
        return [cluster for west, east in box.spans()
                for cluster in repository.clusters(session, principal.user_id, grid, box.south, box.north, west, east)]


@dataclass(frozen=True)
class TileSource:
    """The operator's tile server (Settings.map_tile_url), or none: then the map draws no tiles at all."""

    url: str
    attribution: str

    @classmethod
    def configured(cls, settings) -> TileSource | None:
        url = getattr(settings, "map_tile_url", None)
        if not url:
            return None
        host = urlsplit(url).netloc.replace("{s}.", "")
        return cls(url, getattr(settings, "map_tile_attribution", None) or f"Map tiles: {host}")

    @property
    def origin(self) -> str:
        """What the page's Content-Security-Policy allows images from: the tile server's scheme and host
        ({s}, a server's choice of subdomains, as a wildcard)."""
        parts = urlsplit(self.url)
        return f"{parts.scheme}://{parts.netloc.replace('{s}', '*')}"

