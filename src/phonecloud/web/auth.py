"""Sign in and sign out: the API's session sign-in (with its throttling), kept in an HttpOnly cookie."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Form, Request

from phonecloud.accounts.routes import request_address
from phonecloud.accounts.service import Principal
from phonecloud.accounts.throttle import LoginThrottled
from phonecloud.core.db import utcnow
from phonecloud.core.errors import Unauthorized
from phonecloud.core.http import services
from phonecloud.web import session
from phonecloud.web.pages import SignInRequired, WebRoute, local_path, redirect, render, signed_in

router = APIRouter(route_class=WebRoute, include_in_schema=False)


@router.get("/signin")
def signin_page(request: Request, next: str = "/"):
    try:
        signed_in(request)
        return redirect(request, local_path(next))
    except SignInRequired:
        return render(request, "signin.html", None, next=local_path(next))


@router.post("/signin")
def signin(request: Request, email: str = Form(max_length=320), password: str = Form(max_length=1024),
           next: str = Form(default="/", max_length=2000)):
    try:
        token, expires = services(request).accounts.login(email, password, request_address(request))
    except LoginThrottled as refused:
        page = render(request, "signin.html", None, status=429, next=local_path(next), email=email,
                      error=refused.message)
        page.headers["Retry-After"] = str(refused.details["retry_after"])
        return page
    except Unauthorized as refused:
        return render(request, "signin.html", None, status=401, next=local_path(next), email=email,
                      error=refused.message)
    response = redirect(request, local_path(next))
    session.set_session(response, request, token, max_age=int((expires - utcnow()).total_seconds()))
    return response


@router.post("/signout")
def signout(request: Request, me: Principal = Depends(signed_in)):
    services(request).accounts.logout(me)
    response = redirect(request, "/signin", ok="You are signed out.")
    session.clear_session(response)
    return response
