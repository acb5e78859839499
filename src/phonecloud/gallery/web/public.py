"""What a link shows to anyone who has it, without an account, at /s/{token}: a grid of thumbnails, a viewer,
each original, and a zip of all of them; the password form first when the link has one.

Every request here is counted against its address (a token bucket per API process, see sharing/ratelimit.py)
before anything is looked up, leaves no Referer behind, and asks search engines to stay away. Every file is
checked against the link each time it is asked for (Cache-Control no-cache): revoking a link stops at once
what a browser would otherwise have kept showing from its cache."""

from __future__ import annotations

from typing import Annotated

import uuid

from fastapi import APIRouter, Form, Path, Query, Request, Response
from fastapi.responses import PlainTextResponse, RedirectResponse, StreamingResponse

from phonecloud.accounts.routes import request_address
from phonecloud.accounts.throttle import LoginThrottled
from phonecloud.core.errors import Forbidden, Unauthorized
from phonecloud.core.http import ranged_answer
from phonecloud.core.names import display_name, safe_filename
from phonecloud.core.sizes import format_size
from phonecloud.gallery.context import gallery_of
from phonecloud.gallery.moments import local_moment
from phonecloud.gallery.sharing.service import MAX_PASSWORD_CHARS, Visit
from phonecloud.gallery.web import views
from phonecloud.media.sniff import sniff_extension
from phonecloud.web.pages import WebRoute, render
from phonecloud.web.session import over_https

PAGE_SIZE = 120
COOKIE = "phonecloud_link"  # the password given, signed, scoped to its link's path
SHARE_HEADERS = {"Referrer-Policy": "no-referrer", "X-Robots-Tag": "noindex, nofollow"}
NO_CACHE = "private, no-cache"  # kept by the browser, but asked again (and checked) each time it is shown

Token = Annotated[str, Path(min_length=1, max_length=100)]


class ShareRoute(WebRoute):
    """A link's pages and files: rate-limited per address before anything else, without a referrer."""

    def get_route_handler(self):
        handler = super().get_route_handler()

        async def shared(request: Request) -> Response:
            wait = gallery_of(request).links.limiter.take(request_address(request))
            if wait:  # answered without a look at the database
                response = PlainTextResponse(f"Too many requests for shared links from your address; try again in "
                                             f"{wait} seconds.", status_code=429, headers={"Retry-After": str(wait)})
            else:
                response = await handler(request)
            response.headers.update(SHARE_HEADERS)
            return response

        return shared


router = APIRouter(route_class=ShareRoute, include_in_schema=False)


def _open(request: Request, token: str) -> Visit:
    """The link, unlocked: NotFound when it is not live, Forbidden while its password was not given."""
    links = gallery_of(request).links
    visit = links.visit(token)
    if not links.is_unlocked(visit, request.cookies.get(COOKIE)):
        raise Forbidden("this link has a password: open the link and give it first")
    return visit


def _locked(request: Request, token: str, visit: Visit, status: int = 200, error: str | None = None) -> Response:
    return render(request, "share_locked.html", None, status=status, visit=visit, token=token, error=error,
                  max_password=MAX_PASSWORD_CHARS)


@router.get("/s/{token}")
def shared(request: Request, token: Token, cursor: str | None = Query(default=None, max_length=200)):
    links = gallery_of(request).links
    visit = links.visit(token)
    if not links.is_unlocked(visit, request.cookies.get(COOKIE)):
        return _locked(request, token, visit)
    page = links.page(visit, cursor, PAGE_SIZE)
    media = links.media_of(page.items)
    return render(request, "share.html", None, visit=visit, token=token, count=links.count(visit),
                  tiles=[views.tile(asset, media.get(asset.id)) for asset in page.items], next_cursor=page.next_cursor,
                  paged=cursor is not None)


@router.post("/s/{token}/unlock")
def unlock(request: Request, token: Token, password: str = Form(max_length=MAX_PASSWORD_CHARS + 1)):
    links = gallery_of(request).links
    visit = links.visit(token)
    try:
        value, seconds = links.unlock(visit, password, request_address(request))
    except Unauthorized:
        return _locked(request, token, visit, 403, "That is not the password of this link.")
    except LoginThrottled as refused:
        wait = refused.details["retry_after"]
        response = _locked(request, token, visit, 429, f"Too many wrong passwords: try again in {wait} seconds.")
        response.headers["Retry-After"] = str(wait)
        return response
    response = RedirectResponse(f"/s/{token}", status_code=303)
    response.set_cookie(COOKIE, value, max_age=seconds, path=f"/s/{token}", httponly=True, samesite="lax",
                        secure=over_https(request))
    return response


@router.get("/s/{token}/photos/{asset_id}")
def viewer(request: Request, token: Token, asset_id: uuid.UUID):
    links = gallery_of(request).links
    visit = _open(request, token)
    asset = links.asset(visit, asset_id)
    media = links.media_of([asset]).get(asset.id)
    newer, older = links.neighbours(visit, asset)
    tile, failure = views.stage(asset, media)
    info = [("Taken", f"{local_moment(asset, media):%a %-d %b %Y, %H:%M}"),
            ("File name", display_name(asset.original_filename)),
            ("Size", format_size(asset.size_bytes))]
    if media is not None and media.width and media.height:
        info.append(("Dimensions", f"{media.width} × {media.height}"))
    if tile.duration:
        info.append(("Duration", tile.duration))
    return render(request, "share_viewer.html", None, visit=visit, token=token, asset=asset, tile=tile, info=info,
                  failure=failure,
                  newer_href=f"/s/{token}/photos/{newer}" if newer else None,
                  older_href=f"/s/{token}/photos/{older}" if older else None,
                  back=f"/s/{token}#t-{asset.id}",
                  download_name=safe_filename(asset.original_filename, sniff_extension(asset.mime_type)))


def _derivative(request: Request, token: str, asset_id: uuid.UUID, name: str) -> Response:
    gallery = gallery_of(request)
    visit = _open(request, token)
    asset = gallery.links.asset(visit, asset_id)
    key, mime = gallery.media().derivative(asset, gallery.links.media_of([asset]).get(asset.id), name)
    etag = f'"{asset.sha1}-{name}"'
    headers = {"ETag": etag, "Cache-Control": NO_CACHE}
    if request.headers.get("if-none-match") == etag:
        return Response(status_code=304, headers=headers)
    return StreamingResponse(gallery.library.blobs.get(key), media_type=mime, headers=headers)


@router.get("/s/{token}/assets/{asset_id}/thumbnail")
def thumbnail(request: Request, token: Token, asset_id: uuid.UUID):
    return _derivative(request, token, asset_id, "thumbnail")


@router.get("/s/{token}/assets/{asset_id}/preview")
def preview(request: Request, token: Token, asset_id: uuid.UUID):
    return _derivative(request, token, asset_id, "preview")


@router.get("/s/{token}/assets/{asset_id}/original")
def original(request: Request, token: Token, asset_id: uuid.UUID):
    """The original as it was uploaded (Range supported: videos play from it)."""
    gallery = gallery_of(request)
    asset = gallery.links.asset(_open(request, token), asset_id)
    name = safe_filename(asset.original_filename, sniff_extension(asset.mime_type))
    answer = ranged_answer(request, asset.size_bytes, f'"{asset.sha1}"', name, NO_CACHE)
    return StreamingResponse(gallery.library.read_original(asset, answer.start, answer.end), status_code=answer.status,
                             media_type=asset.mime_type, headers=answer.headers)


@router.get("/s/{token}/download")
def download_all(request: Request, token: Token):
    """Every original the link shows in one zip, oldest first, streamed (Range supported: resumable)."""
    gallery = gallery_of(request)
    visit = _open(request, token)
    archive = gallery.links.archive(visit)
    name = safe_filename(visit.title.replace(".", " "), "zip")
    answer = ranged_answer(request, archive.size, archive.etag, name, NO_CACHE)
    return StreamingResponse(archive.stream(gallery.library.blobs, answer.start, answer.end),
                             status_code=answer.status, media_type="application/zip", headers=answer.headers)
