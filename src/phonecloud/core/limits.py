"""What one request may cost the server before and while its body is read.

- The header block is bounded (431) for every request.
- A JSON body is bounded by its endpoint's own limit (413), declared by its model as `max_body_bytes` (a
  login is a few hundred bytes; a hash check is bounded by its item limit); forms by the same rule.
- The caller is authenticated before a byte of a JSON body is read: a request without valid credentials
  costs a database look-up, never a parse.
- A JSON body is parsed straight into its model by pydantic-core (`model_validate_json`): fields the model
  does not have are skipped, not built, so memory follows the bytes (`json.loads` first made about 24 bytes
  of Python objects per byte of `[{},{},...]`).

Streamed bodies (uploads) are not limited here: they go to disk, bounded by the upload limit and the quota.
"""

from __future__ import annotations

from fastapi import Request, Response
from fastapi.routing import APIRoute
from pydantic import BaseModel, ValidationError
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from phonecloud.core.errors import HeadersTooLarge
from phonecloud.core.http import InvalidBody, error_response
from phonecloud.core.streaming import drain_body

# The HTTP parser keeps no limit of its own; a tus Upload-Metadata with a 4096-character name fits well.
MAX_HEADER_BYTES = 64 << 10
# A JSON or form body whose model declares no limit of its own: an album, a notice, a few fields.
DEFAULT_BODY_LIMIT = 64 << 10

_FRIENDLIER = {  # pydantic-core's words for two hostile bodies, and what they mean to a client's author
    "recursion limit exceeded": "the JSON body is nested too deeply",
    "invalid unicode code point": "the JSON body is not valid UTF-8",
}


def body_limit(route) -> int | None:
    """The most bytes this route's body may have, or None when the route does not parse a body."""
    body_field = getattr(route, "body_field", None)
    if body_field is None:
        return None
    return getattr(body_field.field_info.annotation, "max_body_bytes", DEFAULT_BODY_LIMIT)


def _declared_length(scope: Scope) -> int | None:
    declared = next((value for name, value in scope["headers"] if name == b"content-length"), b"")
    return int(declared) if declared.isdigit() else None


def _too_large(limit: int, headers: dict[str, str]) -> StarletteHTTPException:
    # An HTTPException, because FastAPI turns any other error while reading the body into a 400.
    return StarletteHTTPException(413, f"request body larger than this endpoint's limit of {limit} bytes",
                                  headers=headers or None)


class RequestLimits:
    """ASGI middleware: the header block (431) and the parsed body of every route (413), answered in JSON."""

    def __init__(self, app: ASGIApp, max_header_bytes: int = MAX_HEADER_BYTES):
        self.app = app
        self.max_header_bytes = max_header_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        header_bytes = sum(len(name) + len(value) for name, value in scope["headers"])
        if header_bytes > self.max_header_bytes:
            error = HeadersTooLarge(f"request headers of {header_bytes} bytes exceed the limit of "
                                    f"{self.max_header_bytes} bytes", limit=self.max_header_bytes)
            return await error_response(error)(scope, receive, send)
        declared_length = _declared_length(scope) or 0
        received = 0

        async def bounded_receive() -> Message:
            nonlocal received
            message = await receive()
            # The route is known by the time its body is read; only bodies parsed in memory are bounded.
            limit = body_limit(scope.get("route"))
            if limit is None or message["type"] != "http.request":
                return message
            received += len(message.get("body", b""))
            if max(received, declared_length) > limit:
                closing = {}
                if message.get("more_body", False):
                    closing = await drain_body(_rest_of(receive), declared_length or None)
                raise _too_large(limit, closing)
            return message

        await self.app(scope, bounded_receive, send)


async def _rest_of(receive: Receive):
    """The rest of a body as the chunks drain_body reads."""
    while True:
        message = await receive()
        if message["type"] != "http.request":
            return
        yield message.get("body", b"")
        if not message.get("more_body", False):
            return


class _ModelBodyRequest(Request):
    """A request whose JSON body FastAPI reads through json(): parsed straight into the route's model."""

    def __init__(self, request: Request, model: type[BaseModel]):
        super().__init__(request.scope, request.receive)
        self._model = model

    async def json(self):
        if not hasattr(self, "_json"):
            try:
                self._json = self._model.model_validate_json(await self.body())
            except ValidationError as error:
                raise InvalidBody([_located(problem) for problem in
                                   error.errors(include_url=False, include_input=False)]) from None
        return self._json


def _located(problem: dict) -> dict:
    detail = str((problem.get("ctx") or {}).get("error", ""))
    friendlier = next((text for start, text in _FRIENDLIER.items() if detail.startswith(start)), None)
    if friendlier is not None:
        problem = {**problem, "msg": f"{friendlier} ({detail})"}
    return {**problem, "loc": ("body", *problem["loc"])}


def _authenticator(dependant):
    """The route's dependency that authenticates its caller (marked `authenticates_caller`), if any."""
    for sub in dependant.dependencies:
        if getattr(sub.call, "authenticates_caller", False):
            return sub.call
        if found := _authenticator(sub):
            return found
    return None


class ApiRoute(APIRoute):
    """Every API route: the caller authenticated before its JSON body is read, and the body parsed into its
    model without building what the model does not take."""

    def get_route_handler(self):
        handler = super().get_route_handler()
        model = self.body_field.field_info.annotation if self.body_field is not None else None
        if not (isinstance(model, type) and issubclass(model, BaseModel)):
            return handler
        authenticate = _authenticator(self.dependant)
        limit = body_limit(self)

        async def authenticated_first(request: Request) -> Response:
            if authenticate is not None:
                try:
                    await run_in_threadpool(authenticate, request)
                except Exception:
                    declared = _declared_length(request.scope)
                    if declared is not None and declared <= limit:  # read and dropped: the client reads the answer
                        await drain_body(request.stream(), declared)
                    raise
            return await handler(_ModelBodyRequest(request, model))

        return authenticated_first
