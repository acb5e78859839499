"""The Takeout import page: zip parts uploaded from the browser (resumably), then the import followed to its
report; earlier imports listed with theirs."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request

from phonecloud.accounts.service import Principal
from phonecloud.gallery.context import gallery_of
from phonecloud.gallery.takeout.schemas import ImportOut
from phonecloud.gallery.web.library import TUS_ENDPOINT
from phonecloud.web.pages import WebRoute, render, signed_in

router = APIRouter(route_class=WebRoute, include_in_schema=False)


@router.get("/takeout")
def takeout_page(request: Request, me: Principal = Depends(signed_in)):
    imports = [ImportOut.of(*found) for found in gallery_of(request).takeout.list(me)]
    return render(request, "takeout.html", me, page="upload", imports=imports, tus_endpoint=TUS_ENDPOINT)
