"""The web app's part of the ASGI application: its pages, its static files and the cookie bridge."""

from __future__ import annotations

from fastapi import FastAPI

from phonecloud.web import account, admin, albums, auth, export_page, library
from phonecloud.web.bridge import SessionCookieBridge
from phonecloud.web.static import static_router


def install_web(app: FastAPI) -> None:
    for module in (auth, library, albums, account, admin, export_page):
        app.include_router(module.router)
    app.include_router(static_router())
    app.add_middleware(SessionCookieBridge)
