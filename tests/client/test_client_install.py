"""The base install is the client alone (`pip install phonecloud`): it must run without any of the server's
packages. Tested in a fresh virtualenv that holds only the base dependencies (base_install.py)."""

from __future__ import annotations

import subprocess
import sys
import tomllib

import pytest

from cli_runner import clean_env, phonecloud
from conftest import ROOT
from media_fixtures import ftyp, jpeg

from .base_install import server_modules

NAMED_SERVER_MODULES = ["fastapi", "starlette", "sqlalchemy", "alembic", "uvicorn", "pydantic", "pydantic_settings",
                        "argon2", "mako", "pyvips", "av", "PIL"]


@pytest.fixture
def env(tmp_path) -> dict[str, str]:
    return clean_env(PHONECLOUD_CLIENT_DIR=str(tmp_path / "client"), PHONECLOUD_DATA_DIR=str(tmp_path / "data"))


def test_the_server_packages_are_told_from_the_metadata():
    assert set(NAMED_SERVER_MODULES) <= set(server_modules())
    assert not {"httpx", "typer", "rich", "watchdog", "phonecloud"} & set(server_modules())


def python_in(base_install, code: str, *args: str) -> subprocess.CompletedProcess:
    """Python code run by the base install's interpreter (-I: whatever PYTHONPATH says)."""
    return subprocess.run([base_install.with_name("python"), "-I", "-c", code, *args], capture_output=True, text=True,
                          timeout=120)


def test_the_base_install_holds_no_server_package_and_every_base_requirement(base_install):
    found = python_in(base_install, "import importlib.util, sys\n"
                      "print(*[name for name in sys.argv[1:] if importlib.util.find_spec(name)])", *server_modules())
    assert found.returncode == 0 and found.stdout.split() == [], found.stdout + found.stderr
    checked = subprocess.run([sys.executable, "-m", "pip", "--python", str(base_install.with_name("python")), "check"],
                             capture_output=True, text=True, timeout=120)
    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_every_client_module_imports_in_the_base_install(base_install):
    done = python_in(base_install, "import importlib, pkgutil, phonecloud.client\n"
                     "for module in pkgutil.walk_packages(phonecloud.client.__path__, 'phonecloud.client.'):\n"
                     "    importlib.import_module(module.name)")
    assert done.returncode == 0, done.stderr


def test_sync_help_in_the_base_install(base_install, env):
    done = phonecloud(env, "sync", "--help", program=(str(base_install),))

    assert done.returncode == 0, done.stderr
    assert "--server" in done.stdout and "--watch" in done.stdout


def test_sync_in_the_base_install(server, user, env, tmp_path, base_install):
    photo, video = jpeg(101), ftyp(b"isom", b"mp42")
    (tmp_path / "phone").mkdir()
    (tmp_path / "phone" / "IMG_1.jpg").write_bytes(photo)
    (tmp_path / "phone" / "VID_1.mp4").write_bytes(video)
    (tmp_path / "phone" / "notes.txt").write_text("not a photo\n")

    done = phonecloud(env, "sync", str(tmp_path / "phone"), "--server", server.url, "--key", user.key, "--json",
                      "--album-from-folder", program=(str(base_install),))

    assert done.returncode == 0, done.stderr
    assert (done.summary["uploaded"], done.summary["skipped"], done.summary["failed"]) == (2, 1, 0)
    assert user.http.get("/me").json()["asset_count"] == 2


@pytest.mark.parametrize("command", [["serve"], ["admin", "create-user", "a@example.org", "--password", "long enough"],
                                     ["admin", "ensure-admin"]])
def test_server_commands_in_the_base_install_say_what_to_install(env, command, base_install):
    done = phonecloud(env, *command, program=(str(base_install),))

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
