"""HTTP routes of notices: everyone reads the ones in force for them; administrators post and withdraw
them and read what became of their emails."""

from __future__ import annotations

import datetime as dt

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, Field

from phonecloud.accounts.http import current_principal
from phonecloud.accounts.service import Principal
from phonecloud.core.http import ROW_ID_MAX, Moment, services
from phonecloud.core.limits import ApiRoute
from phonecloud.notices.models import Notice
from phonecloud.notices.service import MAX_MESSAGE_CHARS, MAX_REGION_CHARS, MAX_SUBJECT_CHARS, Audience
from phonecloud.portability.schemas import ExportStandingOut

router = APIRouter(tags=["notices"], route_class=ApiRoute)


class NoticeIn(BaseModel):
    message: str = Field(min_length=1, max_length=MAX_MESSAGE_CHARS)
    subject: str = Field(default="", max_length=MAX_SUBJECT_CHARS, description="The email's (default: the "
                         "message's first line)")
    level: str = Field(default="info", description="info, warning or critical")
    region: str | None = Field(default=None, max_length=MAX_REGION_CHARS, description="Only for users of this "
                               "country (ISO 3166-1 alpha-2)")
    group: str | None = Field(default=None, max_length=100, description="Only for users of this region group")
    plan: str | None = Field(default=None, max_length=100, description="Only for this plan's members")
    kind: str | None = Field(default=None, max_length=64, description="Only for users who keep data of this kind")
    email: bool = Field(default=False, description="Also send it by email to its audience")
    required: bool = Field(default=False, description="Legally required: sent even to users who unsubscribed")
    starts_at: Moment | None = Field(default=None, description="Shown (and emailed) from then on (default: now)")
    ends_at: Moment | None = Field(default=None, description="Shown until then (default: until withdrawn)")


class NoticeOut(BaseModel):
    id: int
    message: str
    subject: str
    level: str
    region: str | None
    group: str | None
    plan: str | None
    kind: str | None
    email: bool
    required: bool
    starts_at: dt.datetime
    ends_at: dt.datetime | None
    withdrawn: bool
    yours: dict[str, int] | None = Field(default=None, description="For a notice about a kind of data: what the "
                                         "caller keeps of it now (items, bytes)")
    retirement_id: int | None = Field(default=None, description="The feature retirement it belongs to")
    export: ExportStandingOut | None = Field(default=None, description="For a retirement's notice: the caller's "
                                             "newest export since it was announced (null: none yet), how many "
                                             "of its parts were downloaded, and whether it was verified")

    @classmethod
    def of(cls, notice: Notice, usage: dict | None = None, exports: dict | None = None) -> NoticeOut:
        standing = (exports or {}).get(notice.retirement_id)
        return cls(id=notice.id, message=notice.message, subject=notice.subject, level=notice.level,
                   region=notice.region, group=notice.group_name, plan=notice.plan_name, kind=notice.kind,
                   email=notice.email, required=notice.required, starts_at=notice.starts_at,
                   ends_at=notice.ends_at, withdrawn=notice.withdrawn_at is not None,
                   yours=usage[notice.kind].as_dict() if usage and notice.kind in usage else None,
                   retirement_id=notice.retirement_id, export=ExportStandingOut.of(standing) if standing else None)


def for_user(request: Request, user_id: int) -> list[NoticeOut]:
    """The notices in force for a user, each about a kind with what they keep of it."""
    running = services(request)
    notices = running.notices.in_force(user_id)
    usage = running.usage(user_id) if any(notice.kind for notice in notices) else None
    exports = running.exports_since_announcements(user_id, notices)
    return [NoticeOut.of(notice, usage, exports) for notice in notices]


class DeliveryOut(BaseModel):
    email: str
    state: str = Field(description="queued, sending, sent, failed, uncertain (cut off while sending; never "
                       "resent) or skipped (unsubscribed, or the notice was withdrawn)")
    attempts: int
    answer: str = Field(description="The mail server's last reply, or why it was not sent")
    last_attempt_at: dt.datetime | None
    sent_at: dt.datetime | None


@router.get("/notices", response_model=list[NoticeOut])
def notices_in_force(request: Request, principal: Principal = Depends(current_principal)):
    """The notices in force for the caller (everyone's and those whose audience they are in), newest first."""
    return for_user(request, principal.user_id)


@router.get("/admin/notices", response_model=list[NoticeOut])
def recent_notices(request: Request, principal: Principal = Depends(current_principal)):
    """Every notice, newest first, withdrawn and ended ones included. Administrators only."""
    principal.require_admin()
    return [NoticeOut.of(notice) for notice in services(request).notices.recent()]


@router.post("/admin/notices", response_model=NoticeOut, status_code=201)
def post_notice(body: NoticeIn, request: Request, principal: Principal = Depends(current_principal)):
    """Show a notice to its audience (criteria combine; none: everyone), and email it with email. Administrators
    only."""
    principal.require_admin()
    notice = services(request).notices.post(
        body.message, body.level, body.region, body.starts_at, body.ends_at,
        audience=Audience(group=body.group, plan=body.plan, kind=body.kind), email=body.email,
        required=body.required, subject=body.subject)
    return NoticeOut.of(notice)


@router.delete("/admin/notices", status_code=204)
def withdraw_notice(request: Request, notice_id: int = Query(alias="id", ge=1, le=ROW_ID_MAX, description="The notice to withdraw"),
                    principal: Principal = Depends(current_principal)):
    """Stop showing a notice (and sending its emails). Administrators only. (The id is a query parameter:
    notices belong to no user.)"""
    principal.require_admin()
    services(request).notices.withdraw(notice_id)


@router.get("/admin/notices/deliveries", response_model=list[DeliveryOut])
def deliveries(request: Request, notice_id: int = Query(alias="id", ge=1, le=ROW_ID_MAX, description="The notice"),
               email: str | None = Query(default=None, max_length=320),
               principal: Principal = Depends(current_principal)):
    """Each email of a notice and what became of it: was this user told, and when? Administrators only."""
    principal.require_admin()
    return [row.as_dict() for row in services(request).notice_mail.deliveries(notice_id, email)]
