"""The browser's session: cookies, CSRF tokens and one-shot messages.

The session cookie holds the same kind of session token that `POST /api/v1/auth/login` hands out, so the
web and the API share sign-in, throttling, expiry and revocation. It is HttpOnly (scripts never see it),
SameSite=Lax and Secure when the page came over HTTPS.

CSRF tokens are an HMAC keyed by a cookie that only the browser and the server know (the session token,
or before sign-in a random pre-session value): a page from elsewhere can neither read nor compute one,
and the server keeps no state for them. Every state-changing request carries one, in a form field or in
the X-CSRF-Token header.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
from urllib.parse import quote, unquote

from starlette.requests import HTTPConnection
from starlette.responses import Response

SESSION_COOKIE = "phonecloud_session"
PRESESSION_COOKIE = "phonecloud_presession"
FLASH_COOKIE = "phonecloud_flash"
CSRF_FIELD = "csrf"
CSRF_HEADER = "x-csrf-token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def csrf_token_for(secret: str) -> str:
    return hmac.new(secret.encode(), b"phonecloud csrf", hashlib.sha256).hexdigest()


def csrf_secret(connection: HTTPConnection) -> str | None:
    """The cookie the CSRF token is derived from: the session, else the pre-session of the sign-in form."""
    return connection.cookies.get(SESSION_COOKIE) or connection.cookies.get(PRESESSION_COOKIE)


def csrf_valid(connection: HTTPConnection, presented: str | None) -> bool:
    secret = csrf_secret(connection)
    return bool(secret and presented) and hmac.compare_digest(csrf_token_for(secret), presented)


def over_https(connection: HTTPConnection) -> bool:
    """HTTPS to the browser: our own TLS, or a trusted reverse proxy's X-Forwarded-Proto (PHONECLOUD_TRUSTED_PROXIES)."""
    if connection.url.scheme == "https":
        return True
    if connection.app.state.services.settings.trusted_proxies == 0:
        return False
    nearest = connection.headers.get("x-forwarded-proto", "").split(",")[-1].strip().lower()
    return nearest == "https"


def _set(response: Response, connection: HTTPConnection, name: str, value: str, max_age: int | None) -> None:
    response.set_cookie(name, value, max_age=max_age, path="/", httponly=True, samesite="lax",
                        secure=over_https(connection))


def set_session(response: Response, connection: HTTPConnection, token: str, max_age: int) -> None:
    _set(response, connection, SESSION_COOKIE, token, max_age)
    response.delete_cookie(PRESESSION_COOKIE, path="/")


def clear_session(response: Response) -> None:
    response.delete_cookie(SESSION_COOKIE, path="/")


def ensure_presession(response: Response, connection: HTTPConnection) -> str:
    """The pre-session secret of a signed-out browser, made (and set on response) when it has none."""
    secret = csrf_secret(connection)
    if secret is None:
        secret = secrets.token_urlsafe(32)
        _set(response, connection, PRESESSION_COOKIE, secret, None)
    return secret


def flash(response: Response, connection: HTTPConnection, kind: str, text: str) -> None:
    """A message for the next page shown (after a redirect): kind is "ok" or "error"."""
    _set(response, connection, FLASH_COOKIE, quote(json.dumps({"kind": kind, "text": text[:500]})), 60)


def take_flash(connection: HTTPConnection, response: Response) -> dict | None:
    raw = connection.cookies.get(FLASH_COOKIE)
    if raw is None:
        return None
    response.delete_cookie(FLASH_COOKIE, path="/")
    try:
        message = json.loads(unquote(raw))
    except ValueError:
        return None
    if not isinstance(message, dict) or message.get("kind") not in ("ok", "error"):
        return None
    return {"kind": message["kind"], "text": str(message.get("text", ""))[:500]}
