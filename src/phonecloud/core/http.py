"""HTTP plumbing shared by every domain's routes: JSON errors, authentication, byte ranges."""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from typing import Annotated

from fastapi import FastAPI, Path, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from phonecloud.accounts.service import Principal
from phonecloud.core.container import Services
from phonecloud.core.errors import HeadersTooLarge, PhonecloudError, RangeNotSatisfiable, Unauthorized

log = logging.getLogger("phonecloud")

# The HTTP parser keeps no limit of its own; a tus Upload-Metadata with a 4096-character name fits well.
MAX_HEADER_BYTES = 64 << 10
# Bodies that FastAPI parses in memory (JSON); 10,000 check items with long client ids fit well.
MAX_PARSED_BODY = 16 << 20
# A database row id in a path or form: INTEGER keys are 32-bit on PostgreSQL (64 on SQLite); a larger value would
# overflow the column, so it gets a 422, not a 500.
ROW_ID_MAX = 2**31 - 1  # PostgreSQL's integer keys are 32-bit
RowId = Annotated[int, Path(ge=1, le=ROW_ID_MAX)]

# An oversized parsed body is still read and dropped up to this much, so the client reads the answer.
_DRAIN_LIMIT = 64 << 20


class ErrorOut(BaseModel):
    """Every error answer: a stable code, a message for people, and details that depend on the error."""

    model_config = ConfigDict(extra="allow")
    error: str
    message: str


# What any API operation may answer besides its own results, described once for the OpenAPI schema.
ERROR_RESPONSES = {status: {"model": ErrorOut, "description": description} for status, description in {
    400: "Malformed request (the message says what is wrong)",
    401: "Missing, invalid, expired or revoked credentials",
    403: "Not allowed to this account",
    404: "No such object for this account",
    413: "Body larger than allowed (the server's limit, the quota, or this endpoint's limit)",
    422: "Invalid parameters or body (problems lists each one)",
    431: "Request headers too large",
}.items()}


def services(request: Request) -> Services:
    return request.app.state.services


def current_principal(request: Request) -> Principal:
    """The caller, from `Authorization: Bearer <session token or API key>`."""
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized("missing credentials: send 'Authorization: Bearer <API key or session token>'")
    return services(request).accounts.authenticate(token.strip())


def error_response(error: PhonecloudError, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse(error.to_json(), status_code=error.status, headers=headers)


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(PhonecloudError)
    async def _domain_error(_request: Request, error: PhonecloudError):
        headers = {"WWW-Authenticate": "Bearer"} if error.status == 401 else None
        if isinstance(error, RangeNotSatisfiable):
            headers = {"Content-Range": f"bytes */{error.details['size']}"}
        return error_response(error, headers)

    @app.exception_handler(RequestValidationError)
    async def _invalid_request(_request: Request, error: RequestValidationError):
        problems = [
            {"where": ".".join(str(part) for part in problem["loc"]), "problem": _problem_text(problem)}
            for problem in error.errors()
        ]
        message = "; ".join(f"{p['where']}: {p['problem']}" for p in problems) or "invalid request"
        return JSONResponse({"error": "invalid_request", "message": message, "problems": problems},
                            status_code=422)

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(_request: Request, error: StarletteHTTPException):
        code = {400: "invalid_request", 404: "not_found", 405: "method_not_allowed", 413: "too_large"}.get(
            error.status_code, "http_error")
        message = _BODY_PARSE_FAILURES.get(type(error.__cause__), str(error.detail))
        return JSONResponse({"error": code, "message": message}, status_code=error.status_code,
                            headers=getattr(error, "headers", None))

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, error: Exception):
        log.exception("unexpected error on %s %s", request.method, request.url.path)
        return JSONResponse({"error": "internal", "message": "internal server error; see the server log"},
                            status_code=500)


# FastAPI answers "There was an error parsing the body" whatever the reason; these name it.
_BODY_PARSE_FAILURES = {
    RecursionError: "the JSON body is nested too deeply",
    UnicodeDecodeError: "the JSON body is not valid UTF-8",
}


def _problem_text(problem: dict) -> str:
    """Pydantic's message, plus the JSON decoder's own words (which character, where) when it has them."""
    detail = (problem.get("ctx") or {}).get("error")
    return f"{problem['msg']}: {detail}" if problem.get("type") == "json_invalid" and detail else problem["msg"]


class RequestLimits:
    """Bounds what one request can make the server hold in memory, answering in JSON like every error:
    the header block (431), and the body of routes that FastAPI parses in memory (413). Streamed bodies
    (uploads) are not limited here: they go to disk, bounded by the upload limit and the quota."""

    def __init__(self, app: ASGIApp, max_header_bytes: int = MAX_HEADER_BYTES,
                 max_parsed_body: int = MAX_PARSED_BODY):
        self.app = app
        self.max_header_bytes = max_header_bytes
        self.max_parsed_body = max_parsed_body

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        header_bytes = sum(len(name) + len(value) for name, value in scope["headers"])
        if header_bytes > self.max_header_bytes:
            error = HeadersTooLarge(f"request headers of {header_bytes} bytes exceed the limit of "
                                    f"{self.max_header_bytes} bytes", limit=self.max_header_bytes)
            return await error_response(error)(scope, receive, send)
        declared = next((value for name, value in scope["headers"] if name == b"content-length"), b"")
        declared_length = int(declared) if declared.isdigit() else 0
        received = 0

        async def bounded_receive() -> Message:
            nonlocal received
            message = await receive()
            # The route is known by the time its body is read; only in-memory parsing is bounded.
            if getattr(scope.get("route"), "body_field", None) is None or message["type"] != "http.request":
                return message
            received += len(message.get("body", b""))
            if max(received, declared_length) > self.max_parsed_body:
                if message.get("more_body", False) and declared_length <= _DRAIN_LIMIT:
                    await _drain_receive(receive, received)
                # An HTTPException, because FastAPI turns any other error while reading the body into a 400.
                raise StarletteHTTPException(413, f"request body larger than this endpoint's limit of "
                                                  f"{self.max_parsed_body} bytes")
            return message

        await self.app(scope, bounded_receive, send)


async def _drain_receive(receive: Receive, received: int) -> None:
    """Read and drop the rest of a refused body (up to a limit) before answering, so that the client
    reads the answer rather than a connection reset while it is still sending."""
    while received <= _DRAIN_LIMIT:
        message = await receive()
        if message["type"] != "http.request" or not message.get("more_body", False):
            return
        received += len(message.get("body", b""))


def install_request_limits(app: FastAPI) -> None:
    app.add_middleware(RequestLimits)


@dataclass(frozen=True)
class ByteRange:
    start: int
    end: int  # exclusive

    @property
    def length(self) -> int:
        return self.end - self.start


_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")


def parse_range(header: str | None, size: int) -> ByteRange | None:
    """The single byte range asked for, None for the whole body (no header, or several ranges: RFC 9110
    lets a server ignore a Range it does not support); RangeNotSatisfiable when it lies outside."""
    if not header:
        return None
    match = _RANGE.match(header.strip())
    if match is None:
        if header.strip().startswith("bytes=") and "," in header:
            return None
        raise RangeNotSatisfiable(f"malformed Range header {header!r}", size=size)
    first, last = match.groups()
    if not first and not last:
        raise RangeNotSatisfiable(f"malformed Range header {header!r}", size=size)
    if not first:  # suffix: the last N bytes
        suffix = int(last)
        if suffix == 0:
            raise RangeNotSatisfiable("empty suffix range", size=size)
        return ByteRange(max(0, size - suffix), size)
    start = int(first)
    end = size if not last else min(size, int(last) + 1)
    if start >= size or (last and int(last) < start):
        raise RangeNotSatisfiable(f"range {header!r} is outside the {size} bytes of the file", size=size)
    return ByteRange(start, end)
