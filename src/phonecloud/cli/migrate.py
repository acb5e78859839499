"""`phonecloud admin migrate-storage`: copy this install's rows and blobs to another database and store."""

from __future__ import annotations

import hashlib

import typer

from phonecloud.cli.common import fail, require_server_extra


def migrate_storage(
    to_database: str = typer.Option(..., "--to-database", help="SQLAlchemy URL of the destination, e.g. "
                                    "postgresql+psycopg://phonecloud@db-host/phonecloud"),
    to_blobs: str = typer.Option(..., "--to-blobs", help="Blob URL of the destination, e.g. "
                                 "s3://bucket/prefix?endpoint=https://s3.example.org"),
    max_blobs: int | None = typer.Option(None, "--max-blobs", min=0,
                                         help="Copy at most this many blobs in this run, then stop (exit 3)"),
) -> None:
    """Copy every blob and row of this server (its settings: PHONECLOUD_DATA_DIR, ...) to the destination,
    hashing each blob and reading it back from there. Resumable: run it again after any interruption. Stop
    the servers for the final run; then point PHONECLOUD_DATABASE_URL and PHONECLOUD_BLOB_URL at the
    destination. Exits 0 when all is across and verified, 1 on problems, 3 when --max-blobs stopped it."""
    require_server_extra()
    from rich.console import Console

    from phonecloud.core.blobstore import open_blob_store
    from phonecloud.server.container import Services, kind_migrations
    from phonecloud.core.db import Database
    from phonecloud.core.sizes import format_size
    from phonecloud.maintenance.migrate_storage import StorageMigration

    source = Services.start()
    if (to_database, to_blobs) == (source.settings.resolved_database_url, source.settings.resolved_blob_url):
        fail("the destination is this server's own storage")
    try:
        target_db, target_blobs = Database(to_database), open_blob_store(to_blobs)
    except (ValueError, ImportError) as error:
        fail(f"cannot open the destination: {error}", 2)
    # One progress file per destination (named by a hash: the URLs may hold a password).
    name = hashlib.sha256(f"{to_database}\n{to_blobs}".encode()).hexdigest()[:16]
    progress = source.settings.resolved_data_dir / "migrate-storage" / f"{name}.sqlite3"
    console = Console(stderr=True, highlight=False)
    with console.status("copying blobs") as status:
        def on_blob(key: str, size: int) -> None:
            status.update(f"copied {key} ({format_size(size)})")

        migration = StorageMigration(source.db, source.blobs, target_db, target_blobs, progress,
                                     list(source.kinds.values()), kind_migrations())
        report = migration.run(max_blobs, on_blob)
    typer.echo(f"blobs: {report.blobs_copied} copied and verified ({format_size(report.bytes_copied)}), "
               f"{report.blobs_already_copied} already across; resumable uploads: {report.resumable_copied}")
    if not report.complete:
        typer.echo("stopped after --max-blobs; run the same command again to carry on")
        raise typer.Exit(3)
    typer.echo("rows: " + ", ".join(f"{table} {count}" for table, count in report.rows.items()))
    for problem in report.problems:
        typer.echo(f"problem: {problem}", err=True)
    if report.problems:
        raise typer.Exit(1)
    typer.echo("done: every blob and row is across and verified")
