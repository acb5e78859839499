"""Sign-in hardening over real HTTP: throttling per account and per address (shared by server processes,
kept in the database), Argon2 rehash on login, session listing and revocation, client addresses."""

from __future__ import annotations

import itertools
import time

import httpx
import pytest
from argon2 import PasswordHasher
from sqlalchemy import select, update

from conftest import Server, serving
from inprocess import InProcessServer

THROTTLED_ENV = {
    "PHONECLOUD_LOGIN_ACCOUNT_FAILURES": "3",
    "PHONECLOUD_LOGIN_ADDRESS_FAILURES": "5",
    "PHONECLOUD_LOGIN_FAILURE_WINDOW_SECONDS": "600",
    "PHONECLOUD_LOGIN_LOCKOUT_SECONDS": "1",
    "PHONECLOUD_TRUSTED_PROXIES": "1",  # the tests play the proxy: X-Forwarded-For names each test's address
    "PHONECLOUD_EMBEDDED_WORKERS": "0",
}
WRONG = "not the password"
_addresses = itertools.count(1)
_emails = itertools.count(1)


@pytest.fixture(scope="module")
def throttled_app(tmp_path_factory):
    """The throttle is a rule of the accounts domain: the app in this process, configured for it."""
    with serving(tmp_path_factory.mktemp("throttled") / "data", THROTTLED_ENV, in_process=True) as running:
        yield running


@pytest.fixture(scope="module")
def throttled(throttled_app):
    return throttled_app[0]


@pytest.fixture(scope="module")
def people(throttled_app):
    return throttled_app[1]


@pytest.fixture
def address() -> str:
    """An address of this test's own, so that tests do not add to each other's counts."""
    number = next(_addresses)
    return f"198.51.{number // 250}.{number % 250 + 1}"


def login(server: Server | InProcessServer, email: str, password: str,
          address: str | None = None) -> httpx.Response:
    headers = {"X-Forwarded-For": address} if address else {}
    with server.client() as anonymous:
        return anonymous.post("/auth/login", json={"email": email, "password": password}, headers=headers)


def assert_throttled(response: httpx.Response) -> int:
    assert response.status_code == 429, response.text
    wait = int(response.headers["retry-after"])
    body = response.json()
    assert body["error"] == "too_many_attempts" and body["retry_after"] == wait >= 1
    assert f"try again in {wait} seconds" in body["message"]
    return wait


def after_lockout(server: Server | InProcessServer, email: str, password: str, address: str) -> httpx.Response:
    """The first answer that is not 429, waiting out each lockout as Retry-After says (a refused attempt
    is not counted, so asking again costs nothing); bounded, and nothing asserted about the time."""
    for _ in range(30):
        answer = login(server, email, password, address)
        if answer.status_code != 429:
            return answer
        time.sleep(int(answer.headers["retry-after"]))
    raise AssertionError("still locked after 30 waits")


def new_email() -> str:
    return f"nobody{next(_emails)}-{time.monotonic_ns()}@example.org"


def test_an_account_is_locked_after_its_failures_even_for_the_right_password(throttled, people, address):
    user = people.create()
    for _ in range(3):
        assert login(throttled, user.email, WRONG, address).status_code == 401
    assert_throttled(login(throttled, user.email, user.password, address))
    other_address = "203.0.113.77"  # per account: moving elsewhere does not help
    assert_throttled(login(throttled, user.email, user.password, other_address))
    assert user.http.get("/me").status_code == 200  # API keys are not password sign-ins: they keep working
    assert after_lockout(throttled, user.email, user.password, address).status_code == 200


def test_an_unknown_email_is_answered_exactly_like_an_account(throttled, people, address):
    user = people.create()
    ghost = new_email()
    real = [login(throttled, user.email, WRONG, address) for _ in range(3)]
    fake = [login(throttled, ghost, WRONG, "203.0.113.1") for _ in range(3)]
    assert [r.status_code for r in real] == [r.status_code for r in fake] == [401] * 3
    assert {r.json()["message"] for r in real + fake} == {"wrong email or password"}
    locked_real = login(throttled, user.email, WRONG, address)
    locked_fake = login(throttled, ghost, WRONG, "203.0.113.1")
    assert assert_throttled(locked_real) == assert_throttled(locked_fake)
    assert locked_real.json().keys() == locked_fake.json().keys()


def test_an_address_is_locked_across_accounts(throttled, people, address):
    user = people.create()
    for _ in range(5):  # a password spray: one try at each of many emails
        assert login(throttled, new_email(), WRONG, address).status_code == 401
    assert_throttled(login(throttled, user.email, user.password, address))
    assert login(throttled, user.email, user.password, "203.0.113.200").status_code == 200


def test_each_lockout_in_a_row_lasts_twice_the_one_before(throttled, people, address):
    user = people.create()
    waits = []
    for _ in range(2):
        for _ in range(3):
            assert after_lockout(throttled, user.email, WRONG, address).status_code == 401
        waits.append(assert_throttled(login(throttled, user.email, WRONG, address)))
    assert waits == [1, 2]


def test_a_correct_sign_in_forgets_the_accounts_failures(throttled, people, address):
    user = people.create()
    for _ in range(2):  # without the reset, the first attempt of the second round would be locked out
        assert login(throttled, user.email, WRONG, address).status_code == 401
        assert login(throttled, user.email, WRONG, address).status_code == 401
        assert login(throttled, user.email, user.password, address).status_code == 200


def test_the_throttle_is_shared_by_every_server_process(throttled, people, address):
    user = people.create()
    second = Server(throttled.data_dir, THROTTLED_ENV).start()
    try:
        for _ in range(3):
            assert login(throttled, user.email, WRONG, address).status_code == 401
        assert_throttled(login(second, user.email, user.password, address))
    finally:
        second.stop()


def test_forwarded_for_is_ignored_unless_proxies_are_trusted(tmp_path):
    env = {**THROTTLED_ENV, "PHONECLOUD_TRUSTED_PROXIES": "0"}
    with serving(tmp_path / "data", env, in_process=True) as (direct, _):
        for number in range(5):  # made-up addresses: all of it comes from 127.0.0.1 all the same
            assert login(direct, new_email(), WRONG, f"192.0.2.{number}").status_code == 401
        assert_throttled(login(direct, new_email(), WRONG, "192.0.2.99"))


def test_a_hash_made_with_older_parameters_is_upgraded_at_sign_in(throttled, people, address):
    from phonecloud.accounts.models import User

    user = people.create()
    weak = PasswordHasher(time_cost=1, memory_cost=8 * 1024, parallelism=1).hash(user.password)
    with people.services.db.write() as session:
        session.execute(update(User).where(User.email == user.email).values(password_hash=weak))
    assert login(throttled, user.email, user.password, address).status_code == 200
    with people.services.db.read() as session:
        stored = session.scalar(select(User.password_hash).where(User.email == user.email))
    assert stored != weak and stored.startswith("$argon2id$")
    assert not PasswordHasher().check_needs_rehash(stored)
    assert login(throttled, user.email, user.password, address).status_code == 200


def test_sessions_are_listed_and_revoked_one_by_one_or_all_at_once(throttled, people, address):
    user = people.create()
    tokens = [login(throttled, user.email, user.password, address).json()["token"] for _ in range(4)]
    first, second, third, fourth = (throttled.client(token) for token in tokens)
    listed = first.get("/auth/sessions").json()
    assert len(listed) == 4 and [s["current"] for s in listed] == [True, False, False, False]

    assert first.delete(f"/auth/sessions/{listed[1]['id']}").status_code == 204
    assert second.get("/me").status_code == 401 and first.get("/me").status_code == 200

    kept = third.delete("/auth/sessions", params={"keep_current": "true"})
    assert kept.status_code == 200 and kept.json() == {"revoked": 2}
    assert first.get("/me").status_code == fourth.get("/me").status_code == 401
    assert [s["current"] for s in third.get("/auth/sessions").json()] == [True]

    assert user.http.delete("/auth/sessions").json() == {"revoked": 1}  # with the device's API key
    assert third.get("/me").status_code == 401
    assert user.http.get("/auth/sessions").json() == []


def test_another_users_session_cannot_be_seen_or_revoked(throttled, people, address):
    owner, stranger = people.create(), people.create(name="stranger")
    token = login(throttled, owner.email, owner.password, address).json()["token"]
    session_id = throttled.client(token).get("/auth/sessions").json()[0]["id"]
    assert stranger.http.get("/auth/sessions").json() == []
    refused = stranger.http.delete(f"/auth/sessions/{session_id}")
    assert refused.status_code == 404 and refused.json()["error"] == "not_found"
    assert throttled.client(token).get("/me").status_code == 200


@pytest.mark.parametrize("peer, forwarded, proxies, expected", [
    ("10.0.0.9", ["6.6.6.6"], 0, "10.0.0.9"),  # no trusted proxy: the header is the client's own words
    ("10.0.0.9", ["6.6.6.6, 198.51.100.4"], 1, "198.51.100.4"),  # the proxy appended what it saw
    ("10.0.0.9", ["6.6.6.6, 198.51.100.4", "10.0.0.2"], 2, "198.51.100.4"),  # two proxies, two headers
    ("10.0.0.9", ["198.51.100.4"], 3, "198.51.100.4"),  # fewer hops than proxies: the leftmost
    ("10.0.0.9", ["not-an-address"], 1, "10.0.0.9"),
    ("10.0.0.9", [], 1, "10.0.0.9"),
    ("2001:db8:1:2:3:4:5:6", [], 0, "2001:db8:1:2::/64"),  # one IPv6 subscriber: one /64
    ("::ffff:192.0.2.1", [], 0, "192.0.2.1"),
    (None, [], 0, "unknown"),
])
def test_the_client_address_is_believed_only_as_far_as_proxies_are_trusted(peer, forwarded, proxies, expected):
    from phonecloud.accounts.addresses import client_address

    assert client_address(peer, forwarded, proxies) == expected
