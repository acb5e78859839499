"""HTTP routes for sign-in, the caller's account, and their devices and API keys."""

from __future__ import annotations

import datetime as dt

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, Field

from phonecloud.accounts.service import AccountSummary, Principal
from phonecloud.core.http import current_principal, services

router = APIRouter(tags=["accounts"])


class LoginRequest(BaseModel):
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


class DeviceOut(BaseModel):
    id: int
    name: str
    created_at: dt.datetime
    key_prefix: str
    last_used_at: dt.datetime | None
    revoked: bool


@router.post("/auth/login", response_model=LoginResponse)
def login(body: LoginRequest, request: Request):
    token, expires = services(request).accounts.login(body.email, body.password)
    return LoginResponse(token=token, expires_at=expires)


@router.post("/auth/logout", status_code=204)
def logout(request: Request, principal: Principal = Depends(current_principal)):
    services(request).accounts.logout(principal)


@router.get("/me", response_model=AccountSummary)
def me(request: Request, principal: Principal = Depends(current_principal)):
    return services(request).accounts.summary(principal)


@router.get("/devices", response_model=list[DeviceOut])
def list_devices(request: Request, principal: Principal = Depends(current_principal)):
    return services(request).accounts.list_devices(principal.user_id)


@router.post("/devices", response_model=NewKey, status_code=201)
def create_device_key(body: NewKeyRequest, request: Request, principal: Principal = Depends(current_principal)):
    issued = services(request).accounts.create_api_key(principal.user_id, body.name)
    return NewKey(key=issued.key, device_id=issued.device_id, device_name=issued.device_name)


@router.delete("/devices/{device_id}", status_code=204)
def revoke_device(device_id: int, request: Request, principal: Principal = Depends(current_principal)):
    services(request).accounts.revoke_device(principal.user_id, device_id)
