"""The ASGI application: every domain's and every data kind's routes under /api/v1, and the web pages, over one
set of services."""

from __future__ import annotations

import gc
from contextlib import asynccontextmanager

from fastapi import APIRouter, FastAPI

from phonecloud import __version__
from phonecloud.accounts.routes import router as accounts_router
from phonecloud.core.allocator import keep_freed_memory
from phonecloud.core.head import HeadAndNoSniff
from phonecloud.core.http import ERROR_RESPONSES, install_error_handlers
from phonecloud.core.limits import ApiRoute, RequestLimits
from phonecloud.core.settings import Settings
from phonecloud.immich.routes import discovery as immich_discovery
from phonecloud.immich.routes import router as immich_router
from phonecloud.notices.routes import router as notices_router
from phonecloud.plans.routes import router as plans_router
from phonecloud.portability.routes import router as portability_router
from phonecloud.regions.routes import router as regions_router
from phonecloud.retirement.routes import router as retirement_router
from phonecloud.server.container import Services
from phonecloud.server.kinds import KINDS
from phonecloud.uploads.routes import router as uploads_router
from phonecloud.web.app import install_web

API_PREFIX = "/api/v1"


def create_app(settings: Settings | None = None) -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI):
        services = app.state.services = Services.start(settings)
        services.recovery().run()  # before the first request: what a crash left is put right
        services.uploads.expire_due()  # resumable uploads that expired while the server was down
        pool = app.state.workers = services.workers(services.settings.embedded_workers)
        pool.start()  # the embedded default: jobs run inside this process, no other service needed
        # What startup built lives as long as the process: out of the collector's sight, a full collection
        # takes 1 ms instead of 60 ms (which every few dozen listings of 200 assets used to wait for).
        gc.freeze()
        keep_freed_memory()
        try:
            yield
        finally:
            pool.stop()
            services.close()

    app = FastAPI(title="phonecloud", version=__version__, lifespan=lifespan,
                  openapi_url=f"{API_PREFIX}/openapi.json", docs_url=f"{API_PREFIX}/docs", redoc_url=None)
    install_error_handlers(app)
    app.add_middleware(RequestLimits)

    api = APIRouter(prefix=API_PREFIX, responses=ERROR_RESPONSES, route_class=ApiRoute)

    @api.get("/health", tags=["server"])
    def health() -> dict[str, str]:
        return {"status": "ok"}

    api.include_router(accounts_router)
    for kind in KINDS:
        for router in kind.api_routers():
            api.include_router(router)
    api.include_router(portability_router)
    api.include_router(uploads_router)
    api.include_router(notices_router)
    api.include_router(plans_router)
    api.include_router(regions_router)
    api.include_router(retirement_router)
    app.include_router(api)
    app.include_router(immich_discovery)  # Immich's clients back up here too (phonecloud.immich)
    app.include_router(immich_router)
    for kind in KINDS:
        for path, mounted in kind.mounts():
            app.mount(path, mounted)
    install_web(app, KINDS)  # the web pages at /, over the same services
    app.add_middleware(HeadAndNoSniff)  # outermost: a HEAD runs the GET route, whatever is in between
    return app
