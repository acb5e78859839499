"""HTTP plumbing shared by every domain's routes: JSON errors, request validation, byte ranges."""

from __future__ import annotations

import datetime as dt
import logging
import re
from urllib.parse import quote
from dataclasses import dataclass
from typing import Annotated

from fastapi import FastAPI, Path, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import AfterValidator, BaseModel, ConfigDict, ValidationInfo
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match

from phonecloud.core.dates import bounded
from phonecloud.core.errors import PhonecloudError, RangeNotSatisfiable

log = logging.getLogger("phonecloud")

# A database row id in a path or form: INTEGER keys are 32-bit on PostgreSQL (64 on SQLite); a larger value would
# overflow the column, so it gets a 422, not a 500.
ROW_ID_MAX = 2**31 - 1  # PostgreSQL's integer keys are 32-bit
RowId = Annotated[int, Path(ge=1, le=ROW_ID_MAX)]


def _bounded_moment(value: dt.datetime, info: ValidationInfo) -> dt.datetime:
    return bounded(value, info.field_name or "")  # a query parameter's name is in the problem's "where"


# A date and time in a query, form or JSON body: ISO 8601, UTC when it has no offset, within the years every
# part of the system can represent (core.dates); anything else is a 422 naming the field.
Moment = Annotated[dt.datetime, AfterValidator(_bounded_moment)]


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


def services(request: Request):
    """The running server's services (phonecloud.server.container.Services), as the app's lifespan built them."""
    return request.app.state.services


class InvalidBody(StarletteHTTPException):
    """A JSON body that does not parse into its model: answered exactly as FastAPI's own validation errors
    (an HTTPException, because FastAPI turns any other error while reading a body into a bare 400)."""

    def __init__(self, errors: list[dict]):
        super().__init__(422, "invalid request body")
        self.errors = errors


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
        return _validation_response(error.errors())

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, error: StarletteHTTPException):
        if isinstance(error, InvalidBody):
            return _validation_response(error.errors)
        code = {400: "invalid_request", 404: "not_found", 405: "method_not_allowed", 413: "too_large"}.get(
            error.status_code, "http_error")
        message = _BODY_PARSE_FAILURES.get(type(error.__cause__), str(error.detail))
        headers = getattr(error, "headers", None)
        if error.status_code == 405:  # every method of the path, not only those of the first route matched
            headers = {**(headers or {}), "Allow": ", ".join(allowed_methods(request.app, request.scope))}
        return JSONResponse({"error": code, "message": message}, status_code=error.status_code, headers=headers)

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


def _validation_response(errors: list[dict]) -> JSONResponse:
    problems = [{"where": ".".join(str(part) for part in problem["loc"]), "problem": _problem_text(problem)}
                for problem in errors]
    message = "; ".join(f"{p['where']}: {p['problem']}" for p in problems) or "invalid request"
    return JSONResponse({"error": "invalid_request", "message": message, "problems": problems}, status_code=422)


def _problem_text(problem: dict) -> str:
    """Pydantic's message, plus the JSON decoder's own words (which character, where) when it has them."""
    detail = str((problem.get("ctx") or {}).get("error") or "")
    if problem.get("type") != "json_invalid" or not detail or detail in problem["msg"]:
        return problem["msg"]
    return f"{problem['msg']}: {detail}"


_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")


def allowed_methods(app, scope) -> list[str]:
    """Every method some route answers at this path (HEAD wherever GET is: see core.head)."""
    allowed = {method for method in _METHODS for route in app.router.routes
               if route.matches({**scope, "method": method})[0] == Match.FULL}
    if "GET" in allowed:
        allowed.add("HEAD")
    return [method for method in _METHODS if method in allowed]


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


@dataclass(frozen=True)
class RangedAnswer:
    """What a download of `size` bytes answers to a request's Range and If-Range: the status, the headers,
    and the stretch [start, end) of the bytes to send."""

    status: int
    headers: dict[str, str]
    start: int
    end: int


def ranged_answer(request: Request, size: int, etag: str, filename: str, cache_control: str) -> RangedAnswer:
    """One range of a file (or all of it when not asked for, or when If-Range names another version)."""
    if_range = request.headers.get("if-range")
    wanted = parse_range(request.headers.get("range"), size) if if_range in (None, etag) else None
    start, end = (wanted.start, wanted.end) if wanted else (0, size)
    headers = {
        "Accept-Ranges": "bytes",
        "ETag": etag,
        "Content-Length": str(end - start),
        "Content-Disposition": f"attachment; filename*=UTF-8''{quote(filename)}",
        "Cache-Control": cache_control,
    }
    if wanted:
        headers["Content-Range"] = f"bytes {start}-{end - 1}/{size}"
    return RangedAnswer(206 if wanted else 200, headers, start, end)
