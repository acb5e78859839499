"""`phonecloud migrate --to TARGET`: move the library straight into another service, verified item by item.
Same connection options as `phonecloud sync` for the library being moved."""

from __future__ import annotations

from pathlib import Path

import typer

from phonecloud.cli.client import KeyOption, ServerOption
from phonecloud.cli.common import fail
from phonecloud.cli.portability import JsonOption, TransfersOption, _api, _report, _run
from phonecloud.client.config import Connection

TARGETS = ("google-photos (with --google-client FILE), phonecloud or immich (with --to-server URL --to-key KEY), "
           "or rclone:REMOTE:PATH")
GOOGLE_CLIENT_ENV = "PHONECLOUD_GOOGLE_CLIENT"


def migrate(
    to: str = typer.Option(..., "--to", metavar="TARGET", help=f"Where to: {TARGETS}"),
    to_server: str | None = typer.Option(None, "--to-server", help="The target server's URL (phonecloud, immich)"),
    to_key: str | None = typer.Option(None, "--to-key", help="An API key of your account on the target server"),
    google_client: Path | None = typer.Option(None, "--google-client", envvar=GOOGLE_CLIENT_ENV, dir_okay=False,
                                              help="google-photos: your OAuth client's JSON file (a Google Cloud "
                                                   "project's Desktop app credentials)"),
    server: str | None = ServerOption,
    key: str | None = KeyOption,
    transfers: int = TransfersOption,
    dry_run: bool = typer.Option(False, "--dry-run", help="Say what would be sent and how big it is; send nothing"),
    json_output: bool = JsonOption,
) -> None:
    """Move the library into another service: every photo and video with its capture time, favourites,
    descriptions, trash and albums, each item read back on the target and recorded, so that running it
    again sends only what is missing or failed. rclone:REMOTE:PATH is a remote of your rclone config or a
    connection string such as rclone::webdav,url='http://host:8080':photos"""
    from phonecloud.client.config import client_dir
    from phonecloud.client.migrate.engine import migrate as run_migrate
    from phonecloud.client.migrate.record import MigrationRecord, record_path
    from phonecloud.client.migrate.source import ApiSource

    api = _api(server, key, transfers)

    def work(reporter):
        source = ApiSource(api)
        destination = _destination(to, to_server, to_key, google_client, source, transfers, reporter)
        record = MigrationRecord(record_path(client_dir(), api.connection, destination.identity))
        try:
            return run_migrate(source, destination, record, reporter, dry_run)
        finally:
            record.close()
            destination.close()

    summary = _run(api, "moving", work, ())
    for skip in summary.pop("skips"):
        typer.echo(f"  skipped {skip['path']}: {skip['reason']}", err=True)
    if dry_run:
        line = (f"would send {summary['to_send']} of {summary['items']} items ({summary['to_send_bytes']} bytes) to "
                f"{summary['target']}; already there {summary['already_there']}")
    else:
        line = (f"sent {summary['sent']} ({summary['bytes']} bytes) to {summary['target']}, verified "
                f"{summary['verified']}, already there {summary['already_there']}, albums {summary['albums']}, "
                f"skipped {summary['skipped']}, failed {summary['failed']}")
    _report(line, summary, json_output)


def _destination(to: str, to_server: str | None, to_key: str | None, google_client: Path | None, source,
                 transfers: int, reporter):
    if to == "google-photos":
        from phonecloud.client.migrate.google_auth import OAuthClient
        from phonecloud.client.migrate.to_google import GooglePhotosDestination

        if google_client is None:
            fail(f"--to google-photos needs --google-client FILE (or {GOOGLE_CLIENT_ENV}): the JSON file of a "
                 "Desktop app's OAuth credentials from your Google Cloud project, with the Photos Library API "
                 "enabled", 2)
        return GooglePhotosDestination(source, OAuthClient.from_file(google_client), transfers, reporter)
    if to in ("phonecloud", "immich"):
        if not (to_server and to_key):
            fail(f"--to {to} needs --to-server URL and --to-key KEY", 2)
        target = Connection(to_server.rstrip("/"), to_key)
        if target == source.api.connection:
            fail("the target is the library being moved: give another server or account", 2)
        if to == "immich":
            from phonecloud.client.migrate.to_immich import ImmichDestination

            return ImmichDestination(source, target.server, target.key, transfers, reporter)
        from phonecloud.client.migrate.to_phonecloud import PhonecloudDestination

        return PhonecloudDestination(source, target, transfers, reporter)
    if to.startswith("rclone:"):
        from phonecloud.client.migrate.to_rclone import RcloneDestination

        return RcloneDestination(source, to.removeprefix("rclone:"), transfers, reporter)
    fail(f"unknown target {to!r}: give {TARGETS}", 2)
