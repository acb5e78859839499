"""`phonecloud contacts import FILE.vcf...`, `phonecloud contacts export --out FILE` and `phonecloud contacts
books`: .vcf files of any phone or program brought into an address book on the server, and the contacts given
back as one .vcf file (vCard 4.0, or 3.0 for older phones). Same connection options as `phonecloud sync`."""

from __future__ import annotations

import enum
import json
import os
import stat
from pathlib import Path

import typer

from phonecloud.cli.client import KeyOption, ServerOption
from phonecloud.cli.common import fail
from phonecloud.cli.portability import JsonOption, _api
from phonecloud.client.config import resolve_connection

app = typer.Typer(help="Contacts: import .vcf files of any phone or program, export them as one .vcf file.",
                  no_args_is_help=True)
BookOption = typer.Option(None, "--book", help="The address book: its id, or its name as `phonecloud contacts "
                          "books` lists it (by default your first address book)")
_COUNTS = ("cards", "imported", "updated", "duplicates")


class Version(str, enum.Enum):
    v4 = "4.0"
    v3 = "3.0"


def _connected(server: str | None, key: str | None):
    """The API, once the server has answered with this key: an unreachable server or a refused key is one
    error for the whole command, said once (not once per file, after the retries of each)."""
    from phonecloud.client.errors import ServerError

    api = _api(server, key)
    try:
        api.me()
    except ServerError as error:
        api.close()
        fail(str(error))
    return api


def _book(api, wanted: str | None) -> int | None:
    from phonecloud.client.contacts import UnknownBook, book_id
    from phonecloud.client.errors import ServerError

    try:
        return book_id(api, wanted)
    except (UnknownBook, ServerError) as error:
        api.close()
        fail(str(error))


@app.command("import")
def import_files(
    files: list[Path] = typer.Argument(..., help=".vcf files (vCard 2.1, 3.0 or 4.0, as any phone, Google, "
                                       "Outlook or Thunderbird writes them)"),
    server: str | None = ServerOption,
    key: str | None = KeyOption,
    book: str | None = BookOption,
    json_output: bool = JsonOption,
) -> None:
    """Import .vcf files into an address book on the server.

    Each file is sent as it is read, and the command says how many contacts it held, how many were new, how
    many changed and how many were already there: importing a file again adds nothing. A file that cannot be
    imported is named with the reason (and the line, for a file the server cannot read); the other files
    still go, and the exit code is 1."""
    from phonecloud.client.contacts import import_api, said

    api = _connected(server, key)
    target = _book(api, book)
    api.close()
    sender = import_api(resolve_connection(server, key))
    totals = {"files": len(files), **dict.fromkeys(_COUNTS, 0), "failed": 0}
    try:
        for path in files:
            shown = str(path)
            try:
                result = _import_one(sender, path, target)
            except _Failed as failure:
                totals["failed"] += 1
                typer.echo(f"error: {shown}: {failure}", err=True)
                continue
            for count in _COUNTS:
                totals[count] += result[count]
            typer.echo(f"{shown}: {said(result)}", err=json_output)
    finally:
        sender.close()
    if json_output:
        typer.echo(json.dumps(totals))
    if totals["failed"]:
        raise typer.Exit(1)


class _Failed(Exception):
    """Why one file was not imported: a line for the person."""


def _import_one(api, path: Path, book: int | None) -> dict:
    from phonecloud.client.contacts import NotAVCard, import_vcards, sniff_file
    from phonecloud.client.errors import ServerError
    from phonecloud.client.sync.scan import FileChanged, file_chunks
    from phonecloud.core.dates import storable_nanoseconds

    try:
        status = path.stat()
    except FileNotFoundError:
        raise _Failed("no such file") from None
    except OSError as error:
        raise _Failed(f"cannot read it: {error.strerror}") from None
    if stat.S_ISDIR(status.st_mode):
        raise _Failed("a folder, not a .vcf file (name the files in it: FOLDER/*.vcf)")
    if not stat.S_ISREG(status.st_mode):
        raise _Failed("not a regular file")
    mtime_ns = storable_nanoseconds(status.st_mtime_ns)  # as file_chunks compares it
    try:
        sniff_file(path)
        return import_vcards(api, lambda: file_chunks(path, status.st_size, mtime_ns), status.st_size, book)
    except NotAVCard as error:
        raise _Failed(str(error)) from None
    except ServerError as error:
        if error.transient:  # the network, a timeout, a proxy that gave up waiting: it is sent once (import_api)
            raise _Failed(f"{error}; the server may still be importing it: run the command again later (what "
                          "it has imported is then counted as already there)") from None
        raise _Failed(f"refused by the server: {error}") from None
    except FileChanged:
        raise _Failed("it changed while it was being sent; import it again") from None
    except OSError as error:
        raise _Failed(f"cannot read it: {error.strerror or error}") from None


@app.command("export")
def export_file(
    out: Path = typer.Option(..., "--out", help="The .vcf file to write (replaced if it exists), or a folder "
                             "to write it into under the address book's name"),
    book: str | None = typer.Option(None, "--book", help="Only this address book (its id, or its name as "
                                    "`phonecloud contacts books` lists it; by default every address book)"),
    version: Version = typer.Option(Version.v4, "--version", help="vCard 4.0, or 3.0 for older phones and programs"),
    server: str | None = ServerOption,
    key: str | None = KeyOption,
    json_output: bool = JsonOption,
) -> None:
    """Write your contacts into one .vcf file.

    To import on a phone or into any address book program. The file appears only when it is whole."""
    from phonecloud.client.contacts import export_vcards
    from phonecloud.client.errors import ServerError

    api = _connected(server, key)
    target = _book(api, book)
    try:
        final, size, cards = export_vcards(api, out, target, version.value)
    except ServerError as error:
        fail(str(error))
    except OSError as error:
        fail(f"cannot write {out}: {error.strerror or error}")
    finally:
        api.close()
    typer.echo(f"wrote {cards} contact{'' if cards == 1 else 's'} to {final} (vCard {version.value}, {size} bytes)",
               err=json_output)
    if json_output:
        typer.echo(json.dumps({"file": os.fspath(final), "contacts": cards, "bytes": size, "version": version.value}))


@app.command("books")
def list_books(
    server: str | None = ServerOption,
    key: str | None = KeyOption,
    json_output: bool = typer.Option(False, "--json", help="Print the address books as JSON"),
) -> None:
    """List your address books.

    Each with its id, name, how many contacts it holds, and the address a phone syncs it with (CardDAV)."""
    from phonecloud.client.contacts import books
    from phonecloud.client.errors import ServerError

    api = _connected(server, key)
    try:
        listed = books(api)
    except ServerError as error:
        fail(str(error))
    finally:
        api.close()
    if json_output:
        typer.echo(json.dumps(listed, ensure_ascii=False))
        return
    for book in listed:
        typer.echo(f"{book['id']}\t{book['name']} ({book['slug']})\t{book['contacts']} contacts\t{book['carddav_url']}")
