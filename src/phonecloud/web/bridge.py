"""The pages' scripts call the JSON API with the session cookie: this middleware turns the cookie into the
bearer token the API expects, after checking the CSRF header on every state-changing request. The API
keeps one way to authenticate, and a cross-site request can never use the cookie on its own."""

from __future__ import annotations

from starlette.requests import HTTPConnection
from starlette.types import ASGIApp, Receive, Scope, Send

from phonecloud.core.errors import Forbidden
from phonecloud.core.http import error_response
from phonecloud.web.session import CSRF_HEADER, SAFE_METHODS, SESSION_COOKIE, csrf_valid


class SessionCookieBridge:
    def __init__(self, app: ASGIApp, api_prefix: str = "/api/"):
        self.app = app
        self.api_prefix = api_prefix

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"].startswith(self.api_prefix):
            headers = scope["headers"]
            token = HTTPConnection(scope).cookies.get(SESSION_COOKIE)
            if token and not any(name == b"authorization" for name, _ in headers):
                connection = HTTPConnection(scope)
                if scope["method"] not in SAFE_METHODS and not csrf_valid(connection, connection.headers.get(CSRF_HEADER)):
                    refusal = Forbidden("a request made with the session cookie needs the page's X-CSRF-Token header")
                    return await error_response(refusal)(scope, receive, send)
                scope = {**scope, "headers": [*headers, (b"authorization", f"Bearer {token}".encode())]}
        await self.app(scope, receive, send)
