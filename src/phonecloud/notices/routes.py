"""HTTP routes of notices: everyone reads the ones in force; administrators post and withdraw them."""

from __future__ import annotations

import datetime as dt

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, Field

from phonecloud.accounts.http import current_principal
from phonecloud.accounts.service import Principal
from phonecloud.core.http import ROW_ID_MAX, Moment, services
from phonecloud.core.limits import ApiRoute
from phonecloud.notices.models import Notice
from phonecloud.notices.service import MAX_MESSAGE_CHARS, MAX_REGION_CHARS

router = APIRouter(tags=["notices"], route_class=ApiRoute)


class NoticeIn(BaseModel):
    message: str = Field(min_length=1, max_length=MAX_MESSAGE_CHARS)
    level: str = Field(default="info", description="info, warning or critical")
    region: str | None = Field(default=None, max_length=MAX_REGION_CHARS, description="Only for users of this region")
    starts_at: Moment | None = Field(default=None, description="Shown from then on (default: now)")
    ends_at: Moment | None = Field(default=None, description="Shown until then (default: until withdrawn)")


class NoticeOut(BaseModel):
    id: int
    message: str
    level: str
    region: str | None
    starts_at: dt.datetime
    ends_at: dt.datetime | None
    withdrawn: bool

    @classmethod
    def of(cls, notice: Notice) -> NoticeOut:
        return cls(id=notice.id, message=notice.message, level=notice.level, region=notice.region,
                   starts_at=notice.starts_at, ends_at=notice.ends_at, withdrawn=notice.withdrawn_at is not None)


@router.get("/notices", response_model=list[NoticeOut])
def notices_in_force(request: Request, principal: Principal = Depends(current_principal)):
    """The notices in force for the caller (everyone's and their region's), newest first."""
    return [NoticeOut.of(notice) for notice in services(request).notices.in_force(principal.user_id)]


@router.get("/admin/notices", response_model=list[NoticeOut])
def recent_notices(request: Request, principal: Principal = Depends(current_principal)):
    """Every notice, newest first, withdrawn and ended ones included. Administrators only."""
    principal.require_admin()
    return [NoticeOut.of(notice) for notice in services(request).notices.recent()]


@router.post("/admin/notices", response_model=NoticeOut, status_code=201)
def post_notice(body: NoticeIn, request: Request, principal: Principal = Depends(current_principal)):
    """Show a notice on every page (of one region's users only, with region). Administrators only."""
    principal.require_admin()
    notice = services(request).notices.post(body.message, body.level, body.region, body.starts_at, body.ends_at)
    return NoticeOut.of(notice)


@router.delete("/admin/notices", status_code=204)
def withdraw_notice(request: Request, notice_id: int = Query(alias="id", ge=1, le=ROW_ID_MAX, description="The notice to withdraw"),
                    principal: Principal = Depends(current_principal)):
    """Stop showing a notice. Administrators only. (The id is a query parameter: notices belong to no user.)"""
    principal.require_admin()
    services(request).notices.withdraw(notice_id)
