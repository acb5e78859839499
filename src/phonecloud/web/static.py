"""The pages' scripts, style sheet and icon, served from the package: one route per file, so that exactly
these files (and no path a request makes up) can be fetched, with an ETag for cheap revalidation."""

from __future__ import annotations

import hashlib
from pathlib import Path

from fastapi import APIRouter, Request, Response

STATIC = Path(__file__).resolve().parent / "static"
MEDIA_TYPES = {".css": "text/css; charset=utf-8", ".js": "text/javascript; charset=utf-8",
               ".svg": "image/svg+xml", ".txt": "text/plain; charset=utf-8"}


def _serve(body: bytes, media_type: str):
    etag = f'"{hashlib.sha256(body).hexdigest()[:20]}"'
    headers = {"ETag": etag, "Cache-Control": "no-cache", "X-Content-Type-Options": "nosniff"}

    def serve(request: Request) -> Response:
        if request.headers.get("if-none-match") == etag:
            return Response(status_code=304, headers=headers)
        return Response(body, media_type=media_type, headers=headers)

    return serve


def static_router(kind_folders: dict[str, Path]) -> APIRouter:
    """The shared files at /static/…, and each kind's (name -> its folder) at /static/{name}/…."""
    router = APIRouter(include_in_schema=False)
    for prefix, folder in {"/static": STATIC, **{f"/static/{name}": path for name, path in kind_folders.items()}}.items():
        for path in sorted(folder.rglob("*")):
            if path.is_file() and path.suffix in MEDIA_TYPES:
                router.add_api_route(f"{prefix}/{path.relative_to(folder).as_posix()}",
                                     _serve(path.read_bytes(), MEDIA_TYPES[path.suffix]), methods=["GET"])
    return router
