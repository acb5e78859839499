"""The catalogue of plans: the default Free plan, adding, listing, changing and retiring plans through the
CLI (on the server's data: in this process, and in real `phonecloud` processes for one test) and the admin API,
each wrong value refused with a 4xx (or `error: ...` and a non-zero exit) naming the problem, and
administrators only."""

from __future__ import annotations

import json

import pytest

from plans.helpers import assert_fails, assert_refused, cli, make_admin, ok, unique

pytestmark = pytest.mark.in_process  # domain rules: the app in this process (tests/inprocess.py)


@pytest.fixture(scope="module")
def admin(accounts):
    return make_admin(accounts)


def plans_by_name(admin) -> dict[str, dict]:
    listed = admin.http.get("/admin/plans")
    assert listed.status_code == 200, listed.text
    return {plan["name"]: plan for plan in listed.json()}


def cli_plans(server) -> dict[str, dict]:
    return {plan["name"]: plan for plan in json.loads(ok(cli(server, "admin", "plan", "list", "--json")).stdout)}


def test_the_default_free_plan_has_the_server_default_quota(server, admin, user):
    default_quota = server.services.settings.default_quota_bytes
    free = plans_by_name(admin)["Free"]
    assert free == {"name": "Free", "quota_bytes": default_quota, "price": None, "currency": None, "period": "none",
                    "kinds": None, "is_default": True, "retired": False, "members": free["members"]}
    assert [name for name, plan in plans_by_name(admin).items() if plan["is_default"]] == ["Free"]
    me = user.http.get("/me").json()
    assert (me["plans"], me["quota_bytes"]) == (["Free"], default_quota)
    assert set(me["intake"]) == {"gallery", "messages", "contacts"} and set(me["intake"].values()) == {None}
    listed = ok(cli(server, "admin", "plan", "list")).stdout.splitlines()
    assert any(line.startswith("Free\t5.0 GiB\tfree\tevery kind\t") and line.endswith("(default)") for line in listed)


def test_the_cli_adds_lists_changes_and_retires_a_plan(server, admin):
    name = unique("Plus")
    added = ok(cli(server, "admin", "plan", "add", name, "--quota", "50GB", "--price", "1.99", "--currency", "eur",
                   "--period", "month", "--kinds", "gallery,contacts"))
    assert added.stdout.strip() == f"added plan {name}\t46.6 GiB\t1.99 EUR/month\tcontacts,gallery\t0 members"
    expected = {"name": name, "quota_bytes": 50 * 1000**3, "price": "1.99", "currency": "EUR", "period": "month",
                "kinds": ["contacts", "gallery"], "is_default": False, "retired": False, "members": 0}
    assert cli_plans(server)[name] == expected
    assert plans_by_name(admin)[name] == expected  # the running server sees what the command wrote

    changed = ok(cli(server, "admin", "plan", "change", name, "--quota", "200GB", "--price", "2.49", "--period",
                     "year", "--every-kind"))
    assert changed.stdout.startswith(f"changed plan {name}\t186.3 GiB\t2.49 EUR/year\tevery kind")
    expected.update(quota_bytes=200 * 1000**3, price="2.49", period="year", kinds=None)
    assert plans_by_name(admin)[name] == expected

    ok(cli(server, "admin", "plan", "change", name, "--kinds", "messages"))
    assert plans_by_name(admin)[name]["kinds"] == ["messages"]

    retired = ok(cli(server, "admin", "plan", "retire", name))
    assert retired.stdout.strip().endswith("(retired)")
    assert plans_by_name(admin)[name] == {**expected, "kinds": ["messages"], "retired": True}
    ok(cli(server, "admin", "plan", "retire", name))  # again: still retired, not an error
    assert cli_plans(server)[name]["retired"] is True


def test_the_api_adds_changes_and_retires_a_plan(admin):
    name = unique("Family")
    added = admin.http.post("/admin/plans", json={"name": name, "quota_bytes": 2 * 1000**4, "price": "9.99",
                                                  "currency": "usd", "period": "year"})
    assert added.status_code == 201, added.text
    assert added.json() == {"name": name, "quota_bytes": 2 * 1000**4, "price": "9.99", "currency": "USD",
                            "period": "year", "kinds": None, "is_default": False, "retired": False, "members": 0}
    changed = admin.http.patch("/admin/plans", json={"name": name, "price": "10", "kinds": ["gallery", "messages"]})
    assert changed.status_code == 200, changed.text
    assert (changed.json()["price"], changed.json()["kinds"], changed.json()["quota_bytes"]) == (
        "10.00", ["gallery", "messages"], 2 * 1000**4)
    every = admin.http.patch("/admin/plans", json={"name": name, "every_kind": True})
    assert every.json()["kinds"] is None
    retired = admin.http.post("/admin/plans/retire", json={"name": name})
    assert retired.status_code == 200 and retired.json()["retired"] is True
    assert plans_by_name(admin)[name]["retired"] is True
    assert_refused(admin.http.patch("/admin/plans", json={"name": unique("nowhere"), "price": "1"}), 404, "no plan")


def test_a_zero_decimal_currency_takes_whole_amounts_only(admin, server):
    name = unique("Yen")
    added = admin.http.post("/admin/plans", json={"name": name, "quota_bytes": 10**9, "price": "100",
                                                  "currency": "JPY"})
    assert added.status_code == 201, added.text
    assert (added.json()["price"], added.json()["currency"]) == ("100", "JPY")
    assert_refused(admin.http.post("/admin/plans", json={"name": unique("Yen"), "quota_bytes": 10**9, "price": "1.5",
                                                         "currency": "JPY"}), 400, "JPY has 0 decimals", "'1.5'")
    assert_fails(cli(server, "admin", "plan", "add", unique("Yen"), "--quota", "1GB", "--price", "1.5",
                     "--currency", "JPY"), "JPY has 0 decimals")
    three = admin.http.post("/admin/plans", json={"name": unique("Dinar"), "quota_bytes": 10**9, "price": "1.005",
                                                  "currency": "KWD"})
    assert three.status_code == 201 and three.json()["price"] == "1.005"


# (body changes from a valid plan, status, phrases the message names)
API_REFUSALS = {
    "currency-not-iso": ({"currency": "EUX"}, 400, ["not an ISO 4217 currency code", "'EUX'"]),
    "currency-too-long": ({"currency": "EURO"}, 422, ["currency", "at most 3 characters"]),
    "too-many-decimals": ({"price": "1.999"}, 400, ["EUR has 2 decimals", "'1.999'"]),
    "not-an-amount": ({"price": "one"}, 400, ["not an amount", "'one'"]),
    "negative-price": ({"price": "-1"}, 400, ["positive", "'-1'"]),
    "negative-quota": ({"quota_bytes": -1}, 422, ["quota_bytes", "greater than or equal to 0"]),
    "unknown-kind": ({"kinds": ["gallery", "videos"]}, 400, ["kinds must name some of", "not videos"]),
    "no-kinds": ({"kinds": []}, 400, ["kinds must name some of"]),
    "price-without-currency": ({"currency": None}, 400, ["needs its currency"]),
    "bad-period": ({"period": "weekly"}, 400, ["period must be one of", "'weekly'"]),
    "comma-in-name": ({"name": "a,b"}, 400, ["plan's name", "without commas"]),
}


@pytest.mark.parametrize("case", sorted(API_REFUSALS))
def test_the_api_refuses_a_wrong_plan_naming_the_problem(admin, case):
    changes, status, phrases = API_REFUSALS[case]
    name = unique("Wrong")
    body = {"name": name, "quota_bytes": 10**9, "price": "1.99", "currency": "EUR", **changes}
    assert_refused(admin.http.post("/admin/plans", json=body), status, *phrases)
    assert name not in plans_by_name(admin)


# (command-line options, exit code (None: any non-zero), phrases of the `error:` line)
CLI_REFUSALS = {
    "currency": (["--price", "1.99", "--currency", "EURO"], 1, ["not an ISO 4217 currency code", "'EURO'"]),
    "too-many-decimals": (["--price", "1.999", "--currency", "EUR"], 1, ["EUR has 2 decimals"]),
    "negative-quota": (["--quota", "-5GB"], 2, ["not a size", "'-5GB'"]),
    "unknown-kind": (["--kinds", "gallery,videos"], 1, ["not videos"]),
    "price-without-currency": (["--price", "1.99"], 1, ["needs its currency"]),
}


@pytest.mark.parametrize("case", sorted(CLI_REFUSALS))
def test_the_cli_refuses_a_wrong_plan_with_an_error_line_and_no_traceback(server, admin, case):
    options, code, phrases = CLI_REFUSALS[case]
    name = unique("Wrong")
    quota = [] if "--quota" in options else ["--quota", "1GB"]
    done = cli(server, "admin", "plan", "add", name, *quota, *options)
    assert_fails(done, *phrases, code=code)
    assert done.stdout == ""
    assert name not in plans_by_name(admin)


def test_a_duplicate_name_is_a_conflict(server, admin):
    name = unique("Twice")
    assert admin.http.post("/admin/plans", json={"name": name, "quota_bytes": 10**9}).status_code == 201
    assert_refused(admin.http.post("/admin/plans", json={"name": name, "quota_bytes": 2 * 10**9}), 409,
                   f"a plan named {name!r} exists already", error="conflict")
    assert_fails(cli(server, "admin", "plan", "add", name, "--quota", "3GB"), "exists already")
    assert plans_by_name(admin)[name]["quota_bytes"] == 10**9  # the first one, unchanged


def test_the_default_plan_cannot_be_retired(server, admin):
    assert_refused(admin.http.post("/admin/plans/retire", json={"name": "Free"}), 400, "default plan",
                   "cannot be retired")
    assert_fails(cli(server, "admin", "plan", "retire", "Free"), "default plan", "cannot be retired")
    assert plans_by_name(admin)["Free"]["retired"] is False
    # and nobody is made a member of it: it is what users without a membership have
    assert_fails(cli(server, "admin", "membership", "start", admin.email, "Free"), "default plan")


def test_a_retired_plan_takes_no_new_memberships_and_its_members_keep_it(server, accounts, admin):
    name = unique("Old")
    # The plan group's real processes: exit codes, output streams and no traceback as a shell sees them.
    ok(cli(server, "admin", "plan", "add", name, "--quota", "20GB", process=True))
    member, newcomer, latecomer = accounts.create(), accounts.create(), accounts.create()
    started = admin.http.post("/admin/memberships", json={"email": member.email, "plan": name})
    assert started.status_code == 201, started.text
    ok(cli(server, "admin", "plan", "retire", name, process=True))

    assert_refused(admin.http.post("/admin/memberships", json={"email": newcomer.email, "plan": name}), 409,
                   "is retired", "no new members")
    assert_fails(cli(server, "admin", "membership", "start", latecomer.email, name, process=True), "is retired")
    for outsider in (newcomer, latecomer):
        assert outsider.http.get("/me").json()["plans"] == ["Free"]
    assert member.http.get("/me").json()["plans"] == [name]
    assert member.http.get("/me").json()["quota_bytes"] == 20 * 1000**3
    assert plans_by_name(admin)[name]["members"] == 1


ADMIN_ENDPOINTS = [
    ("GET", "/admin/plans", None),
    ("POST", "/admin/plans", {"name": "Sneaky", "quota_bytes": 10**12}),
    ("PATCH", "/admin/plans", {"name": "Free", "quota_bytes": 10**12}),
    ("POST", "/admin/plans/retire", {"name": "Free"}),
    ("GET", "/admin/memberships?email=someone@example.org", None),
    ("POST", "/admin/memberships", {"email": "someone@example.org", "plan": "Free"}),
    ("POST", "/admin/memberships/end", {"email": "someone@example.org", "plan": "Free"}),
    ("POST", "/admin/payments", {"email": "someone@example.org", "amount": "1.00", "currency": "EUR",
                                 "plan": "Free", "reference": "sneaky"}),
    ("POST", "/admin/refunds", {"email": "someone@example.org", "amount": "1.00", "currency": "EUR",
                                "plan": "Free", "reference": "sneaky"}),
    ("GET", "/admin/ledger", None),
    ("GET", "/admin/ledger.csv", None),
    ("GET", "/admin/region-groups", None),
    ("POST", "/admin/region-groups", {"name": "Sneaky", "countries": ["DE"]}),
    ("POST", "/admin/region-groups/kinds", {"name": "Sneaky", "kind": "gallery", "enabled": False}),
    ("POST", "/admin/region-groups/remove-countries", {"name": "Sneaky", "countries": ["DE"]}),
    ("DELETE", "/admin/region-groups?name=Sneaky", None),
    ("POST", "/admin/users", {"email": "sneaky@example.org", "password": "correct horse battery", "region": "DE"}),
    ("PATCH", "/admin/users", {"email": "someone@example.org", "region": "DE"}),
]


@pytest.mark.parametrize("method, path, body", ADMIN_ENDPOINTS, ids=[f"{m} {p}" for m, p, _ in ADMIN_ENDPOINTS])
def test_a_user_who_is_not_an_administrator_gets_403_from_every_admin_endpoint(user, admin, method, path, body):
    before = plans_by_name(admin)["Free"]
    answer = user.http.request(method, path, json=body)
    assert_refused(answer, 403, error="forbidden")
    assert plans_by_name(admin)["Free"] == before
    assert "Sneaky" not in plans_by_name(admin)


def test_without_a_key_the_admin_endpoints_are_401(server):
    with server.client() as anonymous:
        assert anonymous.get("/admin/plans").status_code == 401
        assert anonymous.get("/admin/ledger.csv").status_code == 401
