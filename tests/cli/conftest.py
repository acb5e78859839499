"""Fixtures of the command's own tests (the server, users and `client_env` come from tests/conftest.py and
tests/cli_runner.py)."""

from __future__ import annotations

from cli_runner import client_env  # noqa: F401  (a fixture)
