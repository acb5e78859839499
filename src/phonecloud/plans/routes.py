"""HTTP routes of plans, memberships and the payments ledger. Administrators only (an operator's billing
system calls these with an administrator's API key)."""

from __future__ import annotations

import datetime as dt

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse, StreamingResponse
from pydantic import BaseModel, Field

from phonecloud.accounts.http import current_principal
from phonecloud.accounts.service import Principal
from phonecloud.core.http import Moment, services
from phonecloud.core.limits import ApiRoute
from phonecloud.plans.ledger import csv_lines

router = APIRouter(tags=["plans"], route_class=ApiRoute)
MAX_BYTES = 2**62
_Name = Field(max_length=100, description="The plan's name, as in the CLI")
_Email = Field(max_length=320, description="Whose account (users are named by email, as in the CLI)")


def operator(principal: Principal = Depends(current_principal)) -> Principal:
    principal.require_admin()
    return principal


class PlanOut(BaseModel):
    name: str
    quota_bytes: int
    price: str | None = Field(description="In the currency's units, as a decimal string (\"1.99\")")
    currency: str | None
    period: str = Field(description="month, year, once or none")
    kinds: list[str] | None = Field(description="The kinds of data it includes (null: every kind)")
    is_default: bool = Field(description="What users without a membership have")
    retired: bool = Field(description="Takes no new members")
    members: int = Field(description="Users who are members now")


class PlanIn(BaseModel):
    name: str = _Name
    quota_bytes: int = Field(ge=0, le=MAX_BYTES)
    price: str = Field(default="0", max_length=32, description="A decimal string such as \"1.99\"")
    currency: str | None = Field(default=None, max_length=3, description="ISO 4217, such as EUR")
    period: str = Field(default="month", max_length=16, description="month, year, once or none")
    kinds: list[str] | None = Field(default=None, max_length=64, description="Default: every kind")


class PlanChange(BaseModel):
    name: str = _Name
    quota_bytes: int | None = Field(default=None, ge=0, le=MAX_BYTES)
    price: str | None = Field(default=None, max_length=32)
    currency: str | None = Field(default=None, max_length=3)
    period: str | None = Field(default=None, max_length=16)
    kinds: list[str] | None = Field(default=None, max_length=64, description="Replaces the kinds it includes")
    every_kind: bool = Field(default=False, description="Include every kind again")


class PlanName(BaseModel):
    name: str = _Name


class MembershipOut(BaseModel):
    id: int
    plan: str
    starts_at: dt.datetime
    ends_at: dt.datetime | None
    state: str = Field(description="scheduled, active or ended")


class MembershipIn(BaseModel):
    email: str = _Email
    plan: str = _Name
    starts_at: Moment | None = Field(default=None, description="Default: now")
    ends_at: Moment | None = Field(default=None, description="Default: until ended")


class MembershipEnd(BaseModel):
    email: str = _Email
    plan: str = _Name
    at: Moment | None = Field(default=None, description="Default: now")


class EntryIn(BaseModel):
    email: str = _Email
    amount: str = Field(max_length=32, description="A decimal string in the currency's units, such as \"1.99\"")
    currency: str = Field(max_length=3, description="ISO 4217, such as EUR")
    plan: str = _Name
    reference: str = Field(max_length=200, description="The billing system's id of it: recorded once")
    at: Moment | None = Field(default=None, description="When it was paid or refunded (default: now)")
    note: str = Field(default="", max_length=2000)


class EntryOut(BaseModel):
    id: int
    time: dt.datetime
    email: str
    plan: str
    kind: str = Field(description="payment or refund")
    amount: str
    currency: str
    reference: str
    note: str


@router.get("/admin/plans", response_model=list[PlanOut])
def list_plans(request: Request, _: Principal = Depends(operator)):
    """The catalogue, with each plan's members now."""
    return [row.as_dict() for row in services(request).plans.plans()]


@router.post("/admin/plans", response_model=PlanOut, status_code=201)
def add_plan(body: PlanIn, request: Request, _: Principal = Depends(operator)):
    """Add a plan to the catalogue."""
    return services(request).plans.add(body.name, body.quota_bytes, body.price, body.currency, body.period,
                                       body.kinds).as_dict()


@router.patch("/admin/plans", response_model=PlanOut)
def change_plan(body: PlanChange, request: Request, _: Principal = Depends(operator)):
    """Change a plan; its members' quotas follow at once."""
    return services(request).plans.change(body.name, body.quota_bytes, body.price, body.currency, body.period,
                                          body.kinds, body.every_kind).as_dict()


@router.post("/admin/plans/retire", response_model=PlanOut)
def retire_plan(body: PlanName, request: Request, _: Principal = Depends(operator)):
    """The plan takes no new members; its members keep it until their membership ends."""
    return services(request).plans.retire(body.name).as_dict()


@router.get("/admin/memberships", response_model=list[MembershipOut])
def list_memberships(request: Request, email: str = Query(max_length=320), _: Principal = Depends(operator)):
    """A user's memberships, oldest first."""
    return [row.as_dict() for row in services(request).plans.memberships(email)]


@router.post("/admin/memberships", response_model=MembershipOut, status_code=201)
def start_membership(body: MembershipIn, request: Request, _: Principal = Depends(operator)):
    """A user becomes a member of a plan (from starts_at, until ends_at); their quota follows."""
    return services(request).plans.start(body.email, body.plan, body.starts_at, body.ends_at).as_dict()


@router.post("/admin/memberships/end", response_model=list[MembershipOut])
def end_membership(body: MembershipEnd, request: Request, _: Principal = Depends(operator)):
    """End a user's membership of a plan (at at, default now); nothing they store is deleted for it."""
    return [row.as_dict() for row in services(request).plans.end(body.email, body.plan, body.at)]


def _record(kind: str, body: EntryIn, request: Request) -> JSONResponse:
    entry, created = services(request).ledger.record(kind, body.email, body.amount, body.currency, body.plan,
                                                     body.reference, body.at, body.note)
    return JSONResponse(EntryOut(**entry.as_dict()).model_dump(mode="json"), status_code=201 if created else 200)


@router.post("/admin/payments", response_model=EntryOut, status_code=201,
             responses={200: {"model": EntryOut, "description": "Recorded before with this reference"}})
def record_payment(body: EntryIn, request: Request, _: Principal = Depends(operator)):
    """Record a payment the billing system took. The same reference again returns the first entry (200)."""
    return _record("payment", body, request)


@router.post("/admin/refunds", response_model=EntryOut, status_code=201,
             responses={200: {"model": EntryOut, "description": "Recorded before with this reference"}})
def record_refund(body: EntryIn, request: Request, _: Principal = Depends(operator)):
    """Record a refund, an entry of its own (the payment it refunds stays)."""
    return _record("refund", body, request)


@router.get("/admin/ledger", response_model=list[EntryOut])
def ledger(request: Request, email: str | None = Query(default=None, max_length=320),
           since: Moment | None = None, until: Moment | None = None,
           limit: int = Query(default=1000, ge=1, le=10000), _: Principal = Depends(operator)):
    """Payments and refunds in time order (for a whole period, the CSV export streams without a limit)."""
    entries = services(request).ledger.entries(email, since, until)
    return [entry.as_dict() for _, entry in zip(range(limit), entries)]


@router.get("/admin/ledger.csv", response_class=StreamingResponse,
            responses={200: {"content": {"text/csv": {}}, "description": "One row per entry, a header first"}})
def ledger_csv(request: Request, since: Moment | None = None, until: Moment | None = None,
               _: Principal = Depends(operator)):
    """The ledger as CSV for accounting: time, email, plan, kind, amount, currency, reference, note, id."""
    lines = csv_lines(services(request).ledger.entries(None, since, until))
    return StreamingResponse(lines, media_type="text/csv; charset=utf-8",
                             headers={"Content-Disposition": 'attachment; filename="ledger.csv"'})
