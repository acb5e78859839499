"""The base install is the sync client alone: it must run without any of the server's packages."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tomllib

import pytest

from conftest import ROOT
from media_fixtures import ftyp, jpeg

# Top-level modules that only `phonecloud[server]` (or the test extra) brings in. (pydantic is not among them:
# typer itself requires it.)
SERVER_MODULES = ["fastapi", "starlette", "sqlalchemy", "alembic", "uvicorn", "pydantic_settings", "argon2", "mako",
                  "PIL"]

# Run as `python -c BLOCKED_MAIN args...`: refuses to import the server's modules, then runs `phonecloud args...`.
BLOCKED_MAIN = f"""
import importlib.abc, sys

BLOCKED = set({SERVER_MODULES!r})

class RefuseServerPackages(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.partition(".")[0] in BLOCKED:
            raise ModuleNotFoundError(f"No module named {{name!r}} (blocked: not in the base install)", name=name)
        return None

sys.meta_path.insert(0, RefuseServerPackages())
sys.argv = ["phonecloud", *sys.argv[1:]]
if sys.argv[1:2] == ["--try-import"]:
    __import__(sys.argv[2])
else:
    from phonecloud.cli import main
    main()
"""


def without_server_packages(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", BLOCKED_MAIN, *args], env=env, stdin=subprocess.DEVNULL,
                          capture_output=True, text=True, timeout=180)


@pytest.fixture
def env(tmp_path) -> dict[str, str]:
    clean = {name: value for name, value in os.environ.items() if not name.startswith("PHONECLOUD_")}
    return {**clean, "PHONECLOUD_CLIENT_DIR": str(tmp_path / "client"),
            "PHONECLOUD_DATA_DIR": str(tmp_path / "data")}


@pytest.mark.parametrize("module", ["fastapi", "sqlalchemy.orm", "PIL.Image"])
def test_the_blocker_really_blocks(env, module):
    done = without_server_packages("--try-import", module, env=env)

    assert done.returncode != 0
    assert "blocked: not in the base install" in done.stderr


def test_sync_help_without_server_packages(env):
    done = without_server_packages("sync", "--help", env=env)

    assert done.returncode == 0, done.stderr
    assert "--server" in done.stdout and "--watch" in done.stdout


def test_sync_without_server_packages(server, user, env, tmp_path):
    photo, video = jpeg(101), ftyp(b"isom", b"mp42")
    (tmp_path / "phone").mkdir()
    (tmp_path / "phone" / "IMG_1.jpg").write_bytes(photo)
    (tmp_path / "phone" / "VID_1.mp4").write_bytes(video)
    (tmp_path / "phone" / "notes.txt").write_text("not a photo\n")

    done = without_server_packages("sync", str(tmp_path / "phone"), "--server", server.url, "--key", user.key,
                                   "--json", "--album-from-folder", env=env)

    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout.strip().splitlines()[-1])
    assert (summary["uploaded"], summary["skipped"], summary["failed"]) == (2, 1, 0)
    assert user.http.get("/me").json()["asset_count"] == 2


@pytest.mark.parametrize("command", [["serve"], ["admin", "create-user", "a@example.org", "--password", "long enough"],
                                     ["admin", "ensure-admin"]])
def test_server_commands_without_server_packages_say_what_to_install(env, command):
    done = without_server_packages(*command, env=env)

    assert done.returncode == 2
    assert "phonecloud[server]" in done.stderr
    assert "Traceback" not in done.stderr


def normalised(requirement: str) -> str:
    name = requirement.split(";")[0]
    for separator in "[<>=!~ ":
        name = name.split(separator)[0]
    return name.strip().lower().replace("_", "-")


def test_base_dependencies_hold_no_server_package():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    base = {normalised(requirement) for requirement in project["dependencies"]}
    server = {normalised(requirement) for requirement in project["optional-dependencies"]["server"]}
    known_server_packages = {"fastapi", "starlette", "uvicorn", "sqlalchemy", "alembic", "pydantic-settings",
                             "argon2-cffi", "pillow", "mako"}

    assert base, "no base dependencies found"
    assert not base & (server | known_server_packages)
