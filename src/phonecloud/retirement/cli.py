"""`phonecloud admin retirement ...`: plan the retirement of a kind of data in some region groups, see it
(with its preview, audit log and report), postpone or cancel it."""

from __future__ import annotations

import json

import typer

from phonecloud.cli.common import attempt, moment_option, open_services

app = typer.Typer(help="Retire a kind of data in some regions: announced, refunded, deleted with receipts.",
                  no_args_is_help=True)
ACTOR = "command line"
_T = "ISO 8601 time, UTC when no offset is given"


def _names(values: list[str] | None) -> list[str]:
    return [name.strip() for value in values or [] for name in value.split(",") if name.strip()]


def _summary(plan) -> str:
    return (f"{plan.id}\t{plan.state}\t{plan.kind}\tgroups {plan.groups.replace(',', ' ')}"
            + (f" (exempt {plan.exempt.replace(',', ' ')})" if plan.exempt else "")
            + f"\tannounce {plan.announce_at.isoformat()}\tstop sync {plan.stop_sync_at.isoformat()}"
            f"\tdeadline {plan.deadline_at.isoformat()}\tdelete {plan.delete_at.isoformat()}\trefund {plan.refund}")


@app.command("plan")
def plan_retirement(
    kind: str,
    more_groups: list[str] = typer.Argument(None, metavar="[G]...", help="More groups after --groups' first"),
    groups: list[str] = typer.Option(..., "--groups", help="Affected region groups: --groups A B C, or A,B,C"),
    announce: str = typer.Option(..., "--announce", help=_T),
    stop_sync: str = typer.Option(..., "--stop-sync", help=_T),
    deadline: str = typer.Option(..., "--deadline", help=f"The download deadline: {_T}"),
    delete: str = typer.Option(..., "--delete", help=_T),
    refund: str = typer.Option(..., "--refund", help="last-payment, prorated or none"),
    message: str = typer.Option("", "--message", help="The operator's words, at the top of every notice"),
    exempt: list[str] = typer.Option(None, "--exempt", help="Region groups never affected (their countries are "
                                     "taken out of the affected groups')"),
) -> None:
    """Plan the retirement of KIND for the users of the region groups; prints the plan's id on its last line."""
    services = open_services()
    plan = attempt(lambda: services.retirements.plan(
        ACTOR, kind, _names(groups) + _names(more_groups), moment_option(announce, "--announce"),
        moment_option(stop_sync, "--stop-sync"), moment_option(deadline, "--deadline"),
        moment_option(delete, "--delete"), refund, message, _names(exempt)))
    for step in services.retirements.preview(plan.id):
        typer.echo(f"{step.step}\t{step.at.isoformat()}\t{step.users} users\t{step.bytes} bytes")
    typer.echo(plan.id)


@app.command("list")
def list_retirements() -> None:
    """Every retirement, newest first."""
    for plan in open_services().retirements.plans():
        typer.echo(_summary(plan))


@app.command("show")
def show(plan_id: int, json_output: bool = typer.Option(False, "--json", help="One JSON object")) -> None:
    """A retirement: its plan, what each step affects, its audit log and (once done) its report."""
    from phonecloud.retirement.service import plan_dict

    services = open_services()
    plan = attempt(lambda: services.retirements.get(plan_id))
    preview = services.retirements.preview(plan_id)
    events = services.retirements.events(plan_id)
    if json_output:
        typer.echo(json.dumps({**plan_dict(plan), "preview": [step.as_dict() for step in preview],
                               "audit": events}, default=lambda value: value.isoformat()))
        return
    typer.echo(_summary(plan))
    for step in preview:
        typer.echo(f"  {step.step}\t{step.at.isoformat()}\t{step.users} users\t{step.bytes} bytes")
    for event in events:
        typer.echo(f"  {event['at'].isoformat()}\t{event['actor']}\t{event['action']}\t{json.dumps(event['detail'])}")


@app.command("postpone")
def postpone(
    plan_id: int,
    announce: str | None = typer.Option(None, "--announce", help=_T),
    stop_sync: str | None = typer.Option(None, "--stop-sync", help=_T),
    deadline: str | None = typer.Option(None, "--deadline", help=_T),
    delete: str | None = typer.Option(None, "--delete", help=_T),
) -> None:
    """Move some of the retirement's dates later (until deletion has begun)."""
    services = open_services()
    plan = attempt(lambda: services.retirements.postpone(
        ACTOR, plan_id, announce_at=moment_option(announce, "--announce"),
        stop_sync_at=moment_option(stop_sync, "--stop-sync"), deadline_at=moment_option(deadline, "--deadline"),
        delete_at=moment_option(delete, "--delete")))
    typer.echo(_summary(plan))


@app.command("cancel")
def cancel(plan_id: int) -> None:
    """Cancel the retirement before deletion has begun: sync works again and its notices are withdrawn."""
    plan = attempt(lambda: open_services().retirements.cancel(ACTOR, plan_id))
    typer.echo(_summary(plan))
