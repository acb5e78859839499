"""HTTP routes of feature retirements: administrators plan, see, postpone and cancel them; every user reads
the deletion receipts of their own data."""

from __future__ import annotations

import datetime as dt

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, Field

from phonecloud.accounts.http import current_principal
from phonecloud.accounts.service import Principal
from phonecloud.core.http import ROW_ID_MAX, Moment, services
from phonecloud.core.limits import ApiRoute
from phonecloud.plans.routes import operator
from phonecloud.retirement.service import plan_dict

router = APIRouter(tags=["retirement"], route_class=ApiRoute)
_Id = Field(ge=1, le=ROW_ID_MAX, description="The retirement's id")


class RetirementIn(BaseModel):
    kind: str = Field(max_length=64)
    groups: list[str] = Field(min_length=1, max_length=100, description="The affected region groups")
    exempt: list[str] = Field(default=[], max_length=100, description="Region groups never affected")
    announce_at: Moment
    stop_sync_at: Moment
    deadline_at: Moment
    delete_at: Moment
    refund: str = Field(max_length=16, description="last-payment, prorated or none")
    message: str = Field(default="", max_length=2000)


class RetirementOut(BaseModel):
    id: int
    kind: str
    groups: list[str]
    exempt: list[str]
    announce_at: dt.datetime
    stop_sync_at: dt.datetime
    deadline_at: dt.datetime
    delete_at: dt.datetime
    refund: str
    message: str
    state: str = Field(description="scheduled, announced, sync-stopped, deleting, done or cancelled")
    created_by: str
    created_at: dt.datetime
    report: dict = Field(description="Once done: users, items, rows, blobs, bytes deleted and what is left")


class StepOut(BaseModel):
    step: str
    at: dt.datetime
    users: int
    bytes: int


class EventOut(BaseModel):
    at: dt.datetime
    actor: str
    action: str
    detail: dict


class RetirementDetail(RetirementOut):
    preview: list[StepOut] = Field(description="How many users and bytes each step affects, as things stand")
    audit: list[EventOut]


class Postponement(BaseModel):
    id: int = _Id
    announce_at: Moment | None = None
    stop_sync_at: Moment | None = None
    deadline_at: Moment | None = None
    delete_at: Moment | None = None


class RetirementId(BaseModel):
    id: int = _Id


class ReceiptOut(BaseModel):
    retirement: int
    kind: str
    state: str = Field(description="running, then done")
    items: int
    rows: int
    blobs: int
    bytes: int
    charged_bytes: int = Field(description="What the quota charged for the kind before, and no longer does")
    manifest_sha256: str = Field(description="SHA-256 of the list of what the kind held, taken before deletion")
    rows_left: int | None = Field(description="The final scan: rows of the kind left (0)")
    bytes_left: int | None = Field(description="The final scan: bytes of the kind still charged (0)")
    started_at: dt.datetime
    finished_at: dt.datetime | None


def _actor(principal: Principal) -> str:
    return principal.email


@router.get("/admin/retirements", response_model=list[RetirementOut])
def list_retirements(request: Request, _: Principal = Depends(operator)):
    return [plan_dict(plan) for plan in services(request).retirements.plans()]


@router.post("/admin/retirements", response_model=RetirementDetail, status_code=201)
def plan_retirement(body: RetirementIn, request: Request, principal: Principal = Depends(operator)):
    """Plan the retirement of a kind of data for the users of some region groups."""
    plan = services(request).retirements.plan(_actor(principal), body.kind, body.groups, body.announce_at,
                                              body.stop_sync_at, body.deadline_at, body.delete_at, body.refund,
                                              body.message, body.exempt)
    return _detail(request, plan.id)


@router.get("/admin/retirements/show", response_model=RetirementDetail)
def show_retirement(request: Request, plan_id: int = Query(alias="id", ge=1, le=ROW_ID_MAX),
                    _: Principal = Depends(operator)):
    """A retirement with its preview and audit log."""
    return _detail(request, plan_id)


@router.post("/admin/retirements/postpone", response_model=RetirementDetail)
def postpone_retirement(body: Postponement, request: Request, principal: Principal = Depends(operator)):
    """Move dates later (never earlier), until deletion has begun."""
    services(request).retirements.postpone(_actor(principal), body.id, announce_at=body.announce_at,
                                           stop_sync_at=body.stop_sync_at, deadline_at=body.deadline_at,
                                           delete_at=body.delete_at)
    return _detail(request, body.id)


@router.post("/admin/retirements/cancel", response_model=RetirementDetail)
def cancel_retirement(body: RetirementId, request: Request, principal: Principal = Depends(operator)):
    """Cancel before deletion has begun: sync works again, the notices are withdrawn."""
    services(request).retirements.cancel(_actor(principal), body.id)
    return _detail(request, body.id)


def _detail(request: Request, plan_id: int) -> dict:
    retirements = services(request).retirements
    return {**plan_dict(retirements.get(plan_id)), "preview": [step.as_dict() for step in retirements.preview(plan_id)],
            "audit": retirements.events(plan_id)}


@router.get("/me/deletion-receipts", response_model=list[ReceiptOut])
def my_deletion_receipts(request: Request, principal: Principal = Depends(current_principal)):
    """What feature retirements deleted of the caller's data, with the final scan, newest first."""
    return services(request).retirements.receipts(principal.user_id)
