"""The library's pages: the timeline, the trash, the viewer, the upload page, and actions on a selection."""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Form, Query, Request

from phonecloud.accounts.service import Principal
from phonecloud.core.dates import parse_day
from phonecloud.core.errors import BadRequest
from phonecloud.gallery.context import gallery_of
from phonecloud.gallery.memories import glimpses
from phonecloud.core.names import safe_filename
from phonecloud.gallery.service import TRASH_RETENTION, TrashMove, cursor_before, moment_of_undo
from phonecloud.media.sniff import sniff_extension
from phonecloud.gallery.web import views
from phonecloud.web.pages import WebRoute, act, fragment, local_path, redirect, render, signed_in

router = APIRouter(route_class=WebRoute, include_in_schema=False)

PAGE_SIZE = 120  # tiles per page: a screenful or two on a desktop, the next page is fetched while scrolling
# Files from this size on go over tus (resumable), as the sync client does; smaller ones in one request.
TUS_THRESHOLD = 16 << 20
TUS_ENDPOINT = "/api/v1/uploads/"


@dataclass(frozen=True)
class Listing:
    """Which listing a grid shows: the library, the trash, or an album."""

    view: str  # "library", "trash" or the album's id
    album_id: uuid.UUID | None = None

    @classmethod
    def parse(cls, view: str) -> Listing:
        if view in ("library", "trash"):
            return cls(view)
        return cls(view, _album_id(view))

    @property
    def trashed(self) -> bool:
        return self.view == "trash"

    @property
    def page_path(self) -> str:
        return {"library": "/", "trash": "/trash"}.get(self.view, f"/albums/{self.album_id}")

    @property
    def viewer_query(self) -> str:
        return f"?album={self.album_id}" if self.album_id else ""


def grid(request: Request, me: Principal, listing: Listing, cursor: str | None) -> dict:
    """One page of a listing as months and days of tiles, and where the next page starts."""
    gallery = gallery_of(request)
    page = gallery.library.list_assets(me, cursor, PAGE_SIZE, trashed=listing.trashed, album_id=listing.album_id)
    return dict(months=views.months(page.items, gallery.library.media_of(page.items)), next_cursor=page.next_cursor,
                view=listing.view, page_path=listing.page_path, view_query=listing.viewer_query,
                undo=undo_offer(request, me))


UNDO = "undo"  # the query parameter of the page shown after a move to the trash: the move's undo token


def here(request: Request) -> str:
    """This page's path and query, for its forms to come back to (without a move's undo: that is offered once)."""
    query = request.url.query
    if UNDO in request.query_params:
        query = urlencode([(name, value) for name, value in request.query_params.multi_items() if name != UNDO])
    return request.url.path + (f"?{query}" if query else "")


def with_undo(target: str, move: TrashMove) -> str:
    """The page to show after a move to the trash, with the move's undo (none when it moved nothing)."""
    if not move.moved:
        return target
    path, hash_mark, fragment = target.partition("#")
    return f"{path}{'&' if '?' in path else '?'}{UNDO}={move.undo_token}{hash_mark}{fragment}"


def undo_offer(request: Request, me: Principal) -> dict | None:
    """The Undo a page shows after a move to the trash, while the items it moved are still in the trash."""
    moment = moment_of_undo(request.query_params.get(UNDO, ""))
    if moment is None:
        return None
    count, first = gallery_of(request).library.moved_together(me, moment)
    if not count:
        return None
    moved = f"“{first.original_filename}”" if count == 1 else _items(count)
    return dict(token=request.query_params[UNDO], count=count, first=first.id, back=here(request),
                text=f"{moved} moved to the trash.")


@router.get("/")
def timeline(request: Request, me: Principal = Depends(signed_in),
             cursor: str | None = Query(default=None, max_length=200), date: str | None = Query(default=None, max_length=10)):
    jumped = parse_day(date) if date else None
    if jumped is not None:  # everything taken on that day or before, newest first
        cursor = cursor_before(dt.datetime.combine(jumped + dt.timedelta(days=1), dt.time(), dt.UTC))
    empty = ("Nothing was taken on or before that day." if jumped or cursor else
             "No photos yet. Upload some, or create an API key in your account to back up a phone.")
    today = dt.datetime.now(dt.UTC).date()
    memories = [] if jumped or cursor else glimpses(gallery_of(request).library.db, me, today)
    return render(request, "timeline.html", me, page="timeline", jumped=jumped, paged=cursor is not None,
                  memories=memories,
                  albums=gallery_of(request).albums.albums_to_add_to(me), back=here(request), empty=empty,
                  **grid(request, me, Listing("library"), cursor))


@router.get("/trash")
def trash(request: Request, me: Principal = Depends(signed_in), cursor: str | None = Query(default=None, max_length=200)):
    items, size = gallery_of(request).library.trash_totals(me)
    return render(request, "trash.html", me, page="trash", back=here(request), empty="The trash is empty.",
                  retention_days=TRASH_RETENTION.days, trash_items=items, trash_bytes=size,
                  **grid(request, me, Listing("trash"), cursor))


@router.post("/trash/empty")
def empty_trash(request: Request, me: Principal = Depends(signed_in)):
    deleted = gallery_of(request).library.empty_trash(me)
    return redirect(request, "/trash", ok=f"{_items(deleted)} deleted for good." if deleted else
                    "The trash was already empty.")


@router.post("/trash/restore")
def restore_all(request: Request, me: Principal = Depends(signed_in)):
    restored = gallery_of(request).library.restore_trash(me)
    return redirect(request, "/trash", ok=f"{_items(restored)} restored to your library." if restored else
                    "The trash was already empty.")


@router.post("/trash/undo")
def undo_move(request: Request, undo: str = Form(max_length=20), back: str = Form(default="/", max_length=2000),
              me: Principal = Depends(signed_in)):
    """Undo a move to the trash: exactly the items it moved come back (those still in the trash)."""
    moment = moment_of_undo(undo)
    if moment is None:
        raise BadRequest("not an undo of a move to the trash")
    restored = gallery_of(request).library.restore_moved(me, moment)
    if not restored:
        return redirect(request, local_path(back), error="Nothing to undo: those items are no longer in the trash.")
    return redirect(request, local_path(back), ok=f"{_items(restored)} restored.")


@router.get("/grid")
def more(request: Request, me: Principal = Depends(signed_in), view: str = Query(alias="in", max_length=40),
         cursor: str = Query(max_length=200)):
    """The next page of a grid, as HTML to append (its script merges a day cut in two by the page break)."""
    return fragment("grid.html", **grid(request, me, Listing.parse(view), cursor))


@router.get("/photos/{asset_id}")
def viewer(request: Request, asset_id: uuid.UUID, me: Principal = Depends(signed_in), album: uuid.UUID | None = None):
    gallery = gallery_of(request)
    asset = gallery.library.readable_asset(me, asset_id)  # in an album shared with the caller too: to look at
    media = gallery.library.media_of([asset]).get(asset.id)
    newer, older = gallery.library.neighbours(me, asset, album)
    query = Listing(str(album), album).viewer_query if album else ""
    if album:
        back = f"/albums/{album}"
    elif asset.trashed_at:
        back = "/trash"
    else:  # the timeline from this item's day on, scrolled to it
        back = f"/?date={asset.sort_at.astimezone(dt.UTC).date().isoformat()}#t-{asset.id}"
    undo = undo_offer(request, me)
    if undo and undo["count"] == 1:  # undone, the item itself is shown again
        undo["back"] = f"/photos/{undo['first']}{query}"
    tile, failure = views.stage(asset, media)
    return render(request, "viewer.html", me, page="timeline", asset=asset, tile=tile,
                  info=views.info(asset, media), failure=failure,
                  back=back, here=here(request), undo=undo,
                  newer_href=f"/photos/{newer}{query}" if newer else None,
                  older_href=f"/photos/{older}{query}" if older else None,
                  download_name=safe_filename(asset.original_filename, sniff_extension(asset.mime_type)))


@router.post("/photos/{asset_id}/favorite")
def favorite(request: Request, asset_id: uuid.UUID, favorite: bool = Form(), back: str = Form(default="", max_length=2000),
             me: Principal = Depends(signed_in)):
    gallery_of(request).library.set_favorite(me, asset_id, favorite)
    return redirect(request, local_path(back, f"/photos/{asset_id}"))


@router.post("/photos/{asset_id}/trash")
def move_to_trash(request: Request, asset_id: uuid.UUID, next: str = Form(default="/", max_length=2000),
                  me: Principal = Depends(signed_in)):
    move = gallery_of(request).library.move_to_trash(me, [asset_id])
    return redirect(request, with_undo(local_path(next), move), ok="Moved to the trash. Restore it from the trash "
                                                                   f"within {TRASH_RETENTION.days} days.")


@router.post("/photos/{asset_id}/restore")
def restore(request: Request, asset_id: uuid.UUID, me: Principal = Depends(signed_in)):
    gallery_of(request).library.set_trashed(me, asset_id, False)
    return redirect(request, f"/photos/{asset_id}", ok="Restored to your library.")


@router.post("/photos/{asset_id}/delete")
def delete_forever(request: Request, asset_id: uuid.UUID, me: Principal = Depends(signed_in)):
    gallery_of(request).library.delete_forever(me, asset_id)
    return redirect(request, "/trash", ok="Deleted for good.")


def _album_id(text: str) -> uuid.UUID:
    try:
        return uuid.UUID(text)
    except ValueError:
        raise BadRequest(f"not an album id: {text!r}") from None


def _items(count: int) -> str:
    return f"{count} item{'' if count == 1 else 's'}"


@router.post("/selection")
def on_selection(request: Request, me: Principal = Depends(signed_in), action: str = Form(max_length=20),
                 asset_id: list[uuid.UUID] = Form(default=[]), album_id: str = Form(default="", max_length=40),
                 new_album: str = Form(default="", max_length=500), back: str = Form(default="/", max_length=2000)):
    """What the selection toolbar's buttons do to the selected items."""
    gallery = gallery_of(request)
    chosen = list(dict.fromkeys(asset_id))
    if action == "trash" and chosen:  # back with its undo (an item that is not the caller's: 404, nothing moved)
        move = gallery.library.move_to_trash(me, chosen)
        if move.moved:  # the page's Undo says what was moved
            return redirect(request, with_undo(local_path(back), move))
        return redirect(request, local_path(back), ok=f"{_items(len(chosen))} moved to the trash.")

    def apply() -> str:
        if not chosen:
            raise BadRequest("select at least one item first")
        if action in ("favorite", "unfavorite"):
            for each in chosen:
                gallery.library.set_favorite(me, each, action == "favorite")
            return f"{_items(len(chosen))} {'marked as favourites' if action == 'favorite' else 'no longer favourites'}."
        if action == "restore":
            for each in chosen:
                gallery.library.set_trashed(me, each, False)
            return f"{_items(len(chosen))} restored."
        if action == "delete":
            for each in chosen:
                gallery.library.delete_forever(me, each)
            return f"{_items(len(chosen))} deleted for good."
        if action in ("album_add", "album_remove"):
            if album_id:
                album = gallery.albums.get_album(me, _album_id(album_id))[0]
            elif action == "album_add":
                album = gallery.albums.create_album(me, new_album)
            else:
                raise BadRequest("no album given")
            results = gallery.albums.change_album_assets(me, album.id, chosen, add=action == "album_add")
            changed = sum(result["result"] in ("added", "removed") for result in results)
            return f"{_items(changed)} {'added to' if action == 'album_add' else 'removed from'} “{album.title}”."
        raise BadRequest(f"unknown action {action!r}")

    return act(request, local_path(back), apply)


@router.get("/upload")
def upload_page(request: Request, me: Principal = Depends(signed_in)):
    return render(request, "upload.html", me, page="upload", tus_threshold=TUS_THRESHOLD,
                  tus_endpoint=TUS_ENDPOINT)
