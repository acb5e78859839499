"""Sharing in the web app, the owner's side: the list of their links (/shared) with revoke, a link made for an
album or for a selection (shown once, with Copy), and an album shared with other users of the server."""

from __future__ import annotations

import datetime as dt
import uuid

from fastapi import APIRouter, Depends, Form, Request

from phonecloud.accounts.service import Principal
from phonecloud.core.db import utcnow
from phonecloud.core.errors import BadRequest, NotFound, PhonecloudError
from phonecloud.gallery.context import gallery_of
from phonecloud.gallery.models import Album
from phonecloud.gallery.sharing.models import CONTRIBUTOR, VIEWER
from phonecloud.gallery.sharing.routes import link_url
from phonecloud.gallery.sharing.service import MAX_PASSWORD_CHARS, MAX_TITLE_CHARS, IssuedLink
from phonecloud.web.pages import WebRoute, act, local_path, redirect, render, signed_in

router = APIRouter(route_class=WebRoute, include_in_schema=False)

# The expiries a link's form offers, in days ("": never).
EXPIRIES = (("", "Never"), ("1", "After a day"), ("7", "After a week"), ("30", "After 30 days"),
            ("365", "After a year"))
ROLES = ((VIEWER, "Can view"), (CONTRIBUTOR, "Can view and add"))


def album_sharing(request: Request, me: Principal, album: Album, role: str) -> dict:
    """What an album's page shows of its sharing: to its owner the people it is shared with and its links,
    to a member who shares it with them."""
    gallery = gallery_of(request)
    if role != "owner":
        return dict(owner=gallery.members.owner_name(album))
    return dict(members=gallery.members.members(me, album.id), roles=ROLES, expiries=EXPIRIES,
                links=[info for info in gallery.links.list_links(me) if info.share.album_id == album.id],
                max_password=MAX_PASSWORD_CHARS)


def _shared_page(request: Request, me: Principal, issued: IssuedLink | None = None):
    gallery = gallery_of(request)
    page = render(request, "shared.html", me, page="albums", links=gallery.links.list_links(me),
                  shared_albums=gallery.members.shared_by(me), issued=issued,
                  issued_url=link_url(request, issued.token) if issued else None)
    if issued is not None:
        page.headers["Cache-Control"] = "no-store"  # the new link is in this page: keep it out of caches
    return page


@router.get("/shared")
def shared_links(request: Request, me: Principal = Depends(signed_in)):
    return _shared_page(request, me)


@router.post("/shared/new")
def new_link(request: Request, me: Principal = Depends(signed_in), asset_id: list[uuid.UUID] = Form(default=[]),
             back: str = Form(default="/", max_length=2000)):
    """The selection bar's Share: the link's title, password and expiry, before it is made."""
    chosen = list(dict.fromkeys(asset_id))
    own = gallery_of(request).links.own_items(me, chosen)
    if not own:
        return redirect(request, local_path(back), error="Select some of your own photos or videos to share first.")
    return render(request, "share_new.html", me, page="albums", asset_ids=own, left_out=len(chosen) - len(own),
                  back=local_path(back), expiries=EXPIRIES, max_title=MAX_TITLE_CHARS, max_password=MAX_PASSWORD_CHARS)


def _expiry(days: str) -> dt.datetime | None:
    if not days:
        return None
    if days not in {value for value, _ in EXPIRIES}:
        raise BadRequest("choose when the link expires from the list")
    return utcnow() + dt.timedelta(days=int(days))


@router.post("/shared")
def create_link(request: Request, me: Principal = Depends(signed_in), album_id: uuid.UUID | None = Form(default=None),
                asset_id: list[uuid.UUID] = Form(default=[]), title: str = Form(default="", max_length=MAX_TITLE_CHARS),
                password: str = Form(default="", max_length=MAX_PASSWORD_CHARS),
                expires_in_days: str = Form(default="", max_length=4), back: str = Form(default="/", max_length=2000)):
    """Make the link and show it this once (only a digest of it is kept)."""
    try:
        issued = gallery_of(request).links.create(
            me, album_id=album_id, asset_ids=None if album_id is not None else asset_id, title=title,
            password=password or None, expires_at=_expiry(expires_in_days))
    except NotFound:
        raise
    except PhonecloudError as error:
        return redirect(request, local_path(back), error=error.message)
    return _shared_page(request, me, issued)


@router.post("/shared/{share_id}/revoke")
def revoke_link(request: Request, share_id: uuid.UUID, me: Principal = Depends(signed_in),
                back: str = Form(default="/shared", max_length=2000)):
    gallery_of(request).links.revoke(me, share_id)
    return redirect(request, local_path(back, "/shared"), ok="Link revoked: it no longer opens, for anyone.")


@router.post("/albums/{album_id}/members")
def share_album(request: Request, album_id: uuid.UUID, email: str = Form(max_length=320),
                role: str = Form(max_length=20), me: Principal = Depends(signed_in)):
    def share() -> str:
        member, created = gallery_of(request).members.share(me, album_id, email, role)
        can = dict(ROLES)[member.role].lower()
        return f"Shared with {member.email}: {can}." if created else f"{member.email} now {can}."

    return act(request, f"/albums/{album_id}", share)


@router.post("/albums/{album_id}/members/remove")
def unshare_album(request: Request, album_id: uuid.UUID, email: str = Form(max_length=320),
                  me: Principal = Depends(signed_in)):
    def unshare() -> str:
        gallery_of(request).members.unshare(me, album_id, email)
        return f"No longer shared with {email.strip().lower()}; what they added left the album."

    return act(request, f"/albums/{album_id}", unshare)


@router.post("/albums/{album_id}/leave")
def leave_album(request: Request, album_id: uuid.UUID, me: Principal = Depends(signed_in)):
    gallery_of(request).members.leave(me, album_id)
    return redirect(request, "/albums", ok="You left the album; the items you added left it with you.")
