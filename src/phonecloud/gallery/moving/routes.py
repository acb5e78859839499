"""Moves over HTTP: thin routes over gallery.moving.service."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Depends, Request, Response

from phonecloud.accounts.http import current_principal
from phonecloud.accounts.service import Principal
from phonecloud.core.limits import ApiRoute
from phonecloud.gallery.context import gallery_of
from phonecloud.gallery.moving.schemas import MoveOut, StartMove
from phonecloud.gallery.moving.targets import target_of

router = APIRouter(prefix="/moves", tags=["moves"], route_class=ApiRoute)


def _moves(request: Request):
    return gallery_of(request).moves


@router.post("", status_code=201, response_model=MoveOut,
             responses={409: {"description": "Another move is queued, running or paused"}})
def start_move(body: StartMove, request: Request, principal: Principal = Depends(current_principal)):
    """Move the library (photos and videos with their capture times, favourites, descriptions, trash and
    albums) to another service, in the background, each item verified there. GET /moves/{id} follows it."""
    settings = request.app.state.services.settings
    target = target_of(body.target, body.model_dump(exclude={"target"}), settings.moves_to_private_addresses)
    return MoveOut.of(_moves(request).start(principal, target))


@router.get("", response_model=list[MoveOut])
def list_moves(request: Request, principal: Principal = Depends(current_principal)):
    """The caller's moves, newest first."""
    return [MoveOut.of(move) for move in _moves(request).list(principal)]


@router.get("/{move_id}", response_model=MoveOut)
def get_move(move_id: uuid.UUID, request: Request, principal: Principal = Depends(current_principal)):
    return MoveOut.of(_moves(request).get(principal, move_id))


@router.post("/{move_id}/pause", response_model=MoveOut, responses={409: {"description": "Not queued or running"}})
def pause_move(move_id: uuid.UUID, request: Request, principal: Principal = Depends(current_principal)):
    """Pause: a queued move at once, a running one after the items it is sending."""
    return MoveOut.of(_moves(request).pause(principal, move_id))


@router.post("/{move_id}/resume", response_model=MoveOut, responses={409: {"description": "Not paused"}})
def resume_move(move_id: uuid.UUID, request: Request, principal: Principal = Depends(current_principal)):
    """Go on with a paused move: what arrived is not sent again."""
    return MoveOut.of(_moves(request).resume(principal, move_id))


@router.delete("/{move_id}", status_code=204, responses={409: {"description": "Queued or running: pause it"}})
def delete_move(move_id: uuid.UUID, request: Request, principal: Principal = Depends(current_principal)):
    """Forget a move and its record; what it sent stays on the target."""
    _moves(request).delete(principal, move_id)
    return Response(status_code=204)
