"""Albums: the grid of albums with their covers, one album's items, create, rename and delete."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Depends, Form, Query, Request

from phonecloud.accounts.service import Principal
from phonecloud.gallery.context import gallery_of
from phonecloud.gallery.web.library import Listing, grid, here
from phonecloud.gallery.web.sharing import album_sharing
from phonecloud.web.pages import WebRoute, act, redirect, render, signed_in

router = APIRouter(route_class=WebRoute, include_in_schema=False)


@router.get("/albums")
def albums(request: Request, me: Principal = Depends(signed_in)):
    gallery = gallery_of(request)
    cards = []
    for album, count in gallery.albums.list_albums(me):
        newest = gallery.library.list_assets(me, None, 1, album_id=album.id).items  # the cover: the album's newest item
        cards.append((album, count, newest[0] if newest else None))
    shared = [(each, (gallery.library.list_assets(me, None, 1, album_id=each.album.id).items or [None])[0])
              for each in gallery.members.shared_with(me)]  # albums other users share with me, with covers
    return render(request, "albums.html", me, page="albums", albums=cards, shared=shared)


@router.post("/albums")
def create_album(request: Request, title: str = Form(max_length=500), me: Principal = Depends(signed_in)):
    album = gallery_of(request).albums.create_album(me, title)
    return redirect(request, f"/albums/{album.id}", ok=f"Album “{album.title}” created. Add items from your photos.")


@router.get("/albums/{album_id}")
def album(request: Request, album_id: uuid.UUID, me: Principal = Depends(signed_in),
          cursor: str | None = Query(default=None, max_length=200)):
    gallery = gallery_of(request)
    found, count = gallery.albums.get_album(me, album_id)  # mine, or shared with me
    role = gallery.albums.role(me, album_id)
    return render(request, "album.html", me, page="albums", album=found, count=count, back=here(request),
                  empty="This album is empty. Select items in your photos and add them here.", role=role,
                  sharing=album_sharing(request, me, found, role),
                  **grid(request, me, Listing(str(album_id), album_id), cursor))


@router.post("/albums/{album_id}/rename")
def rename_album(request: Request, album_id: uuid.UUID, title: str = Form(max_length=500),
                 me: Principal = Depends(signed_in)):
    def rename() -> str:
        return f"Renamed to “{gallery_of(request).albums.update_album(me, album_id, title, None).title}”."

    return act(request, f"/albums/{album_id}", rename)


@router.post("/albums/{album_id}/delete")
def delete_album(request: Request, album_id: uuid.UUID, me: Principal = Depends(signed_in)):
    gallery_of(request).albums.delete_album(me, album_id)
    return redirect(request, "/albums", ok="Album deleted; its items are still in your library.")
