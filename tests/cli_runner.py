"""The ways the tests run the `phonecloud` command to its end: as a subprocess, as a person or a script would,
with nothing on its standard input and a bound on how long it may take; or, for `admin` commands whose process
is not what a test is about, in the test's own process as that subprocess would run it (without the ~2.7 s of
CPU every `phonecloud` process spends starting)."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import threading
import traceback
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from unittest import mock

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


def phonecloud_in_process(env: dict[str, str], *args: str) -> Run:
    """`phonecloud admin ...` run to its end in this process as phonecloud(env, ...) would run it: env alone as
    its environment, the clock of env's clock file, its own stdout and stderr, the exit code a process would
    have, an uncaught error's traceback on stderr, and its database connections closed at the end."""
    assert args[:1] == ("admin",), "in process: admin commands only (the others serve, sync or catch signals)"
    from typer.testing import CliRunner

    from phonecloud.cli import app

    outside_env = {name: None for name in os.environ if name not in env}  # None: unset while the command runs
    with _services_closed_at_the_end(), _clock_of_a_process_in(env), _log_warnings_to_stderr():
        result = CliRunner().invoke(app, args, env={**outside_env, **env}, prog_name="phonecloud")
    stderr = result.stderr
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        stderr += "".join(traceback.format_exception(result.exception))  # as Python does before exiting 1
    return Run(result.exit_code, result.stdout, stderr)


@contextmanager
def _services_closed_at_the_end() -> Iterator[None]:
    """Every Services the command starts is closed when it ends (its process would exit): else each run
    would keep its database engine, and PostgreSQL's connections run out."""
    from phonecloud.server.container import Services

    caller, started, start = threading.get_ident(), [], Services.start

    def start_and_keep(settings=None):
        services = start(settings)
        if threading.get_ident() == caller:  # not the services an app in this process starts meanwhile
            started.append(services)
        return services

    try:
        with mock.patch.object(Services, "start", start_and_keep):
            yield
    finally:
        for services in started:
            services.close()


@contextmanager
def _clock_of_a_process_in(env: dict[str, str]) -> Iterator[None]:
    """On this thread, the clock a process in env follows (env's clock file, not the moves of the `clock`
    fixture); the app running in this process keeps this process's clock on its own threads."""
    from phonecloud.core import clock

    own, caller, shared = clock.Clock(env.get(clock.CLOCK_FILE_ENV)), threading.get_ident(), clock.CLOCK.offset
    with mock.patch.object(clock.CLOCK, "offset",
                           lambda: own.offset() if threading.get_ident() == caller else shared()):
        yield


class _LastResort(logging.Handler):
    """What Python writes of a process's log records when nothing set logging up: WARNING and above, bare, on
    the stderr of the moment; here for the records of one thread."""

    def __init__(self, thread: int):
        super().__init__(logging.WARNING)
        self.addFilter(lambda record: record.thread == thread)

    def emit(self, record: logging.LogRecord) -> None:
        sys.stderr.write(self.format(record) + "\n")


@contextmanager
def _log_warnings_to_stderr() -> Iterator[None]:
    """The command's warnings on its stderr, as in its process (here, pytest's handlers would take them)."""
    handler = _LastResort(threading.get_ident())
    logging.getLogger().addHandler(handler)
    try:
        yield
    finally:
        logging.getLogger().removeHandler(handler)


def clean_env(**settings: str) -> dict[str, str]:
    """This environment without the caller's phonecloud settings and forced colours, plus `settings`."""
    env = {name: value for name, value in os.environ.items()
           if not name.startswith("PHONECLOUD_") and name not in ("FORCE_COLOR", "TTY_COMPATIBLE")}
    return {**env, **settings}


@pytest.fixture
def client_env(tmp_path) -> dict[str, str]:
    """An environment with its own client folder (login and state), free of the caller's phonecloud settings."""
    return clean_env(PHONECLOUD_CLIENT_DIR=str(tmp_path / "client"))
