"""`phonecloud admin region-group ...` and `admin set-region`: countries, their groups, and per group the
kinds of data its users may add."""

from __future__ import annotations

import json

import typer

from phonecloud.cli.common import attempt, open_services

app = typer.Typer(help="Named groups of countries, and the kinds of data each may add.", no_args_is_help=True)


def _line(group) -> str:
    disabled = ", ".join(group.disabled_kinds) or "none"
    return f"{group.name}\t{' '.join(group.countries)}\t{group.users} users\tdisabled: {disabled}"


@app.command("add")
def add_group(name: str, countries: list[str] = typer.Argument(..., metavar="CC...",
                                                               help="ISO 3166-1 alpha-2 codes, e.g. DE FR IT")) -> None:
    """Create group NAME of these countries, or add them to it."""
    group = attempt(lambda: open_services().regions.add_group(name, countries))
    typer.echo(_line(group))


@app.command("remove")
def remove_countries(name: str, countries: list[str] = typer.Argument(..., metavar="CC...")) -> None:
    """Take these countries out of group NAME."""
    group = attempt(lambda: open_services().regions.remove_countries(name, countries))
    typer.echo(_line(group))


@app.command("delete")
def delete_group(name: str) -> None:
    """Delete group NAME (its countries' users may add every kind again, unless another group says not)."""
    attempt(lambda: open_services().regions.delete_group(name))
    typer.echo(f"deleted region group {name}")


@app.command("list")
def list_groups(json_output: bool = typer.Option(False, "--json", help="One JSON array")) -> None:
    """Every group: its countries, its users and the kinds they may not add."""
    groups = open_services().regions.groups()
    if json_output:
        typer.echo(json.dumps([group.as_dict() for group in groups]))
        return
    for group in groups:
        typer.echo(_line(group))


@app.command("disable-kind")
def disable_kind(name: str, kind: str) -> None:
    """Users of group NAME may no longer add data of KIND (what they keep stays theirs)."""
    group = attempt(lambda: open_services().regions.set_kind(name, kind, enabled=False))
    typer.echo(_line(group))


@app.command("enable-kind")
def enable_kind(name: str, kind: str) -> None:
    """Users of group NAME may add data of KIND again."""
    group = attempt(lambda: open_services().regions.set_kind(name, kind, enabled=True))
    typer.echo(_line(group))


def set_region(email: str, region: str = typer.Argument(..., metavar="CC", help="ISO 3166-1 alpha-2, e.g. DE")) -> None:
    """Set EMAIL's region (their country)."""
    code = attempt(lambda: open_services().regions.set_region(email, region))
    typer.echo(f"{email}: region {code}")
