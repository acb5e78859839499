"""The one way the tests run the `phonecloud` command to its end: as a subprocess, as a person or a script
would, with nothing on its standard input and a bound on how long it may take."""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass

import pytest

from conftest import PHONECLOUD

RUN_TIMEOUT = 180  # seconds; a bound on any one CLI run, never an expectation of speed


@dataclass
class Run:
    returncode: int
    stdout: str
    stderr: str

    @property
    def summary(self) -> dict:
        """The JSON summary `--json` prints as the last line of stdout."""
        lines = self.stdout.strip().splitlines()
        assert lines, f"no output; stderr:\n{self.stderr}"
        return json.loads(lines[-1])


def phonecloud(env: dict[str, str], *args: str, timeout: float = RUN_TIMEOUT,
               program: Sequence[str] = (PHONECLOUD,)) -> Run:
    """`phonecloud ARGS...` run to its end in env; program: what to run instead of the installed command
    (a Python one-liner that runs it under other conditions)."""
    done = subprocess.run([*program, *args], env=env, stdin=subprocess.DEVNULL, capture_output=True, text=True,
                          timeout=timeout)
    return Run(done.returncode, done.stdout, done.stderr)


def clean_env(**settings: str) -> dict[str, str]:
    """This environment without the caller's phonecloud settings and forced colours, plus `settings`."""
    env = {name: value for name, value in os.environ.items()
           if not name.startswith("PHONECLOUD_") and name not in ("FORCE_COLOR", "TTY_COMPATIBLE")}
    return {**env, **settings}


@pytest.fixture
def client_env(tmp_path) -> dict[str, str]:
    """An environment with its own client folder (login and state), free of the caller's phonecloud settings."""
    return clean_env(PHONECLOUD_CLIENT_DIR=str(tmp_path / "client"))
