"""The admin console's pages of feature retirements (administrators only): the plans, a form to plan one, and
each plan with its preview (users and bytes each step affects), its postponement and cancellation, its audit
log and, once done, its report."""

from __future__ import annotations

import datetime as dt
import json

from fastapi import APIRouter, Depends, Form, Query, Request

from phonecloud.accounts.service import Principal
from phonecloud.core.dates import parse_moment
from phonecloud.core.errors import BadRequest, PhonecloudError
from phonecloud.core.http import ROW_ID_MAX, services
from phonecloud.retirement.service import DATES, LIVE, REFUNDS, plan_dict
from phonecloud.web.admin import admin
from phonecloud.web.operator import _form
from phonecloud.web.pages import WebRoute, act, redirect, render

router = APIRouter(route_class=WebRoute, include_in_schema=False)
LIST = "/admin/retirements"
LABELS = {"announce_at": "Announce", "stop_sync_at": "Stop sync", "deadline_at": "Download deadline",
          "delete_at": "Delete"}
STEP_LABELS = {"announce": "Announce", "stop-sync": "Stop sync", "deadline": "Download deadline",
               "delete": "Delete"}


def _show(plan_id: int) -> str:
    return f"{LIST}/show?id={plan_id}"


def local_value(moment: dt.datetime) -> str:
    """A UTC time as a datetime-local input's value (to the second)."""
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S")


def _required(text: str, name: str) -> dt.datetime:
    if not text.strip():
        raise BadRequest(f"give the {name} date")
    return parse_moment(text, name)


def _names(values: list[str]) -> list[str]:
    return [value for value in (value.strip() for value in values) if value]


def compact(detail: dict) -> str:
    return json.dumps(detail, separators=(",", ":"), ensure_ascii=False, default=str)


@router.get("/admin/retirements")
def retirements_page(request: Request, me: Principal = Depends(admin)):
    running = services(request)
    return render(request, "admin_retirements.html", me, page="admin", plans=running.retirements.plans(),
                  groups=running.regions.groups(), kinds=list(running.kinds.values()), refunds=REFUNDS,
                  titles={name: kind.title for name, kind in running.kinds.items()})


@router.post("/admin/retirements")
def plan_retirement(request: Request, kind: str = Form(max_length=64),
                    groups: list[str] = Form(default=[], max_length=100),
                    exempt: list[str] = Form(default=[], max_length=100),
                    announce_at: str = Form(default="", max_length=40),
                    stop_sync_at: str = Form(default="", max_length=40),
                    deadline_at: str = Form(default="", max_length=40),
                    delete_at: str = Form(default="", max_length=40), refund: str = Form(default="none", max_length=16),
                    message: str = Form(default="", max_length=2000), me: Principal = Depends(admin)):
    running = services(request)
    try:
        plan = _form(lambda: running.retirements.plan(
            me.email, kind, _names(groups), _required(announce_at, "announce"), _required(stop_sync_at, "stop sync"),
            _required(deadline_at, "deadline"), _required(delete_at, "delete"), refund, message,
            _names(exempt)))()
    except PhonecloudError as error:
        return redirect(request, LIST, error=error.message)
    title = running.kinds[plan.kind].title if plan.kind in running.kinds else plan.kind
    return redirect(request, _show(plan.id), ok=f"Planned retirement {plan.id} of {title}. Check its preview below.")


@router.get("/admin/retirements/show")
def retirement_page(request: Request, plan_id: int = Query(alias="id", ge=1, le=ROW_ID_MAX),
                    me: Principal = Depends(admin)):
    retirements = services(request).retirements
    plan = retirements.get(plan_id)
    running = services(request)
    return render(request, "admin_retirement.html", me, page="admin", plan=plan, info=plan_dict(plan),
                  preview=retirements.preview(plan_id), events=retirements.events(plan_id), live=plan.state in LIVE,
                  dates=[(name, LABELS[name], getattr(plan, name)) for name in DATES], step_labels=STEP_LABELS,
                  title=running.kinds[plan.kind].title if plan.kind in running.kinds else plan.kind,
                  local_value=local_value, compact=compact)


@router.post("/admin/retirements/postpone")
def postpone_retirement(request: Request, plan_id: int = Form(alias="id", ge=1, le=ROW_ID_MAX),
                        announce_at: str = Form(default="", max_length=40),
                        stop_sync_at: str = Form(default="", max_length=40),
                        deadline_at: str = Form(default="", max_length=40),
                        delete_at: str = Form(default="", max_length=40), me: Principal = Depends(admin)):
    given = {"announce_at": announce_at, "stop_sync_at": stop_sync_at, "deadline_at": deadline_at,
             "delete_at": delete_at}

    def postpone() -> str:
        retirements = services(request).retirements
        plan = retirements.get(plan_id)
        moves = {}
        for name in DATES:  # the form shows every date: only those changed move
            if not given[name].strip():
                continue
            moved = parse_moment(given[name], LABELS[name].lower())
            current = getattr(plan, name)
            if moved.replace(microsecond=0) != current.replace(microsecond=0):
                moves[name] = moved
        if not moves:
            raise BadRequest("no date changed")
        retirements.postpone(me.email, plan_id, **moves)
        return "Postponed: " + ", ".join(f"{LABELS[name].lower()} {moved:%-d %b %Y %H:%M} UTC"
                                         for name, moved in moves.items()) + "."

    return act(request, _show(plan_id), postpone)


@router.post("/admin/retirements/cancel")
def cancel_retirement(request: Request, plan_id: int = Form(alias="id", ge=1, le=ROW_ID_MAX),
                      me: Principal = Depends(admin)):
    def cancel() -> str:
        services(request).retirements.cancel(me.email, plan_id)
        return f"Retirement {plan_id} is cancelled: sync works again and its notices are withdrawn."

    return act(request, _show(plan_id), cancel)

