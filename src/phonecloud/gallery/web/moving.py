"""The "Move my library to…" page: the target chosen and the move started (by the page's script, through
the API), then followed with its progress, paused and resumed, and its report; earlier moves listed."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request

from phonecloud.accounts.service import Principal
from phonecloud.gallery.context import gallery_of
from phonecloud.gallery.moving.schemas import MoveOut
from phonecloud.web.pages import WebRoute, render, signed_in

router = APIRouter(route_class=WebRoute, include_in_schema=False)


@router.get("/move")
def move_page(request: Request, me: Principal = Depends(signed_in)):
    moves = [MoveOut.of(move) for move in gallery_of(request).moves.list(me)]
    return render(request, "move.html", me, page="upload", moves=moves)
