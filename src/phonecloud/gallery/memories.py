"""On this day: what the owner took on a calendar day (today's, by default) in each earlier year, for the
timeline's memories and the API.

A photo belongs to the day its camera's clock showed (its local capture day), which may be a UTC day
before or after; so each year is read as a range of the owner's timeline index (owner_id, sort_at) widened
by the span of the world's time zones, and then kept by its local day: one statement reading a small indexed
range per year, never a scan of the library.
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass

from sqlalchemy import Row, Select, and_, func, or_, select
from sqlalchemy.orm import Session

from phonecloud.accounts.service import Principal
from phonecloud.core.db import Database
from phonecloud.gallery.models import Asset
from phonecloud.gallery.moments import local_time
from phonecloud.gallery.repository import media_rows
from phonecloud.media.models import READY, AssetMedia

MAX_PER_YEAR = 200  # of one year's day, which is plenty for a memory; the count says how many there are
# Zones run from UTC-12 to UTC+14: a local day lies within these bounds of the UTC day of the same date.
_EARLIEST_ZONE, _LATEST_ZONE = dt.timedelta(hours=14), dt.timedelta(hours=12)


@dataclass(frozen=True)
class Memory:
    """One earlier year's photos and videos of the day, oldest first."""

    year: int
    years_ago: int
    count: int  # all of that day's; items holds the first per_year
    items: list[Asset]
    media: dict  # asset id -> AssetMedia, for the items that have it


@dataclass(frozen=True)
class Glimpse:
    """An earlier year's photos of the day as the timeline's card shows it: the day, how many, and a cover."""

    day: dt.date
    years_ago: int
    count: int
    cover: uuid.UUID | None  # an item with a thumbnail; None while none has one


def days_statement(owner_id: int, days: list[dt.date]) -> Select:
    """When each of the owner's items (not in the trash) near these local days was taken, oldest first: (id,
    sort_at, the camera's local time or None, the media pipeline's state or None). One statement, an OR of one
    index range per day, each with the owner in it, so that both databases read the ranges and nothing else."""
    ranges = [and_(Asset.owner_id == owner_id,
                   Asset.sort_at >= dt.datetime.combine(that, dt.time(), dt.UTC) - _EARLIEST_ZONE,
                   Asset.sort_at < dt.datetime.combine(that + dt.timedelta(days=1), dt.time(), dt.UTC) + _LATEST_ZONE)
              for that in days]
    return (select(Asset.id, Asset.sort_at, AssetMedia.taken_at, AssetMedia.state)
            .outerjoin(AssetMedia, AssetMedia.asset_id == Asset.id)
            .where(or_(*ranges), Asset.trashed_at.is_(None)).order_by(Asset.sort_at, Asset.id))


def on_this_day(db: Database, principal: Principal, day: dt.date, per_year: int = MAX_PER_YEAR) -> list[Memory]:
    """The owner's items (not in the trash) taken on `day`'s month and day in earlier years, newest year first."""
    with db.read() as session:
        taken = _taken(session, principal.user_id, day)
        shown = [row.id for rows in taken.values() for row in rows[:per_year]]
        assets = {asset.id: asset for asset in session.scalars(select(Asset).where(Asset.id.in_(shown)))}
        media: dict[object, AssetMedia] = media_rows(session, shown)
    return [Memory(that.year, day.year - that.year, len(rows), [assets[row.id] for row in rows[:per_year]],
                   {row.id: media[row.id] for row in rows[:per_year] if row.id in media})
            for that, rows in taken.items()]


def glimpses(db: Database, principal: Principal, day: dt.date) -> list[Glimpse]:
    """on_this_day as the timeline's cards show it, from the one statement: each year's count and a cover."""
    with db.read() as session:
        taken = _taken(session, principal.user_id, day)
    return [Glimpse(that, day.year - that.year, len(rows), next((row.id for row in rows if row.state == READY), None))
            for that, rows in taken.items()]


def _taken(session: Session, owner_id: int, day: dt.date) -> dict[dt.date, list[Row]]:
    """The rows of days_statement taken on `day`'s month and day (by the camera's clock) in each earlier year
    that has any, newest year first."""
    oldest = session.scalar(select(func.min(Asset.sort_at)).where(Asset.owner_id == owner_id,
                                                                   Asset.trashed_at.is_(None)))
    if oldest is None:
        return {}
    days = {}
    for year in range(day.year - 1, oldest.year - 1, -1):
        try:
            days[year] = day.replace(year=year)
        except ValueError:  # 29 February, in a year without one
            continue
    if not days:
        return {}
    taken: dict[dt.date, list[Row]] = {}
    for row in session.execute(days_statement(owner_id, list(days.values()))):
        moment = local_time(row.sort_at, row.taken_at)
        if days.get(moment.year) == moment.date():
            taken.setdefault(moment.date(), []).append(row)
    return dict(sorted(taken.items(), reverse=True))
