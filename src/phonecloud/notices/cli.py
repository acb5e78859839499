"""`phonecloud admin notice ...`: post, list and withdraw the notices shown on every page."""

from __future__ import annotations

import datetime as dt

import typer

from phonecloud.cli.common import fail, open_services

app = typer.Typer(help="Notices shown on every page of the web app (and to API clients).", no_args_is_help=True)
_MOMENT_FORMATS = ["%Y-%m-%d", "%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S"]


@app.command("post")
def post(
    message: str,
    level: str = typer.Option("info", help="info, warning or critical"),
    region: str | None = typer.Option(None, help="Only for users of this region (default: everyone)"),
    starts: dt.datetime | None = typer.Option(None, formats=_MOMENT_FORMATS, help="From then on, UTC (default: now)"),
    until: dt.datetime | None = typer.Option(None, formats=_MOMENT_FORMATS, help="Until then, UTC (default: until "
                                             "withdrawn)"),
) -> None:
    """Show MESSAGE on every page."""
    from phonecloud.core.errors import PhonecloudError

    try:
        notice = open_services().notices.post(message, level, region, starts, until)  # naive: UTC
    except PhonecloudError as error:
        fail(error.message)
    typer.echo(f"posted notice {notice.id} ({notice.level}, {notice.region or 'every region'})")


@app.command("list")
def list_notices() -> None:
    """Every notice, newest first, with its state."""
    now = dt.datetime.now(dt.UTC)
    for notice in open_services().notices.recent():
        if notice.withdrawn_at is not None:
            state = "withdrawn"
        elif notice.ends_at is not None and notice.ends_at <= now:
            state = "ended"
        else:
            state = "in force" if notice.starts_at <= now else "scheduled"
        typer.echo(f"{notice.id}\t{state}\t{notice.level}\t{notice.region or '*'}\t{notice.message}")


@app.command("withdraw")
def withdraw(notice_id: int) -> None:
    """Stop showing notice NOTICE_ID."""
    from phonecloud.core.errors import PhonecloudError

    try:
        open_services().notices.withdraw(notice_id)
    except PhonecloudError as error:
        fail(error.message)
    typer.echo(f"withdrew notice {notice_id}")
