"""What `phonecloud --help` of every command shows of its arguments, and `phonecloud --version`."""

from __future__ import annotations

import re
from importlib.metadata import version

import typer
from typer.testing import CliRunner

from cli_runner import phonecloud
from phonecloud.cli import app


def every_command() -> list[tuple[list[str], object]]:
    """(the words that name it, the command) for every command and group below `phonecloud`."""
    found, todo = [], [([], typer.main.get_command(app))]
    while todo:
        words, command = todo.pop()
        found.append((words, command))
        for name, subcommand in getattr(command, "commands", {}).items():
            todo.append(([*words, name], subcommand))
    return found


def usage_line(words: list[str]) -> str:
    result = CliRunner().invoke(app, [*words, "--help"], prog_name="phonecloud", env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    (line,) = [line.strip() for line in result.output.splitlines() if "Usage:" in line]
    return line


def test_sync_and_create_user_show_their_arguments_by_name():
    assert usage_line(["sync"]) == "Usage: phonecloud sync [OPTIONS] FOLDERS..."
    assert usage_line(["admin", "create-user"]) == "Usage: phonecloud admin create-user [OPTIONS] EMAIL"
    assert usage_line(["pull"]) == "Usage: phonecloud pull [OPTIONS] FOLDER"


def test_every_command_shows_each_argument_as_a_name_in_capitals():
    checked = 0
    for words, command in every_command():
        arguments = [param for param in command.params if param.param_type_name == "argument"]
        if not arguments:
            continue
        line = usage_line(words)
        assert not re.search(r"[{}]", line), line
        for argument in arguments:  # by its name, or as the command's author chose to show it ("[G]...")
            name = argument.metavar or argument.name.upper()
            name += "..." if argument.nargs != 1 and not name.endswith("...") else ""
            assert (name if argument.required or name.startswith("[") else f"[{name}]") in line.split(), line
            assert not re.search("[a-z]", name), line
        checked += 1
    assert checked >= 10  # sync, pull, import-export, import takeout, admin create-user ...


def test_version_prints_the_installed_packages_version(client_env):
    run = phonecloud(client_env, "--version")
    assert (run.returncode, run.stdout, run.stderr) == (0, f"phonecloud {version('phonecloud')}\n", "")
