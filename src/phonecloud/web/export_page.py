"""Download everything: the user's exports with their zip parts, a button to prepare a new one, and the
command that downloads them all. The parts download from the API's own URLs (the session cookie is
bridged to the API); what an export holds is the portability service's business."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Depends, Request

from phonecloud.accounts.service import Principal
from phonecloud.core.http import services
from phonecloud.portability.schemas import ExportOut
from phonecloud.web.pages import WebRoute, act, redirect, render, signed_in

router = APIRouter(route_class=WebRoute, include_in_schema=False)


@router.get("/download")
def download_page(request: Request, me: Principal = Depends(signed_in)):
    exports = [ExportOut.of(view) for view in services(request).portability.exports(me)]
    return render(request, "export.html", me, page="download", exports=exports,
                  preparing=any(export.state == "preparing" for export in exports),
                  server_url=str(request.base_url).rstrip("/"))


@router.post("/download")
def prepare_export(request: Request, me: Principal = Depends(signed_in)):
    services(request).portability.create(me, str(request.base_url))
    return redirect(request, "/download", ok="Your export is being prepared; this page shows its parts once "
                                             "it is ready.")


@router.post("/download/{export_id}/delete")
def delete_export(request: Request, export_id: uuid.UUID, me: Principal = Depends(signed_in)):
    def forget() -> str:
        services(request).portability.delete(me, export_id)
        return "Export deleted; your library is untouched."

    return act(request, "/download", forget)
