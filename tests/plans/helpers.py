"""Shared by the plans, ledger and regions tests: administrators, the `phonecloud` command run on a test
server's data, unique names, and padded photos of a given size."""

from __future__ import annotations

import os
import time
import uuid

import cli_runner
from cli_runner import Run
from conftest import Accounts, User
from media_fixtures import jpeg

PASSWORD = "correct horse battery"


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def new_email(prefix: str = "plans") -> str:
    return f"{unique(prefix)}@example.org"


def make_admin(accounts: Accounts) -> User:
    """An administrator of the accounts' server, with an API key."""
    email = new_email("operator")
    made = accounts.services.accounts.create_user(email, PASSWORD, None, True)
    key = accounts.services.accounts.create_api_key(made.id, "billing system").key
    client = accounts.server.client(key)
    accounts._clients.append(client)
    return User(email, PASSWORD, key, client)


def cli(server, *args: str, process: bool = False) -> Run:
    """`phonecloud ARGS...` as an operator runs it on the server's data (its database and blob store): in this
    process (cli_runner.phonecloud_in_process), or with process=True a real `phonecloud` process."""
    if process:
        return cli_runner.phonecloud(server.env, *args, timeout=120)
    return cli_runner.phonecloud_in_process(server.env, *args)


def ok(run: Run) -> Run:
    assert run.returncode == 0, (run.returncode, run.stdout, run.stderr)
    assert "Traceback" not in run.stderr, run.stderr
    return run


def assert_fails(run: Run, *phrases: str, code: int | None = None) -> str:
    """Failed (with `code`, or any non-zero) with one `error: ...` line holding every phrase, and no
    traceback; the line."""
    assert (run.returncode != 0 if code is None else run.returncode == code), (run.returncode, run.stderr)
    assert "Traceback" not in run.stderr, run.stderr
    lines = [line for line in run.stderr.splitlines()
             if line.startswith("error: ") and all(phrase in line for phrase in phrases)]
    assert lines, run.stderr
    return lines[0]


def assert_refused(response, status: int, *phrases: str, error: str | None = None) -> dict:
    """An error answer with this status, whose message holds every phrase."""
    assert response.status_code == status, (response.status_code, response.text)
    body = response.json()
    for phrase in phrases:
        assert phrase in body["message"], body
    if error is not None:
        assert body["error"] == error, body
    return body


def photo_of(size: int, seed: int | None = None) -> bytes:
    """A real JPEG padded to exactly size bytes, different every call."""
    head = jpeg(seed if seed is not None else int.from_bytes(os.urandom(3), "big"))
    return head + os.urandom(size - len(head))


def poll(read, until, timeout: float = 60, interval: float = 0.05):
    """read() again until until(value) holds, or fail with the last value after timeout seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = read()
        if until(value):
            return value
        assert time.monotonic() < deadline, f"still {value!r} after {timeout} s"
        time.sleep(interval)
