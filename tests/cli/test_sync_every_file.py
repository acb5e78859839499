"""`phonecloud sync` accounts for every file it finds: an empty file is skipped with its reason, and
--verbose names each file skipped (failed ones are always named)."""

from __future__ import annotations

from pathlib import Path

from cli_runner import Run, phonecloud
from conftest import User
from media_fixtures import jpeg


def sync(env: dict[str, str], url: str, user: User, *args: str) -> Run:
    return phonecloud(env, "sync", *args, "--server", url, "--key", user.key, "--json")


def write(path: Path, data: bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def test_a_folder_holding_only_an_empty_file_counts_it_as_skipped(server, user, client_env, tmp_path):
    write(tmp_path / "phone" / "IMG_0001.jpg", b"")

    run = sync(client_env, server.url, user, str(tmp_path / "phone"))

    assert run.returncode == 0, run.stderr
    assert run.summary == {"uploaded": 0, "duplicates": 0, "skipped": 1, "failed": 0, "bytes": 0, "unchanged": 0}
    assert "uploaded 0, duplicates 0, unchanged 0, skipped 1, failed 0, 0 bytes" in run.stderr.splitlines()
    assert "IMG_0001.jpg" not in run.stderr  # named only with --verbose
    again = sync(client_env, server.url, user, str(tmp_path / "phone"))
    assert again.summary["skipped"] == 1


def test_an_empty_file_filled_later_is_backed_up(server, user, client_env, tmp_path):
    empty = write(tmp_path / "phone" / "IMG_0002.jpg", b"")
    assert sync(client_env, server.url, user, str(tmp_path / "phone")).summary["skipped"] == 1
    write(empty, jpeg(2301))
    run = sync(client_env, server.url, user, str(tmp_path / "phone"))
    assert (run.summary["uploaded"], run.summary["skipped"]) == (1, 0), run.stderr
