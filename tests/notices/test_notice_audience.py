"""A notice reaches exactly the chosen users in the app (GET /api/v1/notices, as phone clients read it):
everyone, a country, a region group's countries, a plan's members (the default plan: those without a
membership), the holders of a kind of data, and combinations; scheduled ones appear when the clock gets
there; withdrawn ones vanish; an audience that names nothing known is refused with a message."""

from __future__ import annotations

import datetime as dt

import pytest
from cli_runner import phonecloud_in_process
from conftest import upload
from media_fixtures import jpeg

from notices.support import members_of_new_plan, person, seen, unique
from phonecloud.core.db import utcnow

pytestmark = pytest.mark.in_process  # domain rules: the app in this process (tests/inprocess.py)


@pytest.fixture(scope="module")
def admin(accounts):
    return person(accounts, "notice-admin", is_admin=True)


@pytest.fixture
def post(admin):
    """post(message, **audience) through the admin API; every notice posted is withdrawn at the end, so no
    other test's users see it."""
    posted: list[int] = []

    def posting(message: str, **body) -> dict:
        response = admin.http.post("/admin/notices", json={"message": message, **body})
        assert response.status_code == 201, response.text
        posted.append(response.json()["id"])
        return response.json()

    yield posting
    for notice_id in posted:
        assert admin.http.delete("/admin/notices", params={"id": notice_id}).status_code == 204


def posted_with_cli(server, *args: str) -> int:
    run = phonecloud_in_process(server.env, "admin", "notice", "post", *args)
    assert run.returncode == 0, run.stderr
    return int(run.stdout.strip().splitlines()[-1])


def test_a_notice_for_everyone_reaches_every_user_until_withdrawn(accounts, admin, post):
    people = [person(accounts, "all", region=region) for region in ("DE", "US", None)]
    message = unique("For everyone")
    notice = post(message, level="warning")
    assert notice["region"] is None and notice["group"] is None and notice["plan"] is None and notice["kind"] is None
    assert all(message in seen(user) for user in people)
    assert admin.http.delete("/admin/notices", params={"id": notice["id"]}).status_code == 204
    assert all(message not in seen(user) for user in people)


def test_a_country_notice_reaches_that_countrys_users_only(server, accounts, admin, post):
    german, french = person(accounts, "de", region="DE"), person(accounts, "fr", region="FR")
    message = unique("Only Germany")
    notice_id = posted_with_cli(server, message, "--region", "de")
    try:
        assert message in seen(german) and message not in seen(french)
    finally:
        assert phonecloud_in_process(server.env, "admin", "notice", "withdraw", str(notice_id)).returncode == 0
    assert message not in seen(german)


def test_a_group_notice_reaches_the_users_of_its_countries_only(server, accounts, post):
    group = unique("EU west")
    accounts.services.regions.add_group(group, ["DE", "FR"])
    german, french = person(accounts, "de", region="DE"), person(accounts, "fr", region="FR")
    american, unknown = person(accounts, "us", region="US"), person(accounts, "zz")
    message = unique("For the group")
    notice = post(message, group=group)
    assert notice["group"] == group
    assert message in seen(german) and message in seen(french)
    assert message not in seen(american) and message not in seen(unknown)
    # The group's countries are read when the notice is shown: a country added later is in the audience.
    accounts.services.regions.add_group(group, ["US"])
    assert message in seen(american) and message not in seen(unknown)


def test_a_plan_notice_reaches_its_active_members_and_the_default_plan_those_without_one(accounts, post):
    services = accounts.services
    member, without = person(accounts, "member"), person(accounts, "free")
    former, future = person(accounts, "former"), person(accounts, "future")
    plan = members_of_new_plan(services, member)
    now = utcnow()
    services.plans.start(former.email, plan, at=now - dt.timedelta(days=30), until=now - dt.timedelta(days=1))
    services.plans.start(future.email, plan, at=now + dt.timedelta(days=1))
    for_plan, for_free = unique("For the plan"), unique("For Free")
    post(for_plan, plan=plan)
    post(for_free, plan="Free")
    assert for_plan in seen(member) and for_free not in seen(member)
    for user in (without, former, future):
        assert for_plan not in seen(user) and for_free in seen(user)
    services.plans.end(member.email, plan)
    assert for_plan not in seen(member) and for_free in seen(member)


def test_a_kind_notice_reaches_only_users_who_hold_that_kind(server, accounts, post):
    photographer, without_photos = person(accounts, "photos", region="DE"), person(accounts, "nophotos", region="DE")
    far_photographer = person(accounts, "farphotos", region="US")
    for number, user in enumerate((photographer, far_photographer)):
        assert upload(user, jpeg(7100 + number)).status_code in (200, 201)
    about_gallery = unique("About the gallery")
    notice = post(about_gallery, kind="gallery")
    assert notice["kind"] == "gallery"
    assert about_gallery in seen(photographer) and about_gallery in seen(far_photographer)
    assert about_gallery not in seen(without_photos)

    group = unique("DACH")
    accounts.services.regions.add_group(group, ["DE", "AT", "CH"])
    both = unique("Gallery in DACH")
    notice_id = posted_with_cli(server, both, "--group", group, "--kind", "gallery")
    try:
        assert both in seen(photographer)
        assert both not in seen(without_photos) and both not in seen(far_photographer)
    finally:
        assert phonecloud_in_process(server.env, "admin", "notice", "withdraw", str(notice_id)).returncode == 0
    listed = phonecloud_in_process(server.env, "admin", "notice", "list")
    assert listed.returncode == 0, listed.stderr
    line = next(line for line in listed.stdout.splitlines() if line.startswith(f"{notice_id}\t"))
    assert "withdrawn" in line and f"group={group}" in line and "kind=gallery" in line


def test_a_scheduled_notice_appears_when_the_clock_gets_there_and_goes_when_it_ends(accounts, post, clock):
    user = person(accounts, "scheduled")
    message = unique("Maintenance tonight")
    now = utcnow()
    post(message, starts_at=(now + dt.timedelta(seconds=60)).isoformat(),
                  ends_at=(now + dt.timedelta(seconds=120)).isoformat())
    assert message not in seen(user)
    clock(dt.timedelta(seconds=90))
    assert message in seen(user)
    clock(dt.timedelta(seconds=60))
    assert message not in seen(user)


def test_an_audience_naming_nothing_known_is_refused_with_a_message(server, admin):
    for body, status, words in (({"group": "no-such-group"}, 404, "no region group 'no-such-group'"),
                                ({"plan": "no-such-plan"}, 404, "no plan 'no-such-plan'"),
                                ({"kind": "holograms"}, 400, "no kind of data 'holograms'")):
        response = admin.http.post("/admin/notices", json={"message": "never shown", **body})
        assert response.status_code == status, response.text
        assert words in response.json()["message"]
    run = phonecloud_in_process(server.env, "admin", "notice", "post", "never shown", "--group", "no-such-group")
    assert run.returncode == 1 and "no region group 'no-such-group'" in run.stderr
    run = phonecloud_in_process(server.env, "admin", "notice", "post", "never shown", "--kind", "holograms")
    assert run.returncode == 1 and "no kind of data 'holograms'" in run.stderr and "gallery" in run.stderr
    assert "never shown" not in [notice["message"] for notice in admin.http.get("/admin/notices").json()]


def test_email_is_refused_where_no_mail_server_is_configured(server, admin):
    response = admin.http.post("/admin/notices", json={"message": "by email", "email": True})
    assert response.status_code == 400 and "sends no email" in response.json()["message"]
    run = phonecloud_in_process(server.env, "admin", "notice", "post", "by email", "--email")
    assert run.returncode == 1 and "sends no email" in run.stderr
