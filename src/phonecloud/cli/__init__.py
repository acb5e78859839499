"""The `phonecloud` command. Server commands import the server's packages only when run, so that the
base install (the sync client alone) works without them."""

from __future__ import annotations

import typer

from phonecloud.cli import admin, client, contacts, messages, portability, server, worker
from phonecloud.cli import leave, migrate

app = typer.Typer(help="phonecloud: back up a phone's photos and videos to a server you run.",
                  no_args_is_help=True, pretty_exceptions_enable=False, add_completion=False)
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
