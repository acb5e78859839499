"""The admin console (administrators only): users, server totals, failed jobs, notices, job workers."""

from __future__ import annotations


from urllib.parse import quote

from fastapi import APIRouter, Depends, Form, Query, Request

from phonecloud.accounts.routes import MAX_BYTES
from phonecloud.accounts.service import Principal
from phonecloud.core.dates import parse_moment
from phonecloud.core.errors import BadRequest, NotFound, PhonecloudError
from phonecloud.core.http import ROW_ID_MAX, services
from phonecloud.core.sizes import format_size, parse_size
from phonecloud.notices.service import Audience
from phonecloud.web import views
from phonecloud.web.pages import WebRoute, act, redirect, render, signed_in

router = APIRouter(route_class=WebRoute, include_in_schema=False)
JOB_STATES = ("queued", "running", "done", "failed")


def admin(me: Principal = Depends(signed_in)) -> Principal:
    me.require_admin()
    return me


def _size(text: str) -> int:
    try:
        size = parse_size(text)
    except ValueError as error:
        raise BadRequest(str(error)) from None
    if size > MAX_BYTES:
        raise BadRequest(f"{text!r} is more than any disk holds")
    return size


def audience_text(notice) -> str:
    """Who a notice is for, in words: "everyone", "country DE, plan Plus"."""
    parts = [f"{label} {value}" for label, value in (("country", notice.region), ("region group", notice.group_name),
                                                     ("plan", notice.plan_name), ("holders of", notice.kind)) if value]
    return ", ".join(parts) or "everyone"


@router.get("/admin")
def console(request: Request, me: Principal = Depends(admin)):
    running = services(request)
    return render(request, "admin.html", me, page="admin", totals=running.accounts.totals(),
                  kinds=list(running.kinds.values()),
                  health=running.jobs.health(), failures=running.jobs.failures(limit=20),
                  users=running.accounts.list_users(), recent_notices=running.notices.recent(limit=20),
                  default_quota=format_size(running.settings.default_quota_bytes).replace(" ", ""),
                  groups=running.regions.groups(), plans=running.plans.plans(), audience=audience_text,
                  email_configured=bool(running.settings.smtp_url), default_region=running.accounts.default_region)


@router.post("/admin/users")
def create_user(request: Request, email: str = Form(max_length=320), password: str = Form(max_length=1024),
                quota: str = Form(default="", max_length=40), is_admin: bool = Form(default=False),
                region: str = Form(default="", max_length=8), me: Principal = Depends(admin)):
    def create() -> str:
        user = services(request).accounts.create_user(email, password, _size(quota) if quota.strip() else None,
                                                      is_admin, region.strip() or None)
        return f"Created {user.email} ({user.region}) with a quota of {format_size(user.quota_bytes)}."

    return act(request, "/admin", create)


@router.post("/admin/users/update")
def update_user(request: Request, email: str = Form(max_length=320), action: str = Form(max_length=20),
                quota: str = Form(default="", max_length=40), region: str = Form(default="", max_length=8),
                me: Principal = Depends(admin)):
    accounts = services(request).accounts

    def update() -> str:
        if action == "region":
            user = accounts.update_user(me, email, region=region)
            return f"{user.email} is now of the region {user.region}."
        if action == "quota":
            user = accounts.update_user(me, email, quota_bytes=_size(quota))
            return f"{user.email} now has a quota of {format_size(user.quota_bytes)}."
        if action in ("disable", "enable"):
            user = accounts.update_user(me, email, disabled=action == "disable")
            return f"{user.email} is {'disabled' if user.disabled else 'enabled again'}."
        raise BadRequest(f"unknown action {action!r}")

    return act(request, "/admin", update)


@router.get("/admin/users/delete")
def confirm_deletion(request: Request, email: str = Query(max_length=320), me: Principal = Depends(admin)):
    """What deleting this account removes, and a form to confirm it by typing the email."""
    accounts = services(request).accounts
    row = accounts.list_users(email=email)[0]
    return render(request, "admin_delete.html", me, page="admin", user=row,
                  kinds=list(services(request).kinds.values()))


@router.post("/admin/users/delete")
def delete_user(request: Request, email: str = Form(max_length=320), typed: str = Form(default="", max_length=320),
                me: Principal = Depends(admin)):
    """Delete an account and everything it holds; on to its receipt."""
    if typed.strip().lower() != email.strip().lower():
        return redirect(request, f"/admin/users/delete?email={quote(email)}",
                        error="Type the account's email exactly to confirm the deletion.")
    try:
        deletion = services(request).deletions.delete_by_admin(me, email)
    except PhonecloudError as error:
        return redirect(request, "/admin", error=error.message)
    return redirect(request, f"/deletions/{deletion.id}")


@router.post("/admin/notices")
def post_notice(request: Request, message: str = Form(max_length=2000), level: str = Form(default="info", max_length=16),
                region: str = Form(default="", max_length=64), until: str = Form(default="", max_length=40),
                group: str = Form(default="", max_length=100), plan: str = Form(default="", max_length=100),
                kind: str = Form(default="", max_length=64), email: bool = Form(default=False),
                required: bool = Form(default=False), me: Principal = Depends(admin)):
    def post() -> str:
        ends = parse_moment(until, "until") if until else None  # no offset: UTC
        audience = Audience(group=group.strip() or None, plan=plan.strip() or None, kind=kind.strip() or None)
        try:
            notice = services(request).notices.post(message, level, region or None, ends_at=ends, audience=audience,
                                                    email=email, required=required)
        except NotFound as missing:  # a group or plan gone since the page was shown: the form's mistake
            raise BadRequest(missing.message) from None
        shown = ("The notice is shown on every page." if audience_text(notice) == "everyone"
                 else f"The notice is shown to {audience_text(notice)}.")
        return shown + (" Its emails are being sent." if email else "")

    return act(request, "/admin", post)


@router.post("/admin/notices/withdraw")
def withdraw_notice(request: Request, notice_id: int = Form(alias="id", ge=1, le=ROW_ID_MAX),
                    me: Principal = Depends(admin)):
    def withdraw() -> str:
        services(request).notices.withdraw(notice_id)
        return "The notice was withdrawn."

    return act(request, "/admin", withdraw)


@router.get("/admin/jobs")
def job_workers(request: Request, me: Principal = Depends(admin)):
    running = services(request)
    jobs, heartbeats = running.jobs, running.heartbeats
    health, workers, counts = jobs.health(), heartbeats.workers(), jobs.counts()
    activity = {worker.worker: worker for worker in jobs.worker_activity()}  # their last hour, by host:pid
    kinds = [(kind, [counts.get((kind, state), 0) for state in JOB_STATES]) for kind in sorted({k for k, _ in counts})]
    return render(request, "admin_jobs.html", me, page="admin", health=health, workers=workers, activity=activity,
                  kinds=kinds, ago=views.waited, beat_seconds=heartbeats.interval.total_seconds(),
                  waiting=views.waited(health.oldest_ready_since), queue_state=views.queue_state(health, workers))
