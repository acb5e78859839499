"""HTTP routes of the whole trash: empty it, or restore from it, all at once or the items named."""

from __future__ import annotations

import uuid
from typing import ClassVar

from fastapi import APIRouter, Body, Depends, Request
from pydantic import BaseModel, Field

from phonecloud.accounts.http import current_principal
from phonecloud.accounts.service import Principal
from phonecloud.core.limits import ApiRoute
from phonecloud.gallery.albums import MAX_ALBUM_CHANGE
from phonecloud.gallery.context import gallery_of

router = APIRouter(tags=["gallery"], route_class=ApiRoute)


class TrashItems(BaseModel):
    """Which items of the trash; without asset_ids (or without a body), every one."""

    max_body_bytes: ClassVar[int] = 1 << 20  # 10,000 UUIDs of 40 bytes each, pretty-printed or not
    asset_ids: list[uuid.UUID] | None = Field(
        default=None, min_length=1, max_length=MAX_ALBUM_CHANGE,
        description="These items only (ids that are not the caller's or not in the trash are left alone and not "
                    "counted); leave it out for the whole trash")


class EmptiedTrash(BaseModel):
    deleted: int = Field(description="How many items were deleted for good")


class RestoredTrash(BaseModel):
    restored: int = Field(description="How many items were restored to the library")


_BODY = Body(default=None, description="Optional: {\"asset_ids\": [...]}; without it, the whole trash")


@router.post("/trash/empty", response_model=EmptiedTrash)
def empty_trash(request: Request, body: TrashItems = _BODY, principal: Principal = Depends(current_principal)):
    """Delete for good what is in the caller's trash (or those of the items named that are): originals and
    derivatives are removed and their bytes leave the quota, as `DELETE /assets/{id}` does for each. What is
    moved to the trash while it runs stays there."""
    asset_ids = body.asset_ids if body is not None else None
    return EmptiedTrash(deleted=gallery_of(request).library.empty_trash(principal, asset_ids))


@router.post("/trash/restore", response_model=RestoredTrash)
def restore_trash(request: Request, body: TrashItems = _BODY, principal: Principal = Depends(current_principal)):
    """Restore to the library what is in the caller's trash (or those of the items named that are)."""
    asset_ids = body.asset_ids if body is not None else None
    return RestoredTrash(restored=gallery_of(request).library.restore_trash(principal, asset_ids))
