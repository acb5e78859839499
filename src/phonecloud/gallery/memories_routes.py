"""`GET /api/v1/memories`: on this day in earlier years (gallery/memories.py)."""

from __future__ import annotations

import datetime as dt

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, Field

from phonecloud.accounts.http import current_principal
from phonecloud.accounts.service import Principal
from phonecloud.core.dates import parse_day
from phonecloud.core.limits import ApiRoute
from phonecloud.gallery.context import gallery_of
from phonecloud.gallery.memories import MAX_PER_YEAR, on_this_day
from phonecloud.gallery.schemas import AssetOut, asset_out

router = APIRouter(tags=["gallery"], route_class=ApiRoute)


class MemoryOut(BaseModel):
    year: int
    years_ago: int
    count: int = Field(description="Items of that day; `items` holds the first `per_year` of them, oldest first")
    items: list[AssetOut]


class MemoriesOut(BaseModel):
    date: dt.date
    years: list[MemoryOut] = Field(description="Newest year first; years without items are left out")


@router.get("/memories", response_model=MemoriesOut)
def memories(request: Request, principal: Principal = Depends(current_principal),
             date: str | None = Query(default=None, max_length=10, description="YYYY-MM-DD; default: today (UTC)"),
             per_year: int = Query(default=24, ge=1, le=MAX_PER_YEAR)):
    """What the owner took on this calendar day (by the camera's local clock) in each earlier year."""
    day = parse_day(date) if date else dt.datetime.now(dt.UTC).date()
    found = on_this_day(gallery_of(request).library.db, principal, day, per_year)
    return {"date": day, "years": [
        {"year": memory.year, "years_ago": memory.years_ago, "count": memory.count,
         "items": [asset_out(asset, memory.media.get(asset.id)) for asset in memory.items]} for memory in found]}
