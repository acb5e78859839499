"""The web app's part of the ASGI application: its pages, every data kind's pages, its static files and the
cookie bridge."""

from __future__ import annotations

from collections.abc import Sequence

from fastapi import FastAPI

from phonecloud.core.kinds import Kind
from phonecloud.web import account, admin, auth, client_download, export_page, operator, pages, retirement_pages
from phonecloud.web import unsubscribe
from phonecloud.web.bridge import SessionCookieBridge
from phonecloud.web.static import static_router


def install_web(app: FastAPI, kinds: Sequence[Kind]) -> None:
    pages.add_kinds(kinds)
    app.include_router(auth.router)
    for kind in kinds:
        for router in kind.web_routers():
            app.include_router(router)
    for module in (account, admin, operator, retirement_pages, export_page, unsubscribe, client_download):
        app.include_router(module.router)
    app.include_router(static_router({kind.name: kind.static for kind in kinds if kind.static is not None}))
    app.add_middleware(SessionCookieBridge)
