"""Helpers shared by the CLI's commands."""

from __future__ import annotations

import sys

import typer


def require_server_extra() -> None:
    try:
        import fastapi  # noqa: F401
        import sqlalchemy  # noqa: F401
    except ImportError:
        typer.echo("this command needs the server: pip install 'phonecloud[server]'", err=True)
        raise typer.Exit(2) from None


def fail(message: str, code: int = 1) -> None:
    print(f"error: {message}", file=sys.stderr)
    raise typer.Exit(code)
