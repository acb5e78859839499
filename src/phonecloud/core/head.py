"""Two answers every route owes HTTP, given once for all of them.

- HEAD wherever GET is allowed (RFC 9110 §9.3.2): FastAPI routes declared for GET answer only GET, so a HEAD
  runs the GET route and sends its status and headers alone; the route is stopped at its first body chunk,
  so a HEAD of a 4 GB video reads nothing of it. Routes that declare HEAD themselves (tus) keep their own.
- `X-Content-Type-Options: nosniff` on every answer, so that no browser guesses a type for an original.
"""

from __future__ import annotations

from starlette.routing import Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

_NOSNIFF = (b"x-content-type-options", b"nosniff")


class _Answered(Exception):
    """The status and headers of a HEAD are sent: the rest of the GET it ran is not wanted."""


def _answers(app, scope: Scope, method: str) -> bool:
    probe = {**scope, "method": method}
    return any(route.matches(probe)[0] == Match.FULL for route in app.router.routes)


class HeadAndNoSniff:
    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)

        async def with_nosniff(message: Message) -> None:
            if message["type"] == "http.response.start" and not any(
                    name == _NOSNIFF[0] for name, _ in message.get("headers", [])):
                message = {**message, "headers": [*message.get("headers", []), _NOSNIFF]}
            await send(message)

        application = scope["app"]
        if scope["method"] != "HEAD" or _answers(application, scope, "HEAD") or not _answers(application, scope, "GET"):
            return await self.app(scope, receive, with_nosniff)
        ended = False

        async def headers_only(message: Message) -> None:
            nonlocal ended
            if message["type"] != "http.response.body":
                return await with_nosniff(message)
            if not ended:
                ended = True
                await send({"type": "http.response.body", "body": b"", "more_body": False})
            if message.get("more_body", False):
                raise _Answered

        try:
            await self.app({**scope, "method": "GET"}, receive, headers_only)
        except _Answered:
            pass
