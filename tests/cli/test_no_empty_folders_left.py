"""A command that fails leaves behind no folder it made that holds nothing (export's OUT, pull's mirror,
messages export's OUT), and never removes a folder that was there before or that holds anything else."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import typer

from cli_runner import phonecloud
from client.loopback import Loopback, QuietHandler
from phonecloud.cli.common import folder_removed_on_failure


class OnlyTheAccount(Loopback):
    """A stand-in server that knows the key (GET /api/v1/me) and refuses everything else: a command fails
    after it has made its folder."""

    def __init__(self):
        class Handler(QuietHandler):
            def refuse_or_answer(self) -> None:
                if self.path == "/api/v1/me":
                    self.answer(200, {"Content-Type": "application/json"}, json.dumps(
                        {"email": "a@example.org", "usage": {"gallery": {"items": 0, "bytes": 0}}}).encode())
                else:
                    self.answer(403, {"Content-Type": "application/json"},
                                b'{"error": "forbidden", "message": "not today"}')

            do_GET = do_POST = refuse_or_answer

        super().__init__(Handler)


def commands(out: Path) -> dict[str, list[str]]:
    return {"export": ["export", "--out", str(out)], "pull": ["pull", str(out)],
            "messages export": ["messages", "export", "--format", "sms-backup-restore", "--out", str(out)]}


@pytest.mark.parametrize("command", ["export", "pull", "messages export"])
def test_a_wrong_key_leaves_no_folder_behind(server, client_env, tmp_path, command):
    out = tmp_path / "new" / "deeper" / "out"
    run = phonecloud(client_env, *commands(out)[command], "--server", server.url, "--key", "pck_wrong")
    assert run.returncode == 1 and "refused the API key" in run.stderr, run.stderr
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("command", ["export", "pull"])
def test_a_failure_after_the_folder_was_made_removes_it_again(client_env, tmp_path, command):
    existing = tmp_path / "existing"
    existing.mkdir()
    with OnlyTheAccount() as stand_in:
        made = phonecloud(client_env, *commands(tmp_path / "out")[command], "--server", stand_in.url, "--key", "k")
        there = phonecloud(client_env, *commands(existing)[command], "--server", stand_in.url, "--key", "k")
    for run in (made, there):
        assert run.returncode == 1 and "not today" in run.stderr, run.stderr
    assert [path.name for path in tmp_path.iterdir()] == ["existing"]  # there before: kept


def test_a_folder_holding_anything_else_is_kept(tmp_path):
    out = tmp_path / "made" / "out"
    with pytest.raises(typer.Exit):
        with folder_removed_on_failure(out, own=[".state.json"]):
            out.mkdir(parents=True)
            (out / ".state.json").write_text("{}")
            (out / "part-001.zip.partial").write_bytes(b"PK")  # a download begun
            raise typer.Exit(1)
    assert sorted(path.name for path in out.iterdir()) == [".state.json", "part-001.zip.partial"]


def test_the_folders_made_are_removed_with_the_commands_own_files_and_kept_on_success(tmp_path):
    out = tmp_path / "made" / "out"
    with pytest.raises(KeyboardInterrupt):
        with folder_removed_on_failure(out, own=[".state.sqlite3"]):
            (out / "Photos from 2022").mkdir(parents=True)
            for name in (".state.sqlite3", ".state.sqlite3-wal"):
                (out / name).write_bytes(b"")
            raise KeyboardInterrupt
    assert list(tmp_path.iterdir()) == []
    with pytest.raises(typer.Exit):
        with folder_removed_on_failure(out):
            out.mkdir(parents=True)
            raise typer.Exit(0)
    assert out.is_dir()
