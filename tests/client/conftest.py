"""Fixtures of the client's tests (the server, users and `client_env` come from tests/conftest.py and
tests/cli_runner.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from cli_runner import client_env  # noqa: F401  (a fixture)

from .base_install import make_base_venv


@pytest.fixture(scope="session")
def base_install(tmp_path_factory) -> Path:
    """The `phonecloud` command of a virtualenv holding only the base install (base_install.py)."""
    return make_base_venv(tmp_path_factory.mktemp("base-install") / "venv")
