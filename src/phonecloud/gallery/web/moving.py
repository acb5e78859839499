"""The "Move my library to…" page: the target chosen and the move started (by the page's script, through
the API), then followed with its progress, paused and resumed, and its report; earlier moves listed.

Google Photos is signed in to on Google's own consent page, as a web application does it (OAuth 2.0 with
PKCE, the operator's OAuth client): this page sends the browser there, and Google sends it back to the
callback with a code, which the server exchanges for the refresh token the move runs on. The state and the
PKCE verifier wait in a cookie of this browser, for this path only, for a quarter of an hour."""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
from pathlib import Path

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import RedirectResponse

from phonecloud.accounts.service import Principal
from phonecloud.client.errors import ServerError
from phonecloud.client.migrate.google_auth import GoogleSession, OAuthClient, consent_address, pkce
from phonecloud.core.errors import PhonecloudError
from phonecloud.core.http import services
from phonecloud.gallery.context import gallery_of
from phonecloud.gallery.moving.schemas import MoveOut
from phonecloud.gallery.moving.targets import google_photos
from phonecloud.web import session
from phonecloud.web.pages import WebRoute, redirect, render, signed_in

log = logging.getLogger("phonecloud.moving")
router = APIRouter(route_class=WebRoute, include_in_schema=False)

GOOGLE_COOKIE = "phonecloud_move_google"
GOOGLE_PATH = "/move/google"
CALLBACK = f"{GOOGLE_PATH}/callback"
SIGN_IN_SECONDS = 900


@router.get("/move")
def move_page(request: Request, me: Principal = Depends(signed_in)):
    moves = [MoveOut.of(move) for move in gallery_of(request).moves.list(me)]
    google = services(request).settings.google_client is not None
    return render(request, "move.html", me, page="upload", moves=moves, google=google)


def _google_client(request: Request) -> OAuthClient:
    configured = services(request).settings.google_client
    if configured is None:
        raise ServerError(404, "not_configured", "this server does not move libraries to Google Photos")
    return OAuthClient.from_file(configured)


def _state_for(request: Request, nonce: str) -> str:
    """OAuth's state for this browser's session: a nonce with its HMAC under the session's own secret, so that
    a state (and cookie) made for another session, an attacker's, is refused on the way back."""
    secret = session.csrf_secret(request) or ""
    return f"{nonce}.{hmac.new(secret.encode(), nonce.encode(), hashlib.sha256).hexdigest()[:32]}"


def _callback_url(request: Request) -> str:
    return services(request).settings.public_url.rstrip("/") + CALLBACK


@router.post(GOOGLE_PATH)
def google_sign_in(request: Request, me: Principal = Depends(signed_in)):
    try:
        client = _google_client(request)
    except ServerError as refusal:
        return redirect(request, "/move", error=f"{refusal}.")
    verifier, challenge = pkce()
    state = _state_for(request, secrets.token_urlsafe(24))
    response = RedirectResponse(consent_address(client, _callback_url(request), state, challenge), status_code=303)
    response.set_cookie(GOOGLE_COOKIE, f"{state}.{verifier}", max_age=SIGN_IN_SECONDS, path=GOOGLE_PATH,
                        httponly=True, samesite="lax", secure=_callback_url(request).startswith("https:"))
    return response


@router.get(CALLBACK)
def google_signed_in(request: Request, me: Principal = Depends(signed_in),
                     code: str | None = Query(default=None, max_length=4096),
                     state: str | None = Query(default=None, max_length=200),
                     error: str | None = Query(default=None, max_length=200)):
    expected, _, verifier = request.cookies.get(GOOGLE_COOKIE, "").rpartition(".")  # the state holds a dot
    if error:  # Google's word for it is not shown: anyone can write one into this address
        outcome = redirect(request, "/move", error="Google's sign-in was not allowed: nothing was moved.")
    elif not (code and state and expected and verifier and secrets.compare_digest(state, expected)
              and secrets.compare_digest(state, _state_for(request, state.partition(".")[0]))):
        outcome = redirect(request, "/move", error="This is not the answer to your sign-in to Google, or it came "
                                                   "too late: start again.")
    else:
        outcome = _start_google_move(request, me, code, verifier)
    outcome.delete_cookie(GOOGLE_COOKIE, path=GOOGLE_PATH)  # once: a code is good for one try
    return outcome


def _start_google_move(request: Request, me: Principal, code: str, verifier: str) -> RedirectResponse:
    try:
        client = _google_client(request)
        google = GoogleSession(client, Path("/nonexistent"), log.info, interactive=False)
        try:
            answer = google.exchange(code, _callback_url(request), verifier, "start again")
        finally:
            google.close()
        gallery_of(request).moves.start(me, google_photos(answer))
    except ServerError as refusal:
        return redirect(request, "/move", error=f"{refusal}.")
    except PhonecloudError as refusal:
        return redirect(request, "/move", error=refusal.message)
    return redirect(request, "/move", ok="Moving your library to Google Photos: this page follows it.")
