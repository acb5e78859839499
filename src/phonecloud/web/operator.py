"""The operator's pages of the admin console (administrators only): plans, a user's memberships, the payments
ledger (and its CSV), region groups and what each disables, and the email deliveries of a notice."""

from __future__ import annotations

import re
from collections.abc import Callable
from decimal import Decimal, InvalidOperation
from urllib.parse import quote

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import StreamingResponse

from phonecloud.accounts.service import Principal
from phonecloud.core.dates import parse_moment
from phonecloud.core.db import utcnow
from phonecloud.core.errors import BadRequest, NotFound
from phonecloud.core.http import ROW_ID_MAX, services
from phonecloud.core.sizes import format_size
from phonecloud.notices.service import state_of
from phonecloud.plans.ledger import KINDS as ENTRY_KINDS
from phonecloud.plans.ledger import csv_lines
from phonecloud.plans.service import PERIODS
from phonecloud.web.admin import _size, admin, audience_text
from phonecloud.web.pages import SECURITY_HEADERS, WebRoute, act, render

router = APIRouter(route_class=WebRoute, include_in_schema=False)
LEDGER_ROWS = 200  # the latest entries the page shows; the CSV has them all


def _form(action: Callable[[], str]) -> Callable[[], str]:
    """A console form's action: a name that names nothing (a user, a plan, a group) is the form's mistake,
    shown as its message, not a page of its own."""

    def run() -> str:
        try:
            return action()
        except NotFound as missing:
            raise BadRequest(missing.message) from None

    return run


def _moment(text: str, name: str):
    return parse_moment(text, name) if text.strip() else None  # datetime-local has no offset: UTC


def price_text(plan) -> str:
    """"4.99 EUR/month", "free"."""
    try:
        free = plan.price is None or Decimal(plan.price) == 0
    except InvalidOperation:
        free = False
    if free:
        return "free"
    per = {"month": "/month", "year": "/year", "once": " once"}.get(plan.period, "")
    return f"{plan.price} {plan.currency}{per}"


# -- plans -------------------------------------------------------------------------------------------------

@router.get("/admin/plans")
def plans_page(request: Request, me: Principal = Depends(admin)):
    running = services(request)
    return render(request, "admin_plans.html", me, page="admin", plans=running.plans.plans(),
                  kinds=list(running.kinds.values()), periods=PERIODS, price_text=price_text)


@router.post("/admin/plans")
def add_plan(request: Request, name: str = Form(max_length=100), quota: str = Form(max_length=40),
             price: str = Form(default="0", max_length=32), currency: str = Form(default="", max_length=3),
             period: str = Form(default="month", max_length=16), kinds: list[str] = Form(default=[], max_length=64),
             me: Principal = Depends(admin)):
    def add() -> str:
        plan = services(request).plans.add(name, _size(quota), price.strip() or "0", currency.strip() or None,
                                           period, [kind for kind in kinds if kind] or None)
        return f"Added the plan {plan.name}: {format_size(plan.quota_bytes)}, {price_text(plan)}."

    return act(request, "/admin/plans", _form(add))


@router.post("/admin/plans/change")
def change_plan(request: Request, name: str = Form(max_length=100), quota: str = Form(max_length=40),
                price: str = Form(default="", max_length=32), currency: str = Form(default="", max_length=3),
                me: Principal = Depends(admin)):
    def change() -> str:
        plan = services(request).plans.change(name, _size(quota), price.strip() or None, currency.strip() or None)
        return (f"{plan.name} now gives {format_size(plan.quota_bytes)} for {price_text(plan)}; its "
                f"{plan.members} member{'' if plan.members == 1 else 's'} have it at once.")

    return act(request, "/admin/plans", _form(change))


@router.post("/admin/plans/retire")
def retire_plan(request: Request, name: str = Form(max_length=100), me: Principal = Depends(admin)):
    def retire() -> str:
        plan = services(request).plans.retire(name)
        return f"{plan.name} is retired: it takes no new members; its members keep it until their membership ends."

    return act(request, "/admin/plans", _form(retire))


# -- memberships ---------------------------------------------------------------------------------------------

def _memberships_of(email: str) -> str:
    return f"/admin/memberships?email={quote(email.strip())}"


@router.get("/admin/memberships")
def memberships_page(request: Request, email: str = Query(default="", max_length=320),
                     me: Principal = Depends(admin)):
    running = services(request)
    email = email.strip()
    user = memberships = entitlement = override = missing = None
    if email:
        try:
            user = running.accounts.list_users(email=email)[0]
            memberships = running.plans.memberships(email)
            entitlement = running.plans.describe(user.id)
            override = running.accounts.user_by_email(email).quota_override_bytes
        except NotFound as error:
            user, missing = None, error.message
    open_plans = [plan for plan in running.plans.plans() if not plan.retired and not plan.is_default]
    return render(request, "admin_memberships.html", me, page="admin", email=email, user=user,
                  memberships=memberships, entitlement=entitlement, override=override, missing=missing,
                  open_plans=open_plans, kind_titles={name: kind.title for name, kind in running.kinds.items()})


@router.post("/admin/memberships")
def start_membership(request: Request, email: str = Form(max_length=320), plan: str = Form(max_length=100),
                     starts: str = Form(default="", max_length=40), ends: str = Form(default="", max_length=40),
                     me: Principal = Depends(admin)):
    def start() -> str:
        row = services(request).plans.start(email, plan, _moment(starts, "start"), _moment(ends, "end"))
        when = "now" if row.state == "active" else f"from {row.starts_at:%-d %b %Y %H:%M} UTC"
        return f"{email.strip()} is a member of {row.plan} {when}" + (
            f" until {row.ends_at:%-d %b %Y %H:%M} UTC." if row.ends_at else ".")

    return act(request, _memberships_of(email), _form(start))


@router.post("/admin/memberships/end")
def end_membership(request: Request, email: str = Form(max_length=320), plan: str = Form(max_length=100),
                   me: Principal = Depends(admin)):
    def end() -> str:
        services(request).plans.end(email, plan)
        return f"{email.strip()}'s membership of {plan} ended now."

    return act(request, _memberships_of(email), _form(end))


@router.post("/admin/memberships/follow-plans")
def follow_plans(request: Request, email: str = Form(max_length=320), me: Principal = Depends(admin)):
    def follow() -> str:
        services(request).plans.clear_override(email)
        return f"{email.strip()}'s quota follows their plans again."

    return act(request, _memberships_of(email), _form(follow))


# -- payments ------------------------------------------------------------------------------------------------

@router.get("/admin/payments")
def payments_page(request: Request, me: Principal = Depends(admin)):
    running = services(request)
    latest = running.ledger.latest(LEDGER_ROWS)
    return render(request, "admin_payments.html", me, page="admin", entries=latest, limit=LEDGER_ROWS,
                  plans=running.plans.plans(), entry_kinds=ENTRY_KINDS)


@router.post("/admin/payments")
def record_entry(request: Request, email: str = Form(max_length=320), amount: str = Form(max_length=32),
                 currency: str = Form(max_length=3), plan: str = Form(max_length=100),
                 reference: str = Form(max_length=200), kind: str = Form(default="payment", max_length=16),
                 me: Principal = Depends(admin)):
    def record() -> str:
        entry, created = services(request).ledger.record(kind, email, amount, currency, plan, reference)
        if not created:
            return f"This {entry.kind} (reference {entry.reference}) was recorded already, on {entry.time:%-d %b %Y}."
        return f"Recorded a {entry.kind} of {entry.amount} {entry.currency} for {entry.email} ({entry.plan})."

    return act(request, "/admin/payments", _form(record))


@router.get("/admin/payments/ledger.csv")
def ledger_csv(request: Request, me: Principal = Depends(admin)):
    """Every entry, in time order, for accounting (the API's /admin/ledger.csv, with the session)."""
    name = f"phonecloud-ledger-{utcnow():%Y-%m-%d}.csv"
    headers = {**SECURITY_HEADERS, "Cache-Control": "private, no-store",
               "Content-Disposition": f'attachment; filename="{name}"'}
    return StreamingResponse(csv_lines(services(request).ledger.entries()), media_type="text/csv; charset=utf-8",
                             headers=headers)


# -- region groups -------------------------------------------------------------------------------------------

@router.get("/admin/regions")
def regions_page(request: Request, me: Principal = Depends(admin)):
    running = services(request)
    return render(request, "admin_regions.html", me, page="admin", groups=running.regions.groups(),
                  kinds=list(running.kinds.values()))


@router.post("/admin/regions")
def add_group(request: Request, name: str = Form(max_length=100), countries: str = Form(max_length=2000),
              me: Principal = Depends(admin)):
    def add() -> str:
        group = services(request).regions.add_group(name, [code for code in re.split(r"[\s,;]+", countries) if code])
        return f"Region group {group.name}: {', '.join(group.countries)}."

    return act(request, "/admin/regions", _form(add))


@router.post("/admin/regions/kind")
def set_kind(request: Request, name: str = Form(max_length=100), kind: str = Form(max_length=64),
             action: str = Form(max_length=10), me: Principal = Depends(admin)):
    def toggle() -> str:
        if action not in ("enable", "disable"):
            raise BadRequest(f"unknown action {action!r}")
        running = services(request)
        group = running.regions.set_kind(name, kind, action == "enable")
        title = running.kinds[kind].title
        if action == "enable":
            return f"{title} can be added again in {group.name}."
        return f"{title} can no longer be added in {group.name}; what its users stored stays theirs."

    return act(request, "/admin/regions", _form(toggle))


# -- a notice's emails ---------------------------------------------------------------------------------------

@router.get("/admin/notices/deliveries")
def deliveries_page(request: Request, notice_id: int = Query(alias="id", ge=1, le=ROW_ID_MAX),
                    email: str = Query(default="", max_length=320), me: Principal = Depends(admin)):
    running = services(request)
    notice = running.notices.notice(notice_id)
    deliveries = running.notice_mail.deliveries(notice_id, email.strip() or None)
    states: dict[str, int] = {}
    for delivery in deliveries:
        states[delivery.state] = states.get(delivery.state, 0) + 1
    return render(request, "admin_deliveries.html", me, page="admin", notice=notice, deliveries=deliveries,
                  email=email.strip(), states=states, notice_state=state_of(notice, utcnow()),
                  audience=audience_text)
