"""HTTP routes for sign-in, the caller's account, and their devices and API keys."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import ClassVar

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, ConfigDict, Field

from phonecloud.accounts.http import current_principal
from phonecloud.accounts.addresses import client_address
from phonecloud.accounts.deletion import receipt_json
from phonecloud.accounts.service import Principal, SessionInfo
from phonecloud.accounts.throttle import LoginThrottled
from phonecloud.core.errors import BadRequest
from phonecloud.core.http import RowId, error_response, services
from phonecloud.core.limits import ApiRoute
from phonecloud.notices.routes import NoticeOut, for_user as notices_for

router = APIRouter(tags=["accounts"], route_class=ApiRoute)


class LoginRequest(BaseModel):
    max_body_bytes: ClassVar[int] = 8 << 10  # 1,344 characters even if every one were a \uXXXX escape
    email: str = Field(max_length=320)
    password: str = Field(max_length=1024)


class LoginResponse(BaseModel):
    token: str
    expires_at: dt.datetime


class NewKeyRequest(BaseModel):
    name: str = Field(min_length=1, max_length=200, description="The device's name, e.g. 'Pixel 7'")


class NewKey(BaseModel):
    key: str = Field(description="Shown once; only a hash is kept")
    device_id: int
    device_name: str


class SessionOut(BaseModel):
    id: int
    created_at: dt.datetime
    expires_at: dt.datetime
    current: bool = Field(description="Whether this request was made with this session")


class RevokedCount(BaseModel):
    revoked: int


class DeviceOut(BaseModel):
    id: int
    name: str
    created_at: dt.datetime
    key_prefix: str
    last_used_at: dt.datetime | None
    revoked: bool


def request_address(request: Request) -> str:
    """The client's address for sign-in throttling (see accounts.addresses: proxies are trusted only as set)."""
    return client_address(request.client.host if request.client else None,
                          request.headers.getlist("x-forwarded-for"), services(request).settings.trusted_proxies)


@router.post("/auth/login", response_model=LoginResponse,
             responses={429: {"description": "Too many failed sign-ins for this email or address; see Retry-After"}})
def login(body: LoginRequest, request: Request):
    try:
        token, expires = services(request).accounts.login(body.email, body.password, request_address(request))
    except LoginThrottled as refused:
        return error_response(refused, {"Retry-After": str(refused.details["retry_after"])})
    return LoginResponse(token=token, expires_at=expires)


@router.post("/auth/logout", status_code=204)
def logout(request: Request, principal: Principal = Depends(current_principal)):
    services(request).accounts.logout(principal)


@router.get("/auth/sessions", response_model=list[SessionOut])
def list_sessions(request: Request, principal: Principal = Depends(current_principal)) -> list[SessionInfo]:
    return services(request).accounts.list_sessions(principal)


@router.delete("/auth/sessions", response_model=RevokedCount)
def revoke_all_sessions(request: Request, principal: Principal = Depends(current_principal),
                        keep_current: bool = Query(False, description="Keep the session this request was made with")):
    return RevokedCount(revoked=services(request).accounts.revoke_all_sessions(principal, keep_current))


@router.delete("/auth/sessions/{session_id}", status_code=204)
def revoke_session(session_id: RowId, request: Request, principal: Principal = Depends(current_principal)):
    services(request).accounts.revoke_session(principal, session_id)


class UsageOut(BaseModel):
    items: int
    bytes: int


class AccountOut(BaseModel):
    model_config = ConfigDict(extra="allow")  # data kinds add fields for older clients (the gallery's asset_count)
    email: str
    is_admin: bool
    region: str
    used_bytes: int
    quota_bytes: int
    usage: dict[str, UsageOut] = Field(description="What the account keeps of each kind of data")


class UserOut(AccountOut):
    id: int
    disabled: bool
    created_at: dt.datetime


class MeOut(AccountOut):
    locale: str
    display_name: str
    notice_emails: bool = Field(description="false: unsubscribed from notice emails (legally required ones still come)")
    plans: list[str] = Field(description="The plans the account's quota and kinds come from now")
    intake: dict[str, str | None] = Field(description="By kind of data: null when the account may add it now, else "
                                          "why not (its plan, its region)")
    notices: list[NoticeOut] = Field(description="The operator's notices in force for the account, newest first "
                                     "(as GET /notices: a client shows them with one round trip)")


def _me(request: Request, principal: Principal) -> dict:
    running = services(request)
    summary = running.accounts.summary(principal).as_dict()
    user = running.accounts.user_by_email(principal.email)
    intake = running.gate.refusals(principal, running.kinds)
    return {**summary, "locale": user.locale, "display_name": user.display_name, "notice_emails": user.notice_emails,
            "plans": list(running.plans.describe(principal.user_id).plans), "intake": intake,
            "notices": notices_for(request, principal.user_id)}


@router.get("/me", response_model=MeOut)
def me(request: Request, principal: Principal = Depends(current_principal)):
    """The account: its usage and quota, its plans, and which kinds of data it may add now."""
    return _me(request, principal)


@router.patch("/me", response_model=MeOut)
def change_profile(body: ProfileChange, request: Request, principal: Principal = Depends(current_principal)):
    """The account's language, name and whether it wants notice emails."""
    services(request).accounts.set_profile(principal.email, body.locale, body.display_name, body.notice_emails)
    return _me(request, principal)


class DeletionRequest(BaseModel):
    password: str = Field(max_length=1024, description="The account's password, typed again")


class DeletionOut(BaseModel):
    id: uuid.UUID
    state: str = Field(description="running, then done")
    email_sha256: str
    requested_by: str = Field(description="self or admin")
    started_at: dt.datetime
    finished_at: dt.datetime | None
    removed: dict[str, dict[str, int]] = Field(description="By kind of data: items, rows, blobs and bytes removed")
    final_scan: dict | None = Field(description="Once done: what is left under the account's prefix and in the "
                                                "database (clean: nothing)")
    receipt_url: str = Field(description="Where the receipt stays readable, without credentials")


def _deletion_out(request: Request, deletion) -> dict:
    return {**receipt_json(deletion), "receipt_url": str(request.url_for("deletion_receipt", deletion_id=deletion.id))}


@router.delete("/me", response_model=DeletionOut, status_code=202,
               responses={202: {"description": "Deleting: sign-ins and keys stopped at once; the receipt follows"},
                          400: {"description": "Wrong password"}})
def delete_me(body: DeletionRequest, request: Request, principal: Principal = Depends(current_principal)):
    """Delete the caller's account and everything it holds (every kind of data, uploads, exports). Sessions
    and keys stop working at once; the rest is removed in the background, ending with a receipt at
    receipt_url. Download everything first: nothing can be recovered."""
    return _deletion_out(request, services(request).deletions.delete_own(principal, body.password))


@router.get("/deletions/{deletion_id}", response_model=DeletionOut, name="deletion_receipt")
def deletion_receipt(deletion_id: uuid.UUID, request: Request):
    """An account deletion's progress and receipt, readable by whoever has its address (it names nobody:
    the email only as its SHA-256)."""
    return _deletion_out(request, services(request).deletions.receipt(deletion_id))


@router.get("/devices", response_model=list[DeviceOut])
def list_devices(request: Request, principal: Principal = Depends(current_principal)):
    return services(request).accounts.list_devices(principal.user_id)


@router.post("/devices", response_model=NewKey, status_code=201)
def create_device_key(body: NewKeyRequest, request: Request, principal: Principal = Depends(current_principal)):
    issued = services(request).accounts.create_api_key(principal.user_id, body.name)
    return NewKey(key=issued.key, device_id=issued.device_id, device_name=issued.device_name)


@router.delete("/devices/{device_id}", status_code=204)
def revoke_device(device_id: RowId, request: Request, principal: Principal = Depends(current_principal)):
    services(request).accounts.revoke_device(principal.user_id, device_id)


MAX_BYTES = 2**63 - 1  # what the database's 64-bit columns hold


class PasswordChange(BaseModel):
    current_password: str = Field(max_length=1024)
    new_password: str = Field(max_length=1024)


@router.post("/me/password", status_code=204,
             responses={400: {"description": "Wrong current password or a new one too short"}, 429: {}})
def change_password(body: PasswordChange, request: Request, principal: Principal = Depends(current_principal)):
    """Change the caller's password; their other sessions end, devices keep their API keys."""
    try:
        services(request).accounts.change_password(principal, body.current_password, body.new_password,
                                                    request_address(request))
    except LoginThrottled as refused:
        return error_response(refused, {"Retry-After": str(refused.details["retry_after"])})


class NewUser(BaseModel):
    email: str = Field(max_length=320)
    password: str = Field(max_length=1024)
    quota_bytes: int | None = Field(default=None, ge=0, le=MAX_BYTES, description="Overrides what the user's "
                                    "plans give (default: the plans decide)")
    is_admin: bool = False
    region: str | None = Field(default=None, max_length=8, description="ISO 3166-1 alpha-2 (default: the "
                               "server's default region)")
    locale: str = Field(default="en", max_length=16, description="The language of the emails they get")
    display_name: str = Field(default="", max_length=200)


class UserChange(BaseModel):
    email: str = Field(max_length=320, description="Whose account (users are named by email, as in the CLI)")
    quota_bytes: int | None = Field(default=None, ge=0, le=MAX_BYTES, description="An override of the plans' quota")
    follow_plans: bool = Field(default=False, description="Clear the quota override: the plans decide again")
    disabled: bool | None = Field(default=None, description="A disabled user cannot sign in nor use their keys")
    region: str | None = Field(default=None, max_length=8, description="ISO 3166-1 alpha-2")


class ProfileChange(BaseModel):
    locale: str | None = Field(default=None, max_length=16)
    display_name: str | None = Field(default=None, max_length=200)
    notice_emails: bool | None = Field(default=None, description="false: no notice emails but legally required ones")


def _user_out(accounts, email: str) -> dict:
    return accounts.list_users(email=email)[0].as_dict(accounts.kinds)


@router.get("/admin/users", response_model=list[UserOut])
def list_users(request: Request, principal: Principal = Depends(current_principal)):
    """Every user with their usage by kind of data. Administrators only."""
    principal.require_admin()
    accounts = services(request).accounts
    return [row.as_dict(accounts.kinds) for row in accounts.list_users()]


@router.post("/admin/users", response_model=UserOut, status_code=201)
def create_user(body: NewUser, request: Request, principal: Principal = Depends(current_principal)):
    """Create a user. Administrators only."""
    principal.require_admin()
    accounts = services(request).accounts
    user = accounts.create_user(body.email, body.password, body.quota_bytes, body.is_admin, body.region, body.locale,
                                body.display_name)
    return _user_out(accounts, user.email)


@router.patch("/admin/users", response_model=UserOut)
def update_user(body: UserChange, request: Request, principal: Principal = Depends(current_principal)):
    """Set a user's quota, disable or enable them. Administrators only. (The user is named in the body:
    users are not objects that one user owns, so their ids stay out of paths.)"""
    running = services(request)
    accounts = running.accounts
    if body.follow_plans and body.quota_bytes is not None:
        raise BadRequest("give quota_bytes (an override) or follow_plans, not both")
    user = accounts.update_user(principal, body.email, body.quota_bytes, body.disabled, body.region)
    if body.follow_plans:
        running.plans.clear_override(user.email)
    return _user_out(accounts, user.email)


class UserDeletion(BaseModel):
    email: str = Field(max_length=320, description="Whose account (users are named by email, as in the CLI)")


@router.post("/admin/users/deletions", response_model=DeletionOut, status_code=202)
def delete_user(body: UserDeletion, request: Request, principal: Principal = Depends(current_principal)):
    """Delete a user's account and everything it holds, as the user could themselves. Administrators only."""
    return _deletion_out(request, services(request).deletions.delete_by_admin(principal, body.email))
