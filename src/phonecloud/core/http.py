"""HTTP plumbing shared by every domain's routes: JSON errors, authentication, byte ranges."""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from phonecloud.accounts.service import Principal
from phonecloud.core.container import Services
from phonecloud.core.errors import PhonecloudError, RangeNotSatisfiable, Unauthorized

log = logging.getLogger("phonecloud")


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
            {"where": ".".join(str(part) for part in problem["loc"]), "problem": problem["msg"]}
            for problem in error.errors()
        ]
        message = "; ".join(f"{p['where']}: {p['problem']}" for p in problems) or "invalid request"
        return JSONResponse({"error": "invalid_request", "message": message, "problems": problems},
                            status_code=422)

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(_request: Request, error: StarletteHTTPException):
        code = {400: "invalid_request", 404: "not_found", 405: "method_not_allowed"}.get(error.status_code, "http_error")
        return JSONResponse({"error": code, "message": str(error.detail)}, status_code=error.status_code,
                            headers=getattr(error, "headers", None))

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, error: Exception):
        log.exception("unexpected error on %s %s", request.method, request.url.path)
        return JSONResponse({"error": "internal", "message": "internal server error; see the server log"},
                            status_code=500)


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
