"""`phonecloud serve`."""

from __future__ import annotations

import typer

from phonecloud.cli.common import require_server_extra


def serve(
    host: str = typer.Option("127.0.0.1", help="Address to listen on"),
    port: int = typer.Option(8000, help="Port to listen on"),
    access_log: bool = typer.Option(False, "--access-log", help="Log every request"),
) -> None:
    """Serve the API and the web app with the settings from the environment."""
    require_server_extra()
    import uvicorn

    from phonecloud.server.app import create_app

    uvicorn.run(create_app(), host=host, port=port, access_log=access_log, proxy_headers=False,
                timeout_keep_alive=30, log_level="info")
