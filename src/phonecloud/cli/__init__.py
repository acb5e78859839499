"""The `phonecloud` command. Server commands import the server's packages only when run, so that the
base install (the sync client alone) works without them."""

from __future__ import annotations

import typer
from typer.core import TyperArgument, TyperGroup

from phonecloud.cli import admin, client, contacts, messages, portability, server, worker
from phonecloud.cli import leave, migrate


class _NamedArgument(TyperArgument):
    """An argument shown as its metavar in capitals, as in the commands' own help (`sync [OPTIONS] FOLDERS...`,
    `create-user [OPTIONS] EMAIL`), rather than Typer's `{folders}...`; optional ones in brackets."""

    def make_metavar(self, ctx=None, *, usage: bool = False) -> str:
        shown = self.metavar or (self.name or "").upper()
        if self.nargs != 1 and not shown.endswith("..."):
            shown += "..."
        return f"[{shown}]" if usage and not self.required and not shown.startswith("[") else shown


def _name_arguments(command) -> None:
    """Every argument of command and of its subcommands, at any depth, shown by its name in capitals."""
    for param in command.params:
        if type(param) is TyperArgument:
            param.__class__ = _NamedArgument
            if param.metavar is None:
                param.metavar = (param.name or "").upper()
    for subcommand in getattr(command, "commands", {}).values():
        _name_arguments(subcommand)


class _Group(TyperGroup):
    """The `phonecloud` group: made once every command is (sub-groups come to it built), it names the
    arguments of all of them."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        _name_arguments(self)


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("phonecloud")
    except PackageNotFoundError:  # run from a source tree that is not installed
        from phonecloud import __version__

        return __version__


def _print_version(asked: bool) -> None:
    if asked:
        typer.echo(f"phonecloud {_version()}")
        raise typer.Exit()


app = typer.Typer(cls=_Group, help="phonecloud: back up a phone's photos and videos to a server you run.",
                  no_args_is_help=True, pretty_exceptions_enable=False, add_completion=False)


@app.callback()
def _options(version: bool = typer.Option(False, "--version", callback=_print_version, is_eager=True,
                                          help="Print phonecloud's version and exit")) -> None:
    pass


app.command()(server.serve)
app.command()(worker.worker)
app.add_typer(admin.app, name="admin")
admin.app.command("migrate-storage")(migrate.migrate_storage)  # in a module of its own: a long command
app.command()(client.login)
app.command()(client.sync)
app.command()(portability.export)
app.command()(portability.pull)
app.command("import-export")(portability.import_export)
app.command("migrate")(leave.migrate)
app.add_typer(portability.import_app, name="import")
app.add_typer(messages.app, name="messages")
app.add_typer(contacts.app, name="contacts")


def main() -> None:
    app()
