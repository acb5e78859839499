"""HTTP routes of sharing: the caller's links, the members of their albums, and albums shared with them.
What a link shows is served at /s/{token} (gallery/web/public.py), to anyone who has it."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import JSONResponse

from phonecloud.accounts.http import current_principal
from phonecloud.accounts.service import Principal
from phonecloud.core.limits import ApiRoute
from phonecloud.gallery.context import gallery_of
from phonecloud.gallery.sharing.schemas import (
    MemberIn, MemberOut, MemberRef, ShareCreated, ShareIn, ShareOut, SharedAlbumOut,
)

router = APIRouter(tags=["sharing"], route_class=ApiRoute)


def link_url(request: Request, token: str) -> str:
    """Where the link opens: this server as the request reached it."""
    return f"{str(request.base_url).rstrip('/')}/s/{token}"


@router.post("/shares", response_model=ShareCreated, status_code=201)
def create_share(body: ShareIn, request: Request, principal: Principal = Depends(current_principal)):
    """A link to one of the caller's albums (live) or to a selection of their items, which anyone who has it
    may open without an account (at `url`: thumbnails, a viewer, originals and a zip of all), optionally with
    a password and an expiry. The link is given this once."""
    issued = gallery_of(request).links.create(principal, album_id=body.album_id, asset_ids=body.asset_ids,
                                              title=body.title, password=body.password, expires_at=body.expires_at)
    return ShareCreated(**ShareOut.of(issued.info).model_dump(), url=link_url(request, issued.token))


@router.get("/shares", response_model=list[ShareOut])
def list_shares(request: Request, principal: Principal = Depends(current_principal)):
    """The caller's links, newest first, expired ones included (until revoked)."""
    return [ShareOut.of(info) for info in gallery_of(request).links.list_links(principal)]


@router.delete("/shares/{share_id}", status_code=204)
def revoke_share(share_id: uuid.UUID, request: Request, principal: Principal = Depends(current_principal)):
    """Revoke a link: it stops working at once, for everyone."""
    gallery_of(request).links.revoke(principal, share_id)
    return Response(status_code=204)


@router.get("/albums/{album_id}/members", response_model=list[MemberOut])
def list_members(album_id: uuid.UUID, request: Request, principal: Principal = Depends(current_principal)):
    """The users one of the caller's albums is shared with."""
    return [MemberOut.of(member) for member in gallery_of(request).members.members(principal, album_id)]


@router.put("/albums/{album_id}/members", response_model=MemberOut,
            responses={200: {"model": MemberOut, "description": "Already a member: the role as given now"},
                       201: {"model": MemberOut, "description": "Shared with this user now"}})
def share_album(album_id: uuid.UUID, body: MemberIn, request: Request,
                principal: Principal = Depends(current_principal)):
    """Share one of the caller's albums with another user of this server, by email: a viewer sees it, a
    contributor may also add their own items to it. Neither may change or delete the caller's items."""
    member, created = gallery_of(request).members.share(principal, album_id, body.email, body.role)
    return JSONResponse(MemberOut.of(member).model_dump(mode="json"), status_code=201 if created else 200)


@router.delete("/albums/{album_id}/members", status_code=204)
def unshare_album(album_id: uuid.UUID, body: MemberRef, request: Request,
                  principal: Principal = Depends(current_principal)):
    """Stop sharing one of the caller's albums with this user; the items they added leave it."""
    gallery_of(request).members.unshare(principal, album_id, body.email)
    return Response(status_code=204)


@router.get("/shared-albums", response_model=list[SharedAlbumOut])
def shared_albums(request: Request, principal: Principal = Depends(current_principal)):
    """The albums other users share with the caller (their items: GET /albums/{id}/assets)."""
    return [SharedAlbumOut.of(shared) for shared in gallery_of(request).members.shared_with(principal)]


@router.delete("/shared-albums/{album_id}", status_code=204)
def leave_album(album_id: uuid.UUID, request: Request, principal: Principal = Depends(current_principal)):
    """Leave an album shared with the caller; the items they added leave it."""
    gallery_of(request).members.leave(principal, album_id)
    return Response(status_code=204)
