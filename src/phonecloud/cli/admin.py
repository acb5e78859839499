"""`phonecloud admin ...`: operator commands that work on the server's database directly."""

from __future__ import annotations

import typer

from phonecloud.cli.common import fail, require_server_extra

app = typer.Typer(help="Manage users and keys on this server (uses the server's settings).", no_args_is_help=True)


def _services():
    require_server_extra()
    from phonecloud.core.container import Services

    return Services.start()


def _size(text: str) -> int:
    from phonecloud.core.sizes import parse_size

    try:
        return parse_size(text)
    except ValueError as error:
        fail(str(error), 2)


@app.command("create-user")
def create_user(
    email: str,
    password: str = typer.Option(..., help="At least 8 characters"),
    quota: str | None = typer.Option(None, help="Storage quota such as 5GiB (default: the server's default)"),
    admin: bool = typer.Option(False, "--admin", help="Make the user an administrator"),
) -> None:
    """Create a user who can sign in with EMAIL and PASSWORD."""
    from phonecloud.core.errors import PhonecloudError
    from phonecloud.core.sizes import format_size

    services = _services()
    try:
        user = services.accounts.create_user(email, password, _size(quota) if quota else None, admin)
    except PhonecloudError as error:
        fail(error.message)
    typer.echo(f"created {'admin ' if user.is_admin else ''}user {user.email} with a quota of "
               f"{format_size(user.quota_bytes)}")


@app.command("create-key")
def create_key(email: str, name: str = typer.Option("sync client", help="The device's name")) -> None:
    """Create an API key for a device of EMAIL's; the key is printed alone on the last line."""
    from phonecloud.core.errors import PhonecloudError

    services = _services()
    try:
        issued = services.accounts.create_api_key(services.accounts.user_by_email(email).id, name)
    except PhonecloudError as error:
        fail(error.message)
    typer.echo(f"API key for device {issued.device_name!r} of {email} (shown once; keep it secret):")
    typer.echo(issued.key)


@app.command("set-quota")
def set_quota(email: str, quota: str) -> None:
    """Set EMAIL's storage quota, e.g. 50GiB."""
    from phonecloud.core.errors import PhonecloudError
    from phonecloud.core.sizes import format_size

    services = _services()
    try:
        user = services.accounts.set_quota(email, _size(quota))
    except PhonecloudError as error:
        fail(error.message)
    typer.echo(f"{user.email}: quota {format_size(user.quota_bytes)}, {format_size(user.used_bytes)} used")


@app.command("ensure-admin")
def ensure_admin(email: str = typer.Option("admin@localhost")) -> None:
    """Create a first admin with a random password if the server has no user yet (used by `make run`)."""
    import secrets

    services = _services()
    if services.accounts.count_users():
        typer.echo("users exist already; nothing to do")
        return
    password = secrets.token_urlsafe(12)
    services.accounts.create_user(email, password, is_admin=True)
    typer.echo(f"created the first admin: {email} with password {password} (shown once; keep it)")
    typer.echo(f"make a key for the sync client with: .venv/bin/phonecloud admin create-key {email} --name my-phone")


@app.command("jobs")
def jobs(
    retry_failed: bool = typer.Option(False, "--retry-failed", help="Queue failed jobs again with fresh attempts"),
) -> None:
    """Background jobs by kind and state, and the latest failures with their errors."""
    from rich.console import Console
    from rich.table import Table

    services = _services()
    if retry_failed:
        typer.echo(f"queued {services.jobs.retry_failed()} failed jobs again")
    counts = services.jobs.counts()
    table = Table("kind", "queued", "running", "done", "failed")
    for kind in sorted({kind for kind, _ in counts}):
        table.add_row(kind, *(str(counts.get((kind, state), 0)) for state in ("queued", "running", "done", "failed")))
    console = Console()
    console.print(table)
    for job in services.jobs.failures(limit=20):
        console.print(f"failed {job.kind} {job.subject} after {job.attempts} attempts: {job.last_error}",
                      markup=False, highlight=False)
