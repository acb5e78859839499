"""HTTP routes of region groups (administrators only). A user's own region is set through /admin/users."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, Field

from phonecloud.core.http import services
from phonecloud.core.limits import ApiRoute
from phonecloud.plans.routes import operator
from phonecloud.accounts.service import Principal

router = APIRouter(tags=["regions"], route_class=ApiRoute)
_Name = Field(max_length=100, description="The group's name, as in the CLI")


class GroupOut(BaseModel):
    id: int
    name: str
    countries: list[str] = Field(description="ISO 3166-1 alpha-2 codes")
    disabled_kinds: list[str] = Field(description="Kinds of data its users may not add")
    users: int


class GroupIn(BaseModel):
    name: str = _Name
    countries: list[str] = Field(min_length=1, max_length=300, description="Added to the group if it exists")


class GroupCountries(BaseModel):
    name: str = _Name
    countries: list[str] = Field(min_length=1, max_length=300)


class GroupKind(BaseModel):
    name: str = _Name
    kind: str = Field(max_length=64)
    enabled: bool = Field(description="false: the group's users may not add data of this kind")


@router.get("/admin/region-groups", response_model=list[GroupOut])
def list_groups(request: Request, _: Principal = Depends(operator)):
    return [row.as_dict() for row in services(request).regions.groups()]


@router.post("/admin/region-groups", response_model=GroupOut)
def add_group(body: GroupIn, request: Request, _: Principal = Depends(operator)):
    """Create a group of countries, or add countries to it."""
    return services(request).regions.add_group(body.name, body.countries).as_dict()


@router.post("/admin/region-groups/remove-countries", response_model=GroupOut)
def remove_countries(body: GroupCountries, request: Request, _: Principal = Depends(operator)):
    return services(request).regions.remove_countries(body.name, body.countries).as_dict()


@router.delete("/admin/region-groups", status_code=204)
def delete_group(request: Request, name: str = Query(max_length=100), _: Principal = Depends(operator)):
    services(request).regions.delete_group(name)


@router.post("/admin/region-groups/kinds", response_model=GroupOut)
def set_kind(body: GroupKind, request: Request, _: Principal = Depends(operator)):
    """Enable or disable a kind of data for a group's users (what they hold stays theirs)."""
    return services(request).regions.set_kind(body.name, body.kind, body.enabled).as_dict()
