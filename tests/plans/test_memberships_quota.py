"""Plans and memberships drive the quota end to end: an upgrade admits uploads over the Free quota; a
downgrade below what a user keeps (a plan made smaller, a membership ended, one that expires) deletes nothing
and refuses new uploads naming the ways out; memberships that start or end later apply when the clock gets
there, also after the server was down meanwhile; an administrator's override wins until handed back to the
plans; a plan of some kinds of data refuses the others.

Rules are tested on the app in this process (a Free quota of 100 kB); what the clock moves, on server
processes that follow a clock file (PHONECLOUD_CLOCK_FILE), with their jobs run by worker processes."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from conftest import run_worker, serving, upload
from phonecloud.core.clock import write_offset
from plans.helpers import assert_fails, assert_refused, cli, make_admin, ok, photo_of, poll, unique

FREE_QUOTA = 100_000
SMALL_FREE = {"PHONECLOUD_DEFAULT_QUOTA": str(FREE_QUOTA)}


@pytest.fixture(scope="module")
def small(tmp_path_factory):
    """The app in this process, whose default (Free) plan has a quota of 100 kB."""
    with serving(tmp_path_factory.mktemp("plans-small") / "data", SMALL_FREE, in_process=True) as running:
        yield running


@pytest.fixture(scope="module")
def server(small):
    return small[0]


@pytest.fixture(scope="module")
def accounts(small):
    return small[1]


@pytest.fixture(scope="module")
def admin(accounts):
    return make_admin(accounts)


def add_plan(admin, quota_bytes: int, **fields) -> str:
    name = unique(fields.pop("prefix", "Plan"))
    added = admin.http.post("/admin/plans", json={"name": name, "quota_bytes": quota_bytes, **fields})
    assert added.status_code == 201, added.text
    return name


def start(admin, email: str, plan: str, **fields) -> dict:
    started = admin.http.post("/admin/memberships", json={"email": email, "plan": plan, **fields})
    assert started.status_code == 201, started.text
    return started.json()


def me(user) -> dict:
    answer = user.http.get("/me")
    assert answer.status_code == 200, answer.text
    return answer.json()


def stored(user, body: bytes) -> str:
    answer = upload(user, body, filename=f"{unique('IMG')}.jpg")
    assert answer.status_code == 201, answer.text
    return answer.json()["id"]


def assert_over_quota_refusal(answer, used: int, quota: int) -> None:
    body = assert_refused(answer, 413, "nothing of it is deleted", "larger plan", f"{used} of {quota} bytes used",
                          error="quota_exceeded")
    assert (body["used_bytes"], body["quota_bytes"]) == (used, quota)


# -- upgrade, downgrade below use ------------------------------------------------------------------------------


def test_the_free_plan_gives_the_server_default_quota(user):
    assert (me(user)["plans"], me(user)["quota_bytes"]) == (["Free"], FREE_QUOTA)


def test_an_upgrade_raises_the_quota_and_admits_uploads_over_the_free_quota(admin, user):
    big = photo_of(150_000)
    refused = upload(user, big)
    assert refused.status_code == 413 and "larger plan" in refused.json()["message"]
    plan = add_plan(admin, 50 * 1000**3, price="1.99", currency="EUR", prefix="Fifty")
    membership = start(admin, user.email, plan)
    assert (membership["plan"], membership["state"], membership["ends_at"]) == (plan, "active", None)
    assert (me(user)["plans"], me(user)["quota_bytes"]) == ([plan], 50 * 1000**3)
    asset = stored(user, big)
    assert user.http.get(f"/assets/{asset}/original").content == big
    assert me(user)["used_bytes"] == 150_000


def test_a_plan_made_smaller_than_the_space_in_use_deletes_nothing_and_refuses_new_uploads(admin, user):
    plan = add_plan(admin, 1_000_000, prefix="Shrinking")
    start(admin, user.email, plan)
    kept = photo_of(300_000)
    asset = stored(user, kept)
    changed = admin.http.patch("/admin/plans", json={"name": plan, "quota_bytes": 200_000})
    assert changed.status_code == 200, changed.text
    assert (me(user)["quota_bytes"], me(user)["used_bytes"]) == (200_000, 300_000)  # followed at once

    assert_over_quota_refusal(upload(user, photo_of(1_000)), 300_000, 200_000)
    assert user.http.get(f"/assets/{asset}/original").content == kept  # nothing was deleted
    assert [item["id"] for item in user.http.get("/assets").json()["items"]] == [asset]
    assert me(user)["used_bytes"] == 300_000
    # a larger plan again: uploads are taken again
    assert admin.http.patch("/admin/plans", json={"name": plan, "quota_bytes": 2_000_000}).status_code == 200
    stored(user, photo_of(1_000))


def test_a_membership_ended_below_use_falls_back_to_free_and_deletes_nothing(server, admin, user):
    plan = add_plan(admin, 1_000_000, prefix="Ending")
    ok(cli(server, "admin", "membership", "start", user.email, plan))
    kept = photo_of(250_000)
    asset = stored(user, kept)
    ended = ok(cli(server, "admin", "membership", "end", user.email, plan))
    assert ended.stdout.startswith(f"{user.email}: {plan}\t") and ended.stdout.strip().endswith("\tended")
    assert (me(user)["plans"], me(user)["quota_bytes"], me(user)["used_bytes"]) == (["Free"], FREE_QUOTA, 250_000)
    assert_over_quota_refusal(upload(user, photo_of(1_000)), 250_000, FREE_QUOTA)
    assert user.http.get(f"/assets/{asset}/original").content == kept
    assert [item["id"] for item in user.http.get("/assets").json()["items"]] == [asset]
    # ending it again: there is nothing running to end
    assert_fails(cli(server, "admin", "membership", "end", user.email, plan), "has no membership of", plan)


def test_the_largest_quota_among_running_memberships_wins(admin, user):
    small_plan = add_plan(admin, 300_000, prefix="Small")
    large_plan = add_plan(admin, 900_000, prefix="Large")
    start(admin, user.email, small_plan)
    start(admin, user.email, large_plan)
    assert me(user)["quota_bytes"] == 900_000 and sorted(me(user)["plans"]) == sorted([small_plan, large_plan])
    ended = admin.http.post("/admin/memberships/end", json={"email": user.email, "plan": large_plan})
    assert ended.status_code == 200 and [row["state"] for row in ended.json()] == ["ended"]
    assert (me(user)["plans"], me(user)["quota_bytes"]) == ([small_plan], 300_000)


def test_memberships_are_checked_and_listed_through_the_api(admin, user):
    plan = add_plan(admin, 500_000, prefix="Checked")
    now = dt.datetime.now(dt.UTC)
    assert_refused(admin.http.post("/admin/memberships", json={
        "email": user.email, "plan": plan, "starts_at": now.isoformat(),
        "ends_at": (now - dt.timedelta(days=1)).isoformat()}), 400, "must end after it starts")
    assert_refused(admin.http.post("/admin/memberships", json={"email": "nobody@example.org", "plan": plan}), 404,
                   "no user with email nobody@example.org")
    assert_refused(admin.http.post("/admin/memberships", json={"email": user.email, "plan": unique("None")}), 404,
                   "no plan")
    start(admin, user.email, plan)
    assert_refused(admin.http.post("/admin/memberships", json={"email": user.email, "plan": plan}), 409,
                   f"is a member of {plan}", "end that membership first")
    later = (now + dt.timedelta(days=30)).replace(microsecond=0)
    assert_refused(admin.http.post("/admin/memberships/end", json={"email": user.email, "plan": unique("None")}),
                   404, "no plan")
    listed = admin.http.get("/admin/memberships", params={"email": user.email.upper()})
    assert listed.status_code == 200, listed.text
    assert [(row["plan"], row["state"], row["ends_at"]) for row in listed.json()] == [(plan, "active", None)]
    assert admin.http.post("/admin/memberships/end", json={"email": user.email, "plan": plan,
                                                           "at": later.isoformat()}).status_code == 200
    (row,) = admin.http.get("/admin/memberships", params={"email": user.email}).json()
    assert row["state"] == "active" and dt.datetime.fromisoformat(row["ends_at"]) == later
    assert me(user)["quota_bytes"] == 500_000  # until then


def test_membership_list_prints_each_membership_and_what_the_user_has_now(server, admin, user):
    plan = add_plan(admin, 50 * 1000**3, prefix="Listed")
    other = add_plan(admin, 20 * 1000**3, prefix="Later")
    ok(cli(server, "admin", "membership", "start", user.email, plan, "--at", "2025-01-01T00:00:00Z"))
    ok(cli(server, "admin", "membership", "start", user.email, other, "--at", "2099-01-01T00:00:00Z",
           "--until", "2099-02-01T00:00:00+01:00"))
    listed = ok(cli(server, "admin", "membership", "list", user.email)).stdout.splitlines()
    assert listed == [f"{plan}\t2025-01-01T00:00:00+00:00\tuntil ended\tactive",
                      f"{other}\t2099-01-01T00:00:00+00:00\t2099-01-31T23:00:00+00:00\tscheduled",
                      f"now: {plan}; quota 46.6 GiB, 0 B used"]
    as_json = json.loads(ok(cli(server, "admin", "membership", "list", user.email, "--json")).stdout)
    assert [(row["plan"], row["state"]) for row in as_json] == [(plan, "active"), (other, "scheduled")]
    assert_fails(cli(server, "admin", "membership", "list", "nobody@example.org"), "no user with email")
    assert_fails(cli(server, "admin", "membership", "start", user.email, plan, "--at", "yesterday"), "--at",
                 code=2)


def test_a_scheduled_membership_ended_before_it_starts_is_ended_and_never_applies(admin, user):
    plan = add_plan(admin, 700_000, prefix="Cancelled")
    later = (dt.datetime.now(dt.UTC) + dt.timedelta(days=2)).isoformat()
    assert start(admin, user.email, plan, starts_at=later)["state"] == "scheduled"
    ended = admin.http.post("/admin/memberships/end", json={"email": user.email, "plan": plan})
    assert ended.status_code == 200, ended.text
    assert [row["state"] for row in ended.json()] == ["ended"]
    (row,) = admin.http.get("/admin/memberships", params={"email": user.email}).json()
    assert row["state"] == "ended" and row["ends_at"] == row["starts_at"]
    assert (me(user)["plans"], me(user)["quota_bytes"]) == (["Free"], FREE_QUOTA)
    # and it can be scheduled again
    assert start(admin, user.email, plan, starts_at=later)["state"] == "scheduled"


# -- an administrator's override ------------------------------------------------------------------------------


def test_an_administrators_quota_wins_over_plans_until_handed_back(server, admin, user):
    plan = add_plan(admin, 50 * 1000**3, prefix="Overridden")
    start(admin, user.email, plan)
    set_quota = ok(cli(server, "admin", "set-quota", user.email, "1GiB"))
    assert "quota 1.0 GiB" in set_quota.stdout
    assert me(user)["quota_bytes"] == 1024**3
    bigger = add_plan(admin, 200 * 1000**3, prefix="Bigger")
    start(admin, user.email, bigger)  # a plan change does not undo the override
    assert admin.http.patch("/admin/plans", json={"name": plan, "quota_bytes": 60 * 1000**3}).status_code == 200
    assert me(user)["quota_bytes"] == 1024**3
    listed = ok(cli(server, "admin", "membership", "list", user.email)).stdout
    assert "quota 1.0 GiB (an administrator's override)" in listed

    handed_back = ok(cli(server, "admin", "set-quota", user.email, "plan"))
    assert "quota 186.3 GiB" in handed_back.stdout
    assert me(user)["quota_bytes"] == 200 * 1000**3

    # the same through the API
    overridden = admin.http.patch("/admin/users", json={"email": user.email, "quota_bytes": 123_456})
    assert overridden.status_code == 200 and overridden.json()["quota_bytes"] == 123_456
    assert_refused(admin.http.patch("/admin/users", json={"email": user.email, "quota_bytes": 1,
                                                          "follow_plans": True}), 400, "not both")
    followed = admin.http.patch("/admin/users", json={"email": user.email, "follow_plans": True})
    assert followed.status_code == 200 and followed.json()["quota_bytes"] == 200 * 1000**3


def test_a_user_created_with_a_quota_keeps_it_over_the_free_plan(accounts):
    fixed = accounts.create(quota_bytes=7_000)
    assert me(fixed)["quota_bytes"] == 7_000 and me(fixed)["plans"] == ["Free"]


# -- plans of some kinds of data --------------------------------------------------------------------------------


def test_a_plan_of_the_gallery_only_refuses_contacts_and_messages_naming_the_plan(admin, user):
    plan = add_plan(admin, 10 * 1000**3, kinds=["gallery"], prefix="PhotosOnly")
    start(admin, user.email, plan)
    intake = me(user)["intake"]
    assert intake["gallery"] is None
    assert plan in intake["contacts"] and plan in intake["messages"]

    card = b"BEGIN:VCARD\r\nVERSION:3.0\r\nUID:x-1\r\nFN:Ada Lovelace\r\nN:Lovelace;Ada;;;\r\nEND:VCARD\r\n"
    refused = user.http.post("/contacts/imports", content=card, headers={"Content-Type": "text/vcard"})
    body = assert_refused(refused, 403, f"your plan ({plan}) does not include Contacts", "choose a plan",
                          error="intake_closed")
    assert body["kind"] == "contacts" and body["plans"] == [plan]
    backup = b"<?xml version='1.0'?><smses count='0'></smses>"
    refused = user.http.post("/messages/imports", params={"filename": "sms.xml"}, content=backup,
                             headers={"Content-Type": "application/octet-stream"})
    assert_refused(refused, 403, f"your plan ({plan}) does not include Messages", error="intake_closed")
    assert user.http.get("/contacts").json()["total"] == 0

    stored(user, photo_of(5_000))  # the gallery is in the plan

    # a second plan that includes contacts: the kinds of all running plans add up
    contacts_plan = add_plan(admin, 1_000, kinds=["contacts"], prefix="ContactsToo")
    start(admin, user.email, contacts_plan)
    accepted = user.http.post("/contacts/imports", content=card, headers={"Content-Type": "text/vcard"})
    assert accepted.status_code == 201, accepted.text
    assert me(user)["intake"]["contacts"] is None and me(user)["intake"]["messages"] is not None
    # and a plan changed to every kind opens everything
    assert admin.http.patch("/admin/plans", json={"name": plan, "every_kind": True}).status_code == 200
    assert set(me(user)["intake"].values()) == {None}


# -- the clock: boundaries later, on server processes following a clock file --------------------------------


def clocked(tmp_path, embedded_workers: bool) -> dict[str, str]:
    """The settings of a server that follows the clock file tmp_path/clock-offset."""
    return {**SMALL_FREE, "PHONECLOUD_CLOCK_FILE": str(tmp_path / "clock-offset"),
            **({} if embedded_workers else {"PHONECLOUD_EMBEDDED_WORKERS": "0"})}


def moment(delta: dt.timedelta) -> str:
    return (dt.datetime.now(dt.UTC) + delta).replace(microsecond=0).isoformat()


def test_a_membership_ending_ahead_expires_when_the_clock_gets_there(tmp_path):
    env = clocked(tmp_path, embedded_workers=False)
    with serving(tmp_path / "data", env) as (server, made):
        operator, user = make_admin(made), made.create()
        plan = add_plan(operator, 1_000_000, prefix="Month")
        until = moment(dt.timedelta(hours=1))
        # The membership group's real processes, following the clock file as the server's do.
        started = ok(cli(server, "admin", "membership", "start", user.email, plan, "--until", until, process=True))
        assert started.stdout.strip().endswith("\tactive")
        assert me(user)["quota_bytes"] == 1_000_000
        kept = photo_of(300_000)
        asset = stored(user, kept)
        run_worker(server)  # nothing is due yet
        assert me(user)["quota_bytes"] == 1_000_000

        write_offset(tmp_path / "clock-offset", dt.timedelta(hours=2))
        run_worker(server)
        assert (me(user)["plans"], me(user)["quota_bytes"], me(user)["used_bytes"]) == (["Free"], FREE_QUOTA, 300_000)
        assert_over_quota_refusal(upload(user, photo_of(1_000)), 300_000, FREE_QUOTA)
        assert user.http.get(f"/assets/{asset}/original").content == kept
        listed = ok(cli(server, "admin", "membership", "list", user.email, process=True)).stdout.splitlines()
        assert listed[0].endswith("\tended") and listed[-1].startswith("now: Free; quota")


def test_a_membership_starting_ahead_is_scheduled_and_starts_when_the_clock_gets_there(tmp_path):
    env = clocked(tmp_path, embedded_workers=False)
    with serving(tmp_path / "data", env) as (server, made):
        operator, user = make_admin(made), made.create()
        plan = add_plan(operator, 2_000_000, prefix="NextMonth")
        scheduled = ok(cli(server, "admin", "membership", "start", user.email, plan,
                           "--at", moment(dt.timedelta(days=1)), "--until", moment(dt.timedelta(days=31))))
        assert scheduled.stdout.strip().endswith("\tscheduled")
        assert (me(user)["plans"], me(user)["quota_bytes"]) == (["Free"], FREE_QUOTA)
        assert upload(user, photo_of(150_000)).status_code == 413

        write_offset(tmp_path / "clock-offset", dt.timedelta(days=1, minutes=1))
        run_worker(server)
        assert (me(user)["plans"], me(user)["quota_bytes"]) == ([plan], 2_000_000)
        stored(user, photo_of(150_000))
        (row,) = operator.http.get("/admin/memberships", params={"email": user.email}).json()
        assert row["state"] == "active"

        write_offset(tmp_path / "clock-offset", dt.timedelta(days=32))
        run_worker(server)
        assert (me(user)["plans"], me(user)["quota_bytes"]) == (["Free"], FREE_QUOTA)


def test_boundaries_passed_while_the_server_was_down_are_caught_up_when_it_starts(tmp_path):
    env = clocked(tmp_path, embedded_workers=True)
    with serving(tmp_path / "data", env) as (server, made):
        operator, ending, starting = make_admin(made), made.create(), made.create()
        plan = add_plan(operator, 3_000_000, prefix="Downtime")
        ok(cli(server, "admin", "membership", "start", ending.email, plan, "--until", moment(dt.timedelta(hours=1))))
        ok(cli(server, "admin", "membership", "start", starting.email, plan, "--at", moment(dt.timedelta(hours=2))))
        assert me(ending)["quota_bytes"] == 3_000_000 and me(starting)["quota_bytes"] == FREE_QUOTA

    write_offset(tmp_path / "clock-offset", dt.timedelta(hours=3))  # the server was down past both boundaries
    with serving(tmp_path / "data", env) as (again, _):
        with again.client(ending.key) as ending_http, again.client(starting.key) as starting_http:
            quota_of = lambda http: http.get("/me").json()["quota_bytes"]  # noqa: E731
            poll(lambda: quota_of(ending_http), lambda quota: quota == FREE_QUOTA)
            poll(lambda: quota_of(starting_http), lambda quota: quota == 3_000_000)
            assert starting_http.get("/me").json()["plans"] == [plan]
