"""The account page: storage, devices and their API keys, password."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Depends, Form, Request

from phonecloud.accounts.deletion import receipt_json
from phonecloud.accounts.routes import request_address
from phonecloud.accounts.service import Principal
from phonecloud.core.http import ROW_ID_MAX, services
from phonecloud.core.errors import PhonecloudError
from phonecloud.web import client_download
from phonecloud.web.pages import WebRoute, act, redirect, render, signed_in
from phonecloud.web.session import clear_session

router = APIRouter(route_class=WebRoute, include_in_schema=False)


def account_page(request: Request, me: Principal, **extra):
    running = services(request)
    accounts = running.accounts
    summary = accounts.summary(me)
    percent = int(summary.used_bytes * 100 / summary.quota_bytes) if summary.quota_bytes else 100
    server_url = str(request.base_url).rstrip("/")
    closed = {kind: why for kind, why in running.gate.refusals(me, running.kinds).items() if why}
    page = render(request, "account.html", me, page="account", summary=summary, percent=min(percent, 100),
                  kinds=list(running.kinds.values()), profile=accounts.user_by_email(me.email),
                  plans=running.plans.describe(me.user_id).plans, closed=closed,
                  devices=accounts.list_devices(me.user_id), server_url=server_url,
                  client=client_download.offer(server_url),
                  receipts=running.retirements.receipts(me.user_id), **extra)
    if extra.get("issued"):
        page.headers["Cache-Control"] = "no-store"  # the new key is in this page: keep it out of caches
    return page


@router.get("/account")
def account(request: Request, me: Principal = Depends(signed_in)):
    return account_page(request, me)


@router.post("/account/devices")
def create_key(request: Request, name: str = Form(max_length=200), me: Principal = Depends(signed_in)):
    """A new device with its API key, shown once on the page this answers with (never stored in clear)."""
    issued = services(request).accounts.create_api_key(me.user_id, name)
    return account_page(request, me, issued=issued)


@router.post("/account/devices/revoke")
def revoke_key(request: Request, device_id: int = Form(ge=1, le=ROW_ID_MAX), me: Principal = Depends(signed_in)):
    def revoke() -> str:
        services(request).accounts.revoke_device(me.user_id, device_id)
        return "The key was revoked; that device can no longer upload."

    return act(request, "/account", revoke)


@router.post("/account/profile")
def change_profile(request: Request, display_name: str = Form(default="", max_length=200),
                   locale: str = Form(default="en", max_length=16), notice_emails: bool = Form(default=False),
                   me: Principal = Depends(signed_in)):
    def change() -> str:
        services(request).accounts.set_profile(me.email, locale, display_name, notice_emails)
        return "Saved." + ("" if notice_emails else " Only notices we are required to send will be emailed to you.")

    return act(request, "/account", change)


@router.post("/account/password")
def change_password(request: Request, current_password: str = Form(max_length=1024),
                    new_password: str = Form(max_length=1024), me: Principal = Depends(signed_in)):
    def change() -> str:
        services(request).accounts.change_password(me, current_password, new_password, request_address(request))
        return "Password changed. Your other browser sessions were signed out."

    return act(request, "/account", change)


@router.post("/account/delete")
def delete_account(request: Request, password: str = Form(max_length=1024), understood: bool = Form(default=False),
                   me: Principal = Depends(signed_in)):
    """Start deleting the account (sign-ins stop at once), then show its receipt as it fills in."""
    if not understood:
        return redirect(request, "/account", error="Tick the box to confirm that everything is to be deleted.")
    try:
        deletion = services(request).deletions.delete_own(me, password)
    except PhonecloudError as error:
        return redirect(request, "/account", error=error.message)
    response = redirect(request, f"/deletions/{deletion.id}")
    clear_session(response)
    return response


@router.get("/deletions/{deletion_id}")
def deletion_page(request: Request, deletion_id: uuid.UUID):
    """An account deletion's progress and receipt, for whoever has its address (the account is gone)."""
    deletion = services(request).deletions.receipt(deletion_id)
    kinds = {name: kind.title for name, kind in services(request).kinds.items()}
    return render(request, "deletion.html", None, page="deletion", receipt=receipt_json(deletion), titles=kinds)
