"""The clustering query: the owner's photos with a place in a range of the map, grouped by their cell of the
zoom's grid, in one statement (no math functions in SQL: SQLite may lack them).

A photo's place is its file's GPS (asset_media, from the media pipeline), else the place an import gave it
(assets.place_*: Google Takeout's edited or estimated places). 0°, 0° is left out: it is what phones write
when they had no fix, not a photo taken in the Gulf of Guinea.

A cell's row is found by a binary search over the latitudes where the box's rows begin (a nested CASE of
seven comparisons for 128 rows), its column by floor() of the longitude. One GROUP BY gives each cell's count,
mean and bounds; its newest item is SQLite's bare column beside max() (the row that has the maximum), and a
window's first row on PostgreSQL, which has no such rule.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import Integer, and_, case, cast, func, literal, not_, select
from sqlalchemy.orm import Session

from phonecloud.gallery.models import Asset
from phonecloud.media.models import AssetMedia

if TYPE_CHECKING:
    from phonecloud.gallery.map.service import Cluster, Grid

_HAS_GPS = and_(AssetMedia.latitude.is_not(None), AssetMedia.longitude.is_not(None))
LATITUDE = case((_HAS_GPS, AssetMedia.latitude), else_=Asset.place_latitude)
LONGITUDE = case((_HAS_GPS, AssetMedia.longitude), else_=Asset.place_longitude)


def _row(latitude, edges: list[tuple[float, int]], last_row: int):
    """The row of a latitude: edges are (latitude, row) north to south, a place north of one is in its row."""
    if not edges:
        return literal(last_row)
    middle = len(edges) // 2
    edge, row = edges[middle]
    north = _row(latitude, edges[:middle], row) if middle else literal(row)
    return case((latitude > edge, north), else_=_row(latitude, edges[middle + 1:], last_row))


def clusters(session: Session, owner_id: int, grid: Grid, south: float, north: float, west: float,
             east: float) -> list[Cluster]:
    from phonecloud.gallery.map.service import Cluster

    postgresql = session.get_bind().dialect.name == "postgresql"
    placed = (select(Asset.id, Asset.kind, Asset.sort_at, LATITUDE.label("lat"), LONGITUDE.label("lon"))
              .select_from(Asset).outerjoin(AssetMedia, AssetMedia.asset_id == Asset.id)
              .where(Asset.owner_id == owner_id, Asset.trashed_at.is_(None),
                     LATITUDE.between(south, north), LONGITUDE.between(west, east),
                     not_(and_(LATITUDE == 0.0, LONGITUDE == 0.0)))
              .cte("placed").prefix_with("MATERIALIZED" if postgresql else ""))
    lat, lon = placed.c.lat, placed.c.lon
    row = _row(lat, grid.row_edges(), grid.last_row).label("row")
    column = (lon + 180.0) * grid.n / 360.0  # ≥ 0: floor() is a cast on SQLite (which truncates), not on PostgreSQL
    column = case((lon >= 180.0, grid.n - 1), else_=cast(func.floor(column), Integer) if postgresql
                  else cast(column, Integer)).label("col")
    aggregates = (func.count().label("count"), func.avg(lat).label("lat"), func.avg(lon).label("lon"),
                  func.min(lon).label("west"), func.min(lat).label("south"), func.max(lon).label("east"),
                  func.max(lat).label("north"))
    if postgresql:
        cells = select(row, column, *aggregates).group_by(row, column).subquery()
        newest = func.row_number().over(partition_by=(row, column),
                                        order_by=(placed.c.sort_at.desc(), placed.c.id.desc()))
        ranked = select(row, column, placed.c.id, placed.c.kind, newest.label("rank")).subquery()
        query = (select(cells, ranked.c.id, ranked.c.kind)
                 .join(ranked, and_(ranked.c.row == cells.c.row, ranked.c.col == cells.c.col, ranked.c.rank == 1)))
    else:
        query = (select(row, column, *aggregates, placed.c.id, placed.c.kind, func.max(placed.c.sort_at))
                 .group_by(row, column))
    found = session.execute(query.order_by("row", "col")).all()
    return [Cluster(count=r.count, latitude=float(r.lat), longitude=float(r.lon), west=r.west, south=r.south,
                    east=r.east, north=r.north, asset_id=r.id, kind=r.kind) for r in found]
