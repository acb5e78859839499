"""`phonecloud admin plan|membership|payment|ledger ...`: the catalogue, users' memberships and the ledger."""

from __future__ import annotations

import json

import typer

from phonecloud.cli.common import attempt, fail, moment_option, open_services, size_option

plan_app = typer.Typer(help="The catalogue of plans (quota, price, kinds of data included).", no_args_is_help=True)
membership_app = typer.Typer(help="Users' memberships of plans; their quota follows.", no_args_is_help=True)
payment_app = typer.Typer(help="Payments and refunds, as the billing system reports them.", no_args_is_help=True)
ledger_app = typer.Typer(help="The payments ledger, for accounting.", no_args_is_help=True)

_KINDS_HELP = "Kinds of data included, comma-separated, e.g. gallery,messages,contacts (default: every kind)"
_AT_HELP = "ISO 8601 time, UTC when no offset is given (default: now)"


def _kinds(text: str | None) -> list[str] | None:
    return [kind.strip() for kind in text.split(",") if kind.strip()] if text is not None else None


def _plan_line(plan) -> str:
    from phonecloud.core.sizes import format_size

    price = f"{plan.price} {plan.currency}/{plan.period}" if plan.currency else "free"
    flags = "".join([" (default)" if plan.is_default else "", " (retired)" if plan.retired else ""])
    kinds = ",".join(plan.kinds) if plan.kinds is not None else "every kind"
    return f"{plan.name}\t{format_size(plan.quota_bytes)}\t{price}\t{kinds}\t{plan.members} members{flags}"


@plan_app.command("add")
def add_plan(
    name: str,
    quota: str = typer.Option(..., help="Storage, e.g. 50GB or 2TiB"),
    price: str = typer.Option("0", help="In the currency's units, e.g. 1.99"),
    currency: str | None = typer.Option(None, help="ISO 4217, e.g. EUR (needed with a price)"),
    period: str = typer.Option("month", help="month, year, once or none"),
    kinds: str | None = typer.Option(None, help=_KINDS_HELP),
) -> None:
    """Add plan NAME to the catalogue."""
    services = open_services()
    plan = attempt(lambda: services.plans.add(name, size_option(quota), price, currency, period, _kinds(kinds)))
    typer.echo(f"added plan {_plan_line(plan)}")


@plan_app.command("list")
def list_plans(json_output: bool = typer.Option(False, "--json", help="One JSON array")) -> None:
    """Every plan, smallest first, with its members now."""
    plans = open_services().plans.plans()
    if json_output:
        typer.echo(json.dumps([plan.as_dict() for plan in plans]))
        return
    for plan in plans:
        typer.echo(_plan_line(plan))


@plan_app.command("change")
def change_plan(
    name: str,
    quota: str | None = typer.Option(None, help="Storage, e.g. 200GB"),
    price: str | None = typer.Option(None),
    currency: str | None = typer.Option(None),
    period: str | None = typer.Option(None),
    kinds: str | None = typer.Option(None, help=_KINDS_HELP),
    every_kind: bool = typer.Option(False, "--every-kind", help="Include every kind of data again"),
) -> None:
    """Change plan NAME; its members' quotas follow at once (nothing is deleted when one falls below use)."""
    services = open_services()
    plan = attempt(lambda: services.plans.change(name, size_option(quota) if quota else None, price, currency,
                                                 period, _kinds(kinds), every_kind))
    typer.echo(f"changed plan {_plan_line(plan)}")


@plan_app.command("retire")
def retire_plan(name: str) -> None:
    """Plan NAME takes no new members; its members keep it until their membership ends."""
    plan = attempt(lambda: open_services().plans.retire(name))
    typer.echo(f"retired plan {_plan_line(plan)}")


def _membership_line(row) -> str:
    until = row.ends_at.isoformat() if row.ends_at else "until ended"
    return f"{row.plan}\t{row.starts_at.isoformat()}\t{until}\t{row.state}"


@membership_app.command("start")
def start_membership(
    email: str, plan: str,
    at: str | None = typer.Option(None, "--at", help=_AT_HELP),
    until: str | None = typer.Option(None, "--until", help="ISO 8601 time it ends (default: until ended)"),
) -> None:
    """EMAIL becomes a member of PLAN; their quota and kinds follow from then on."""
    services = open_services()
    row = attempt(lambda: services.plans.start(email, plan, moment_option(at, "--at"), moment_option(until, "--until")))
    typer.echo(f"{email}: {_membership_line(row)}")


@membership_app.command("end")
def end_membership(email: str, plan: str, at: str | None = typer.Option(None, "--at", help=_AT_HELP)) -> None:
    """End EMAIL's membership of PLAN; nothing they store is deleted for it."""
    services = open_services()
    for row in attempt(lambda: services.plans.end(email, plan, moment_option(at, "--at"))):
        typer.echo(f"{email}: {_membership_line(row)}")


@membership_app.command("list")
def list_memberships(email: str, json_output: bool = typer.Option(False, "--json", help="One JSON array")) -> None:
    """EMAIL's memberships, oldest first, and what they are entitled to now."""
    from phonecloud.core.sizes import format_size

    services = open_services()
    rows = attempt(lambda: services.plans.memberships(email))
    if json_output:
        typer.echo(json.dumps([row.as_dict() for row in rows], default=str))
        return
    for row in rows:
        typer.echo(_membership_line(row))
    user = services.accounts.user_by_email(email)
    plans = ", ".join(services.plans.describe(user.id).plans)
    override = " (an administrator's override)" if user.quota_override_bytes is not None else ""
    typer.echo(f"now: {plans or 'no plan'}; quota {format_size(user.quota_bytes)}{override}, "
               f"{format_size(user.used_bytes)} used")


def _record(kind: str, email: str, amount: str, currency: str, plan: str, reference: str, at: str | None,
            note: str) -> None:
    services = open_services()
    entry, created = attempt(lambda: services.ledger.record(kind, email, amount, currency, plan, reference,
                                                            moment_option(at, "--at"), note))
    said = "recorded" if created else "already recorded"
    typer.echo(f"{said} {kind} {entry.id}: {entry.amount} {entry.currency} from {entry.email} for {entry.plan} "
               f"({entry.reference}) at {entry.time.isoformat()}")


def _entry_command(kind: str, summary: str):
    """`payment record` and `payment refund`: the same arguments, each its own kind of ledger entry."""

    def command(
        email: str, amount: str, currency: str,
        plan: str = typer.Option(..., "--plan", help=f"The plan the {kind} is for"),
        reference: str = typer.Option(..., "--reference", help=f"The billing system's id of the {kind}: "
                                      "recorded once"),
        at: str | None = typer.Option(None, "--at", help=_AT_HELP),
        note: str = typer.Option("", "--note"),
    ) -> None:
        _record(kind, email, amount, currency, plan, reference, at, note)

    command.__doc__ = summary
    return command


payment_app.command("record")(_entry_command(
    "payment", "Record a payment of AMOUNT CURRENCY by EMAIL (phonecloud takes no payments itself)."))
payment_app.command("refund")(_entry_command(
    "refund", "Record a refund of AMOUNT CURRENCY to EMAIL, a ledger entry of its own."))


@ledger_app.command("export")
def export_ledger(
    out: str = typer.Option(..., "--out", help="The CSV file to write ('-': standard output)"),
    since: str | None = typer.Option(None, "--since", help="From this ISO 8601 time"),
    until: str | None = typer.Option(None, "--until", help="Before this ISO 8601 time"),
) -> None:
    """Write every payment and refund as CSV: time, email, plan, kind, amount, currency, reference, note, id."""
    import os
    import sys
    from pathlib import Path

    from phonecloud.plans.ledger import csv_lines

    services = open_services()
    lines = csv_lines(services.ledger.entries(None, moment_option(since, "--since"), moment_option(until, "--until")))
    if out == "-":
        for line in lines:
            sys.stdout.write(line)
        return
    target = Path(out)
    partial = target.with_name(target.name + ".partial")
    count = -1  # the header is not an entry
    try:
        with open(partial, "w", encoding="utf-8", newline="") as handle:
            for line in lines:
                handle.write(line)
                count += 1
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(partial, target)
    except OSError as error:
        partial.unlink(missing_ok=True)
        fail(f"cannot write {out}: {error.strerror or error}")
    except BaseException:  # the database failed, or Ctrl-C: no half-written ledger stays behind
        partial.unlink(missing_ok=True)
        raise
    typer.echo(f"wrote {count} entries to {target}")
