"""The caller of an API request: the FastAPI dependency every authenticated route takes."""

from __future__ import annotations

from fastapi import Request

from phonecloud.accounts.service import Principal
from phonecloud.core.errors import Unauthorized
from phonecloud.core.http import services

_PRINCIPAL = "phonecloud.principal"  # where a request keeps its caller once known


def current_principal(request: Request) -> Principal:
    """The caller, from `Authorization: Bearer <session token or API key>` (looked up once per request)."""
    known = request.scope.get(_PRINCIPAL)
    if known is not None:
        return known
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized("missing credentials: send 'Authorization: Bearer <API key or session token>'")
    principal = request.scope[_PRINCIPAL] = services(request).accounts.authenticate(token.strip())
    return principal


current_principal.authenticates_caller = True  # core.limits runs it before a route's body is read
