"""Where CardDAV is found: the /dav mount (bound at request time to the running server's contacts kind, built
after the application is) and the well-known address clients try first (RFC 6764)."""

from __future__ import annotations

from fastapi import APIRouter
from starlette.responses import RedirectResponse
from starlette.types import Receive, Scope, Send

from phonecloud.contacts.dav.front import MOUNT

well_known = APIRouter(include_in_schema=False)


@well_known.api_route("/.well-known/carddav", methods=["GET", "HEAD", "PROPFIND", "OPTIONS"])
def carddav_service() -> RedirectResponse:
    return RedirectResponse(f"{MOUNT}/", status_code=301)


class DavMount:
    def __init__(self, kind_name: str):
        self.kind_name = kind_name

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        dav = scope["app"].state.services.kind(self.kind_name).service.dav
        await dav(scope, receive, send)
