"""CardDAV sign-in is throttled like every sign-in: wrong passwords and wrong app passwords count against the
account and the address, a locked account gets 429 with Retry-After (even with the right password), and the
lockout is the one /auth/login sees. A right password is remembered briefly, and forgotten when it changes."""

from __future__ import annotations

import itertools

import pytest

from conftest import serving
from contacts.dav_helpers import book_path, propfind

THROTTLED_ENV = {
    "PHONECLOUD_LOGIN_ACCOUNT_FAILURES": "3",
    "PHONECLOUD_LOGIN_ADDRESS_FAILURES": "1000",
    "PHONECLOUD_LOGIN_FAILURE_WINDOW_SECONDS": "600",
    "PHONECLOUD_LOGIN_LOCKOUT_SECONDS": "60",
    "PHONECLOUD_TRUSTED_PROXIES": "1",
    "PHONECLOUD_EMBEDDED_WORKERS": "0",
}
_addresses = itertools.count(1)


@pytest.fixture(scope="module")
def throttled_app(tmp_path_factory):
    with serving(tmp_path_factory.mktemp("dav-throttled") / "data", THROTTLED_ENV, in_process=True) as running:
        yield running


def dav_status(server, email: str, secret: str) -> tuple[int, dict]:
    address = f"203.0.113.{next(_addresses)}"
    with server.client(base="", auth=(email, secret), headers={"X-Forwarded-For": address}) as dav:
        answer = propfind(dav, book_path(email), "<d:getetag/>")
    return answer.status_code, answer.headers


@pytest.mark.parametrize("wrong", ["not the password", "pck_not-a-real-key"])
def test_wrong_secrets_lock_the_account_and_then_even_the_right_one_gets_429(throttled_app, wrong):
    server, accounts = throttled_app
    user = accounts.create()
    assert dav_status(server, user.email, user.password)[0] == 207
    for _ in range(3):
        assert dav_status(server, user.email, wrong)[0] == 401
    status, headers = dav_status(server, user.email, user.password)
    assert status == 429 and int(headers["retry-after"]) > 0
    with server.client() as anonymous:  # the same lockout as the API's sign-in
        assert anonymous.post("/auth/login", json={"email": user.email, "password": user.password}).status_code == 429


def test_a_remembered_password_stops_working_once_it_is_changed(throttled_app):
    server, accounts = throttled_app
    user = accounts.create()
    assert dav_status(server, user.email, user.password)[0] == 207
    changed = user.http.post("/me/password", json={"current_password": user.password,
                                                  "new_password": "another long password"})
    assert changed.status_code in (200, 204), changed.text
    assert dav_status(server, user.email, user.password)[0] == 401
    assert dav_status(server, user.email, "another long password")[0] == 207
