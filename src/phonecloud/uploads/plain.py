"""A plain upload (the raw request body) into a destination of the general intake, as every kind's upload
route takes one: checked before a byte is read, streamed into staging within the owner's quota, stored
durably before the answer."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Protocol

import anyio
from fastapi import Request, Response
from starlette.requests import ClientDisconnect

from phonecloud.accounts.quota import SMALL_UPLOAD
from phonecloud.accounts.service import Principal
from phonecloud.core.errors import BadRequest, PhonecloudError
from phonecloud.core.http import error_response
from phonecloud.core.streaming import drain_body, receive_into
from phonecloud.uploads.intake import Destination, Finished, IntakeMeta


class WrappedBody(Protocol):
    """A request body that holds the file among other things (a multipart form)."""

    def file_bytes(self, body: AsyncIterator[bytes]) -> AsyncIterator[bytes]:
        """The file's bytes, out of the body as it arrives (raising BadRequest for a malformed body)."""

    def settled(self, meta: IntakeMeta) -> IntakeMeta:
        """Once the whole body is in: the meta it declares, from what was declared before it."""


async def take_plain_upload(request: Request, destination: Destination, principal: Principal, meta: IntakeMeta,
                            check_room: Callable[[int], None],
                            form: WrappedBody | None = None) -> Finished | Response:
    """The stored item, or the error's answer (a refused body is drained first, so the client reads it).
    check_room(expected size) refuses early a body announced too large for the owner's quota. form: when
    the file is wrapped in the body (a multipart form), what takes it out, and the meta that the whole
    body declares (checked again before the item is stored)."""
    length = request.headers.get("content-length", "")
    declared_length = int(length) if length.isdigit() else None
    body = request.stream()
    staged = None
    try:
        destination.check(principal, meta)
        expected = declared_length if declared_length is not None else meta.declared_size
        if expected and expected > SMALL_UPLOAD:  # below, a refusal costs less than the look-up that would make it early
            await anyio.to_thread.run_sync(check_room, expected)
        staged = destination.stage(principal, meta, expected)
        last_batch = await receive_into(body if form is None else form.file_bytes(body), staged)
        if form is not None:
            meta = form.settled(meta)
            destination.check(principal, meta)
        return await anyio.to_thread.run_sync(destination.finish, principal, staged, meta, last_batch)
    except ClientDisconnect:
        if staged is not None:
            staged.abort()
        return error_response(BadRequest("the client disconnected before the whole body arrived"))
    except PhonecloudError as error:
        if staged is not None:
            staged.abort()
        return error_response(error, await drain_body(body, declared_length))
    except BaseException:
        if staged is not None:
            staged.abort()
        raise
