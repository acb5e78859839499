"""The ASGI application: every domain's routes under /api/v1, over one set of services."""

from __future__ import annotations

from contextlib import asynccontextmanager

from fastapi import APIRouter, FastAPI

from phonecloud import __version__
from phonecloud.accounts.routes import router as accounts_router
from phonecloud.core.container import Services
from phonecloud.core.http import install_error_handlers
from phonecloud.core.settings import Settings
from phonecloud.gallery.routes import router as gallery_router

API_PREFIX = "/api/v1"


def create_app(settings: Settings | None = None) -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI):
        services = app.state.services = Services.start(settings)
        pool = services.workers(services.settings.embedded_workers)
        pool.start()  # the embedded default: jobs run inside this process, no other service needed
        try:
            yield
        finally:
            pool.stop()
            services.close()

    app = FastAPI(title="phonecloud", version=__version__, lifespan=lifespan,
                  openapi_url=f"{API_PREFIX}/openapi.json", docs_url=f"{API_PREFIX}/docs", redoc_url=None)
    install_error_handlers(app)

    api = APIRouter(prefix=API_PREFIX)

    @api.get("/health", tags=["server"])
    def health() -> dict[str, str]:
        return {"status": "ok"}

    api.include_router(accounts_router)
    api.include_router(gallery_router)
    app.include_router(api)
    return app
