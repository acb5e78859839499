"""`phonecloud admin ...` and the CLI's help on a real server's data folder: the help and a few commands as
real `phonecloud` processes, the other commands in the test's process (cli_runner.phonecloud_in_process)."""

from __future__ import annotations

import re
import uuid
from pathlib import Path

import httpx
import pytest

import cli_runner
import scaleout
from cli_runner import Run, clean_env
from conftest import Server

PASSWORD = "correct horse battery"
KEY_LINE = re.compile(r"^pck_[A-Za-z0-9_-]{20,}$")


def phonecloud(data_dir: Path, *args: str, process: bool = False) -> Run:
    """`phonecloud ARGS...` on data_dir in this process, or with process=True in a real `phonecloud` process."""
    # In a scale-out run: the database and bucket of that data dir.
    env = clean_env(PHONECLOUD_DATA_DIR=str(data_dir), **scaleout.storage_for(data_dir))
    if process:
        return cli_runner.phonecloud(env, *args, timeout=120)
    return cli_runner.phonecloud_in_process(env, *args)


def new_email() -> str:
    return f"admin-cli-{uuid.uuid4().hex[:12]}@example.org"


def assert_fails(done: Run, code: int | None, *phrases: str) -> None:
    """Failed with `code` (any non-zero when None) and one `error: ...` line holding every phrase."""
    assert done.returncode != 0 if code is None else done.returncode == code, (done.returncode, done.stderr)
    assert "Traceback" not in done.stderr, done.stderr
    assert any(line.startswith("error: ") and all(p in line for p in phrases) for line in done.stderr.splitlines()), \
        done.stderr


def create_user(data_dir: Path, email: str, *options: str) -> None:
    done = phonecloud(data_dir, "admin", "create-user", email, "--password", PASSWORD, *options)
    assert done.returncode == 0, done.stderr


def create_key(data_dir: Path, email: str, device: str = "Pixel 7") -> str:
    done = phonecloud(data_dir, "admin", "create-key", email, "--name", device)
    assert done.returncode == 0, done.stderr
    key = done.stdout.strip().splitlines()[-1]
    assert KEY_LINE.match(key), done.stdout
    return key


def me(server: Server, key: str) -> dict:
    with server.client(key) as http:
        answer = http.get("/me")
    assert answer.status_code == 200, answer.text
    return answer.json()


# -- users and keys on the running server --------------------------------------------------------------------


def test_create_user_and_key_that_work_against_the_running_server(server):
    email = new_email()

    # The admin users group's real processes: exit code 0 and the output on stdout, as a shell sees them.
    created = phonecloud(server.data_dir, "admin", "create-user", email, "--password", PASSWORD, "--quota", "2GiB",
                         "--admin", process=True)
    assert created.returncode == 0, created.stderr
    assert created.stdout.strip() == f"created admin user {email} (ZZ) with a quota of 2.0 GiB"

    issued = phonecloud(server.data_dir, "admin", "create-key", email, "--name", "Pixel 7", process=True)
    assert issued.returncode == 0, issued.stderr
    *explanation, key = issued.stdout.strip().splitlines()
    assert KEY_LINE.match(key) and "Pixel 7" in explanation[-1]

    account = me(server, key)
    assert (account["email"], account["is_admin"], account["quota_bytes"]) == (email, True, 2 * 1024**3)
    with server.client(key) as http:
        assert [device["name"] for device in http.get("/devices").json()] == ["Pixel 7"]
    login = httpx.post(f"{server.url}/api/v1/auth/login", json={"email": email, "password": PASSWORD}, timeout=30)
    assert login.status_code == 200, login.text


def test_a_user_made_without_options_is_no_admin_with_the_default_quota_and_any_number_of_keys(server):
    email = new_email()
    create_user(server.data_dir, email)

    keys = {create_key(server.data_dir, email, device) for device in ("phone", "tablet")}

    assert len(keys) == 2
    accounts = [me(server, key) for key in keys]
    assert {(a["email"], a["is_admin"], a["quota_bytes"]) for a in accounts} == {(email, False, 5 * 1024**3)}


def test_set_quota_changes_the_quota_the_server_enforces(server, user):
    done = phonecloud(server.data_dir, "admin", "set-quota", user.email, "750MB")

    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == f"{user.email}: quota 715.3 MiB, 0 B used"
    assert me(server, user.key)["quota_bytes"] == 750_000_000


# -- mistakes ------------------------------------------------------------------------------------------------


def test_a_second_user_with_the_same_email_is_refused(server, user):
    done = phonecloud(server.data_dir, "admin", "create-user", user.email.upper(), "--password", PASSWORD)

    assert_fails(done, 1, "already exists", user.email)


@pytest.mark.parametrize("args, phrases", [
    (["create-user", "{new}", "--password", "short"], ["password too short", "8"]),
    (["create-user", "not-an-email", "--password", PASSWORD], ["not an email address", "not-an-email"]),
    (["create-key", "{new}"], ["no user with email", "{new}"]),
    (["create-key", "{user}", "--name", "  "], ["device name"]),
    (["set-quota", "{new}", "1GiB"], ["no user with email", "{new}"]),
], ids=["short-password", "bad-email", "key-for-nobody", "blank-device-name", "quota-for-nobody"])
def test_mistakes_are_refused_with_a_clear_message(server, user, args, phrases):
    names = {"new": new_email(), "user": user.email}

    done = phonecloud(server.data_dir, "admin", *(arg.format(**names) for arg in args))

    assert_fails(done, 1, *(phrase.format(**names) for phrase in phrases))


def test_a_quota_that_is_not_a_size_exits_2_and_changes_nothing(server, user):
    email = new_email()

    # Real processes refusing: exit 2, one error line on stderr, no traceback.
    refused_user = phonecloud(server.data_dir, "admin", "create-user", email, "--password", PASSWORD, "--quota", "lots",
                              process=True)
    refused_quota = phonecloud(server.data_dir, "admin", "set-quota", user.email, "5 potatoes", process=True)

    assert_fails(refused_user, 2, "not a size", "'lots'")
    assert_fails(refused_quota, 2, "not a size", "'5 potatoes'")
    assert me(server, user.key)["quota_bytes"] == 5 * 1024**3
    create_user(server.data_dir, email)  # the refused create-user made nothing: the email is still free


# -- the first admin -----------------------------------------------------------------------------------------

FIRST_ADMIN = re.compile(r"^created the first admin: (\S+) with password (\S+) ", re.M)


def test_ensure_admin_creates_a_working_admin_only_on_an_empty_server(tmp_path):
    data_dir = tmp_path / "data"

    first = phonecloud(data_dir, "admin", "ensure-admin")
    again = phonecloud(data_dir, "admin", "ensure-admin")

    assert first.returncode == 0, first.stderr
    email, password = FIRST_ADMIN.search(first.stdout).groups()
    assert email == "admin@localhost"
    assert again.returncode == 0, again.stderr
    assert again.stdout.strip() == "users exist already; nothing to do"
    fresh = Server(data_dir).start()
    try:
        login = httpx.post(f"{fresh.url}/api/v1/auth/login", json={"email": email, "password": password}, timeout=30)
        assert login.status_code == 200, login.text
        assert me(fresh, login.json()["token"])["is_admin"] is True
    finally:
        fresh.stop()


def test_ensure_admin_does_nothing_when_a_user_exists(tmp_path):
    data_dir = tmp_path / "data"
    create_user(data_dir, "someone@example.org")

    done = phonecloud(data_dir, "admin", "ensure-admin", "--email", "boss@example.org")

    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "users exist already; nothing to do"
    assert_fails(phonecloud(data_dir, "admin", "create-key", "boss@example.org"), 1, "no user with email")


# -- help ----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("args, words", [
    (["--help"], ["serve", "admin", "login", "sync"]),
    (["serve", "--help"], ["--host", "--port", "--access-log"]),
    (["admin", "--help"], ["create-user", "create-key", "set-quota", "ensure-admin"]),
    (["admin", "create-user", "--help"], ["--password", "--quota", "--admin"]),
], ids=["phonecloud", "serve", "admin", "create-user"])
def test_help(tmp_path, args, words):
    done = phonecloud(tmp_path / "unused", *args, process=True)  # the help a shell gets, `phonecloud --help` too

    assert done.returncode == 0, done.stderr
    for word in words:
        assert word in done.stdout
    assert not (tmp_path / "unused").exists()  # asking for help touches no data


# What a server command says when the settings name a storage whose extra is not installed: boto3 and psycopg
# are blocked in the command's own process, as if `pip install phonecloud[server]` had been all.
WITHOUT_EXTRAS = ("import sys; sys.modules['boto3'] = sys.modules['psycopg'] = None; "
                  "from phonecloud.cli import main; sys.argv[0] = 'phonecloud'; main()")


@pytest.mark.parametrize(("setting", "url", "extra"), [
    ("PHONECLOUD_BLOB_URL", "s3://bucket/prefix?endpoint=http://127.0.0.1:9", "s3"),
    ("PHONECLOUD_DATABASE_URL", "postgresql+psycopg://nobody@127.0.0.1:9/none", "postgres"),
])
@pytest.mark.parametrize("command", [("serve",), ("worker", "--until-idle"), ("admin", "recover")])
def test_a_storage_without_its_extra_is_named_in_one_line(tmp_path, setting, url, extra, command):
    import sys

    env = clean_env(PHONECLOUD_DATA_DIR=str(tmp_path / "data"), **{setting: url})
    done = cli_runner.phonecloud(env, *command, program=(sys.executable, "-c", WITHOUT_EXTRAS), timeout=60)
    assert_fails(done, 2, setting, f"pip install 'phonecloud[{extra}]'")
    assert len(done.stderr.strip().splitlines()) == 1, done.stderr
