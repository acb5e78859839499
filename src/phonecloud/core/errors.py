"""Errors that services raise and every interface (HTTP, CLI, jobs) reports the same way.

Each carries the HTTP status it maps to, a stable machine-readable code and a message for people; the
HTTP layer turns them into JSON answers, the CLI into a line on stderr and an exit code.
"""

from __future__ import annotations

from typing import Any


class PhonecloudError(Exception):
    status = 400
    code = "bad_request"

    def __init__(self, message: str, **details: Any):
        super().__init__(message)
        self.message = message
        self.details = details

    def to_json(self) -> dict[str, Any]:
        return {"error": self.code, "message": self.message, **self.details}


class BadRequest(PhonecloudError):
    pass


class Unauthorized(PhonecloudError):
    status = 401
    code = "unauthorized"


class Forbidden(PhonecloudError):
    status = 403
    code = "forbidden"


class NotFound(PhonecloudError):
    status = 404
    code = "not_found"


class Gone(PhonecloudError):
    status = 410
    code = "gone"


class Conflict(PhonecloudError):
    status = 409
    code = "conflict"


class PreconditionFailed(PhonecloudError):
    status = 412
    code = "precondition_failed"


class QuotaExceeded(PhonecloudError):
    status = 413
    code = "quota_exceeded"


class TooLarge(PhonecloudError):
    status = 413
    code = "too_large"


class HeadersTooLarge(PhonecloudError):
    status = 431
    code = "headers_too_large"


class UnsupportedMedia(PhonecloudError):
    status = 415
    code = "unsupported_media"


class RangeNotSatisfiable(PhonecloudError):
    status = 416
    code = "range_not_satisfiable"


class InsufficientStorage(PhonecloudError):
    status = 507
    code = "insufficient_storage"


class IntakeClosed(Forbidden):
    """This user may not add data of this kind now (their plan, their region's features, a retirement)."""

    code = "intake_closed"
