"""`phonecloud admin ...`: operator commands that work on the server's database directly."""

from __future__ import annotations

import typer

from phonecloud.cli.common import attempt, fail, open_services
from phonecloud.notices import cli as notices_cli
from phonecloud.plans import cli as plans_cli
from phonecloud.regions import cli as regions_cli
from phonecloud.retirement import cli as retirement_cli

app = typer.Typer(help="Manage users and keys on this server (uses the server's settings).", no_args_is_help=True)
app.add_typer(notices_cli.app, name="notice")
app.add_typer(plans_cli.plan_app, name="plan")
app.add_typer(plans_cli.membership_app, name="membership")
app.add_typer(plans_cli.payment_app, name="payment")
app.add_typer(plans_cli.ledger_app, name="ledger")
app.add_typer(regions_cli.app, name="region-group")
app.add_typer(retirement_cli.app, name="retirement")
app.command("set-region")(regions_cli.set_region)


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
    quota: str | None = typer.Option(None, help="A quota such as 5GiB that overrides the user's plans (default: "
                                     "the plans decide; without a membership, the default plan)"),
    admin: bool = typer.Option(False, "--admin", help="Make the user an administrator"),
    region: str | None = typer.Option(None, "--region", help="Their country, ISO 3166-1 alpha-2 such as DE "
                                      "(default: PHONECLOUD_DEFAULT_REGION)"),
    locale: str = typer.Option("en", "--locale", help="The language of the emails they get, e.g. de"),
    name: str = typer.Option("", "--name", help="Their name, as emails greet them"),
) -> None:
    """Create a user who can sign in with EMAIL and PASSWORD."""
    from phonecloud.core.sizes import format_size

    services = open_services()
    user = attempt(lambda: services.accounts.create_user(email, password, _size(quota) if quota else None, admin,
                                                         region, locale, name))
    typer.echo(f"created {'admin ' if user.is_admin else ''}user {user.email} ({user.region}) with a quota of "
               f"{format_size(user.quota_bytes)}")


@app.command("create-key")
def create_key(email: str, name: str = typer.Option("sync client", help="The device's name")) -> None:
    """Create an API key for a device of EMAIL's; the key is printed alone on the last line."""
    from phonecloud.core.errors import PhonecloudError

    services = open_services()
    try:
        issued = services.accounts.create_api_key(services.accounts.user_by_email(email).id, name)
    except PhonecloudError as error:
        fail(error.message)
    typer.echo(f"API key for device {issued.device_name!r} of {email} (shown once; keep it secret):")
    typer.echo(issued.key)


@app.command("set-quota")
def set_quota(email: str, quota: str = typer.Argument(..., help="e.g. 50GiB, overriding the user's plans; "
                                                      "'plan': no override, the plans decide again")) -> None:
    """Set EMAIL's storage quota, e.g. 50GiB (or `plan` to let their plans decide again)."""
    from phonecloud.core.sizes import format_size

    services = open_services()
    if quota.strip().lower() == "plan":
        attempt(lambda: services.plans.clear_override(email))
    else:
        attempt(lambda: services.accounts.set_quota(email, _size(quota)))
    user = services.accounts.user_by_email(email)
    typer.echo(f"{user.email}: quota {format_size(user.quota_bytes)}, {format_size(user.used_bytes)} used")


@app.command("ensure-admin")
def ensure_admin(email: str = typer.Option("admin@localhost")) -> None:
    """Create a first admin with a random password if the server has no user yet (used by `make run`)."""
    import secrets

    services = open_services()
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

    services = open_services()
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


@app.command("recover")
def recover(json_output: bool = typer.Option(False, "--json", help="Print the report as JSON")) -> None:
    """Remove what a crash left behind and repair every user's used bytes, as `phonecloud serve` does at
    start; safe while servers run. Each repair is also logged on stderr."""
    import json

    from phonecloud.core.sizes import format_size

    services = open_services()
    report = services.recovery().run()
    expired = services.uploads.expire_due()  # as at start: resumable uploads past their time
    if json_output:
        typer.echo(json.dumps({**report.as_dict(), "expired_uploads": expired}))
        return
    typer.echo(f"removed {report.staging_removed} pieces of abandoned staging data and {report.orphans_removed} "
               f"unreferenced blobs ({format_size(report.orphan_bytes)}); repaired the used bytes of "
               f"{len(report.usage_repairs)} users; expired {expired} resumable uploads")
    for repair in report.usage_repairs:
        typer.echo(f"  {repair.email}: {repair.old} -> {repair.new} bytes")


@app.command("scrub")
def scrub(
    derivatives: bool = typer.Option(False, "--derivatives", help="Also check every thumbnail and preview"),
    json_output: bool = typer.Option(False, "--json", help="One JSON object per problem, then a summary line, "
                                     "on stdout (progress goes to stderr)"),
) -> None:
    """Re-hash every stored original against the SHA-1 recorded at upload; exits 1 if any is missing or
    damaged, naming the asset and its owner."""
    import json
    import sys

    from rich.console import Console
    from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeRemainingColumn

    from phonecloud.core.sizes import format_size
    from phonecloud.maintenance.scrub import Scrubber

    services = open_services()
    scrubber = Scrubber(services.db, services.blobs, list(services.kinds.values()))
    assets, total_bytes = scrubber.totals()
    # JSON lines own stdout, so the bar goes to stderr (and stays off when stdout shares the terminal).
    console = Console(stderr=json_output, highlight=False, soft_wrap=True)
    progress = Progress(TextColumn(f"scrubbing {assets} assets"), BarColumn(), DownloadColumn(), TimeRemainingColumn(),
                        console=console, redirect_stdout=False, disable=json_output and sys.stdout.isatty())

    def report(problem) -> None:
        if json_output:
            typer.echo(json.dumps(problem.as_dict()))
        else:
            console.print(f"asset {problem.asset_id} of {problem.owner_email}: {problem.blob} {problem.problem} "
                          f"({problem.key}): {problem.detail}", markup=False)

    with progress:
        task = progress.add_task("scrub", total=total_bytes)
        summary = scrubber.run(derivatives, report, lambda done: progress.update(task, completed=done))
    if json_output:
        typer.echo(json.dumps({"summary": summary.as_dict()}))
    else:
        checked = f", {summary.derivatives} derivatives" if derivatives else ""
        console.print(f"checked {summary.assets} originals ({format_size(summary.original_bytes)}){checked}: "
                      f"{summary.problems or 'no'} problems", markup=False)
    if summary.problems:
        raise typer.Exit(1)


@app.command("delete-user")
def delete_user(
    email: str,
    yes: bool = typer.Option(False, "--yes", help="Do not ask for confirmation"),
    json_output: bool = typer.Option(False, "--json", help="Print the receipt as JSON"),
) -> None:
    """Delete EMAIL's account and everything it holds, for good, and print the receipt. Sign-ins and keys stop
    at once; if this command is stopped, a job worker finishes the deletion (or run the command again)."""
    import json

    from phonecloud.accounts.deletion import receipt_json
    from phonecloud.accounts.service import Principal
    from phonecloud.core.errors import PhonecloudError
    from phonecloud.core.sizes import format_size

    services = open_services()
    try:
        user = services.accounts.user_by_email(email)
    except PhonecloudError as error:
        fail(error.message)
    if not yes:
        typer.confirm(f"Delete {user.email} and everything the account holds, for good?", abort=True)
    operator = Principal(0, "command line", is_admin=True)
    deletion = services.deletions.delete_by_admin(operator, user.email, run_now=True)
    receipt = receipt_json(services.deletions.run_here(deletion))
    if json_output:
        typer.echo(json.dumps(receipt))
        return
    for name, counts in receipt["removed"].items():
        typer.echo(f"{name}: {counts['items']} items, {counts['rows']} rows, {counts['blobs']} files "
                   f"({format_size(counts['bytes'])}) removed")
    clean = receipt["final_scan"]["clean"]
    typer.echo(f"deleted {user.email}: receipt {receipt['id']}; final check: "
               f"{'nothing left' if clean else 'something left: ' + json.dumps(receipt['final_scan'])}")
    if not clean:
        raise typer.Exit(1)


@app.command("import-takeout")
def import_takeout(
    email: str,
    paths: list[str] = typer.Argument(..., help="Absolute paths on this server: a Takeout's zip parts (every part), "
                                      "folders of them, or the unzipped folder"),
    wait: bool = typer.Option(True, "--wait/--no-wait", help="Wait for the server's job workers to finish it and "
                              "print its report (else print the import's id and return)"),
    json_output: bool = typer.Option(False, "--json", help="Print the import as JSON on the last line"),
) -> None:
    """Import a Google Takeout that lies on the server's disk into EMAIL's gallery, as a job of the server's
    workers (`phonecloud serve` or `phonecloud worker` must run): read in place, never moved or deleted. The user
    follows it on the Takeout page like one they uploaded."""
    import json
    import time
    from pathlib import Path

    from phonecloud.accounts.service import Principal
    from phonecloud.gallery.takeout.schemas import ImportOut

    services = open_services()
    user = attempt(lambda: services.accounts.user_by_email(email))
    takeout = services.kind("gallery").service.takeout
    started = attempt(lambda: takeout.start_from_paths(user.id, [Path(path) for path in paths]))
    owner = Principal(user.id, user.email, user.is_admin)
    found = ImportOut.of(*takeout.get(owner, started.id))
    typer.echo(f"import {found.id} of {len(found.parts)} part(s) queued for {user.email}", err=json_output)
    while wait and not found.finished:
        time.sleep(0.5)
        found = ImportOut.of(*takeout.get(owner, started.id))
    if found.report:
        report = found.report
        for failure in report.failures:
            typer.echo(f"  {failure.path}: {failure.reason}", err=True)
        typer.echo(f"imported {report.uploaded} ({report.bytes} bytes), already there {report.duplicates}, with their "
                   f"sidecar {report.matched}, albums {report.albums}, favourites {report.favorites}, described "
                   f"{report.described}, trashed {report.trashed}, skipped {report.skipped}, failed {report.failed}",
                   err=json_output)
    elif found.error:
        typer.echo(f"error: {found.error}", err=True)
    if json_output:
        typer.echo(json.dumps(found.model_dump(mode="json")))
    if found.state == "failed" or (found.report and found.report.failed):
        raise typer.Exit(1)
