"""`phonecloud admin notice ...`: post notices to an audience (in the app, the API, the sync client and by
email), list and withdraw them, and see what became of their emails."""

from __future__ import annotations

import json

import typer

from phonecloud.cli.common import attempt, moment_option, open_services

app = typer.Typer(help="Notices to users: in the web app, the API, the sync client, and by email.",
                  no_args_is_help=True)


@app.command("post")
def post(
    message: str,
    level: str = typer.Option("info", help="info, warning or critical"),
    region: str | None = typer.Option(None, help="Only for users of this country (ISO 3166-1 alpha-2)"),
    group: str | None = typer.Option(None, "--group", help="Only for users of this region group"),
    plan: str | None = typer.Option(None, "--plan", help="Only for this plan's members"),
    kind: str | None = typer.Option(None, "--kind", help="Only for users who keep data of this kind"),
    email: bool = typer.Option(False, "--email", help="Also send it by email (PHONECLOUD_SMTP_URL)"),
    required: bool = typer.Option(False, "--required", help="Legally required: emailed even to users who "
                                  "unsubscribed, with no unsubscribe link"),
    subject: str = typer.Option("", "--subject", help="The email's subject (default: the message's first line)"),
    starts: str | None = typer.Option(None, help="From then on, ISO 8601, UTC when no offset (default: now)"),
    until: str | None = typer.Option(None, help="Until then, ISO 8601 (default: until withdrawn)"),
) -> None:
    """Show MESSAGE to its audience (the criteria given combine; none: everyone), and email it with --email.
    Prints the notice's id on its last line."""
    from phonecloud.notices.service import Audience

    services = open_services()
    notice = attempt(lambda: services.notices.post(
        message, level, region, moment_option(starts, "--starts"), moment_option(until, "--until"),
        audience=Audience(group=group, plan=plan, kind=kind), email=email, required=required, subject=subject))
    criteria = [f"{name} {value}" for name, value in (("country", notice.region), ("group", notice.group_name),
                                                      ("plan", notice.plan_name), ("kind", notice.kind)) if value]
    typer.echo(f"posted notice {notice.id} ({notice.level}) for {', '.join(criteria) or 'everyone'}"
               + (", by email too" if notice.email else ""))
    typer.echo(notice.id)


@app.command("list")
def list_notices() -> None:
    """Every notice, newest first, with its state and audience."""
    from phonecloud.core.db import utcnow
    from phonecloud.notices.service import state_of

    now = utcnow()
    for notice in open_services().notices.recent():
        audience = ",".join(f"{name}={value}" for name, value in (
            ("country", notice.region), ("group", notice.group_name), ("plan", notice.plan_name),
            ("kind", notice.kind)) if value) or "*"
        typer.echo(f"{notice.id}\t{state_of(notice, now)}\t{notice.level}\t{audience}\t"
                   f"{'email' if notice.email else '-'}\t{notice.message}")


@app.command("withdraw")
def withdraw(notice_id: int) -> None:
    """Stop showing notice NOTICE_ID (and sending its emails)."""
    attempt(lambda: open_services().notices.withdraw(notice_id))
    typer.echo(f"withdrew notice {notice_id}")


@app.command("deliveries")
def deliveries(
    notice_id: int,
    email: str | None = typer.Option(None, "--email", help="Only this user's: was this user told, and when?"),
    json_output: bool = typer.Option(False, "--json", help="One JSON object per delivery"),
) -> None:
    """The emails of notice NOTICE_ID: to whom, their state, attempts, when sent, and the mail server's answer."""
    rows = attempt(lambda: open_services().notice_mail.deliveries(notice_id, email))
    for row in rows:
        if json_output:
            typer.echo(json.dumps(row.as_dict(), default=lambda moment: moment.isoformat()))
        else:
            when = row.sent_at.isoformat() if row.sent_at else "-"
            typer.echo(f"{row.email}\t{row.state}\t{when}\t{row.attempts} attempts\t{row.answer}")
    if not rows and not json_output:
        typer.echo("no emails for this notice" + (f" to {email}" if email else ""))
