"""Helpers shared by the CLI's commands."""

from __future__ import annotations

import importlib.util
import os
import sys
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

import typer

# What each optional storage needs, by the start of its URL: (extra, module it brings, setting).
_STORAGE_EXTRAS = (("postgresql", "postgres", "psycopg", "PHONECLOUD_DATABASE_URL"),
                   ("s3://", "s3", "boto3", "PHONECLOUD_BLOB_URL"))


def require_server_extra() -> None:
    """Exit with one line naming what to install when this command needs what is not installed: the server
    itself, or the extra of the database or blob store the settings name."""
    try:
        import fastapi  # noqa: F401
        import sqlalchemy  # noqa: F401
    except ImportError:
        fail("this command needs the server: pip install 'phonecloud[server]'", 2)
    from phonecloud.core.settings import Settings

    settings = Settings()
    urls = {"PHONECLOUD_DATABASE_URL": settings.resolved_database_url, "PHONECLOUD_BLOB_URL": settings.resolved_blob_url}
    for start, extra, module, setting in _STORAGE_EXTRAS:
        if urls[setting].startswith(start) and importlib.util.find_spec(module) is None:
            fail(f"{setting} names {start.rstrip(':/')} storage, which needs the {extra} extra: "
                 f"pip install 'phonecloud[{extra}]'", 2)


def open_services():
    """The server's services from the settings in the environment, for commands that work on its data."""
    require_server_extra()
    from phonecloud.server.container import Services

    return Services.start()


def fail(message: str, code: int = 1) -> None:
    print(f"error: {message}", file=sys.stderr)
    raise typer.Exit(code)


def attempt(action):
    """action(), or exit 1 with the service's own message when it refuses (a PhonecloudError)."""
    from phonecloud.core.errors import PhonecloudError

    try:
        return action()
    except PhonecloudError as error:
        fail(error.message)


def moment_option(text: str | None, name: str):
    """An ISO 8601 time given on the command line (UTC when it has no offset), or exit 2 naming it."""
    if text is None:
        return None
    from phonecloud.core.errors import PhonecloudError
    from phonecloud.core.dates import parse_moment

    try:
        return parse_moment(text, name)
    except PhonecloudError as error:
        fail(error.message, 2)


def size_option(text: str) -> int:
    from phonecloud.core.sizes import parse_size

    try:
        return parse_size(text)
    except ValueError as error:
        fail(str(error), 2)


# What a bookkeeping file of a command leaves beside it: SQLite's journals, a file written then renamed.
_BESIDE = ("", "-wal", "-shm", "-journal", ".tmp")


@contextmanager
def folder_removed_on_failure(folder: Path, own: Iterable[str] = ()) -> Iterator[None]:
    """For a command that makes `folder` (and its missing parents) to write into: when the command fails, the
    folders it made are removed again if they hold nothing but empty folders and the command's own
    bookkeeping files (named in `own`). A folder that was there before the command is never removed, nor one
    holding anything else (a download begun, a file someone put there)."""
    made, path = [], Path(os.path.abspath(folder))
    while not os.path.lexists(path) and path.parent != path:
        made.append(path)
        path = path.parent
    try:
        yield
    except BaseException as error:
        if made and not (isinstance(error, typer.Exit) and error.exit_code == 0):
            _remove_if_unused(made[-1], {name + suffix for name in own for suffix in _BESIDE})
        raise


def _remove_if_unused(top: Path, own: set[str]) -> None:
    try:
        entries = list(os.walk(top, topdown=False))
        if any(name not in own for _, _, files in entries for name in files):
            return
        for folder, _, files in entries:
            for name in files:
                os.unlink(os.path.join(folder, name))
            os.rmdir(folder)  # its subfolders are gone already (bottom-up); a symlink to a folder fails here
    except OSError:
        pass  # left as it is: never worth hiding the command's own failure
