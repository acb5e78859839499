"""The search page: a search box and filters (capture days, place, camera, file name, album, favourites,
photos or videos), the results as the timeline's tiles (selection and viewer as there), page after page."""

from __future__ import annotations

from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Query, Request

from phonecloud.accounts.service import Principal
from phonecloud.core.errors import BadRequest
from phonecloud.gallery.context import gallery_of
from phonecloud.gallery.search.schemas import SearchParams
from phonecloud.gallery.web import views
from phonecloud.gallery.web.library import PAGE_SIZE, here, undo_offer
from phonecloud.web.pages import WebRoute, fragment, render, signed_in

router = APIRouter(route_class=WebRoute, include_in_schema=False)

FIELDS = ("q", "from", "to", "place", "camera", "filename", "album", "favorite", "kind")


def _asked(request: Request) -> dict[str, str]:
    """The search's fields as the form sent them, the empty ones left out (at most 500 characters each: the
    service refuses longer ones by name)."""
    return {name: request.query_params[name][:501] for name in FIELDS if request.query_params.get(name, "").strip()}


def _results(request: Request, me: Principal, asked: dict[str, str], cursor: str | None) -> dict:
    """One page of results as months and days of tiles, and the address of the next page."""
    gallery = gallery_of(request)
    params = SearchParams.parse(*(asked.get(name) for name in FIELDS))
    page = gallery.search.find(me, params, cursor, PAGE_SIZE)
    more = urlencode({**asked, "cursor": page.next_cursor}) if page.next_cursor else None
    return dict(months=views.months(page.items, gallery.library.media_of(page.items)), more=more, view="search",
                view_query="")


@router.get("/search")
def search(request: Request, me: Principal = Depends(signed_in),
           cursor: str | None = Query(default=None, max_length=200)):
    asked = _asked(request)
    gallery = gallery_of(request)
    places, cameras = gallery.search.names_in_use(me)
    context = dict(page="search", asked=asked, albums=gallery.albums.list_albums(me), places=places,
                   cameras=cameras, back=here(request), undo=undo_offer(request, me), months=[], more=None,
                   filtered=any(name != "q" for name in asked), error=None)
    status = 200
    if asked:
        try:
            context.update(_results(request, me, asked, cursor))
        except BadRequest as refused:  # shown beside the form, which keeps what was typed
            context["error"], status = refused.message, 400
    return render(request, "search.html", me, status=status, **context)


@router.get("/search/grid")
def more(request: Request, me: Principal = Depends(signed_in), cursor: str = Query(max_length=200)):
    """The next page of results, as HTML to append (the grid's script merges it as the timeline's)."""
    return fragment("search_grid.html", **_results(request, me, _asked(request), cursor))
