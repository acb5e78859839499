"""The admin console in the browser: server totals, a user's quota changed (and seen by that user),
a user disabled and enabled again, notices posted on every page and withdrawn, the job workers' health;
and none of it for a user who is not an administrator."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from cli_runner import phonecloud_in_process
from conftest import User, upload
from media_fixtures import jpeg

from .flows import nav


def promote(accounts, user: User) -> None:
    from sqlalchemy import update

    from phonecloud.accounts.models import User as UserRow

    with accounts.services.db.write() as session:
        session.execute(update(UserRow).where(UserRow.email == user.email).values(is_admin=True))


def row(page, user: User):
    return page.locator(f'tr[data-user="{user.email}"]')


def test_an_admin_changes_a_users_quota_and_the_user_sees_it(browse, accounts):
    admin, member = accounts.create(name="admin"), accounts.create(name="member")
    promote(accounts, admin)
    assert upload(member, jpeg(4242)).status_code == 201
    console = browse()
    console.sign_in(admin)
    nav(console.page, "Admin")
    page = console.page
    totals = {name: int(page.locator(f'[data-total="{name}"] dd').inner_text()) for name in ("users", "gallery")}
    assert totals["users"] >= 2 and totals["gallery"] >= 1
    expect(row(page, member).locator('[data-usage] [data-kind="gallery"]')).to_have_text("Photos and videos: 1")

    row(page, member).get_by_label(f"Quota of {member.email}").fill("2GiB")
    row(page, member).get_by_role("button", name="Set quota").click()
    expect(page.locator(".flash-ok")).to_have_text(f"{member.email} now has a quota of 2.0 GiB.")
    expect(row(page, member).locator("[data-used]")).to_contain_text("of 2.0 GiB")
    assert member.http.get("/me").json()["quota_bytes"] == 2 << 30

    row(page, member).get_by_label(f"Quota of {member.email}").fill("lots")
    row(page, member).get_by_role("button", name="Set quota").click()
    expect(page.locator(".flash-error")).to_contain_text("not a size: 'lots'")
    console.screenshot("admin-console")

    own = browse()
    own.sign_in(member)
    nav(own.page, "Account")
    expect(own.page.locator("#storage-text")).to_contain_text("of 2.0 GiB used")


def test_a_disabled_user_is_signed_out_and_cannot_sign_in_until_enabled(browse, accounts):
    admin, member = accounts.create(name="admin"), accounts.create(name="member")
    promote(accounts, admin)
    member_visit = browse()
    member_visit.sign_in(member)
    console = browse()
    console.sign_in(admin)
    console.page.goto("/admin")
    row(console.page, member).get_by_role("button", name="Disable").click()
    expect(console.page.locator(".flash-ok")).to_have_text(f"{member.email} is disabled.")
    assert member.http.get("/me").status_code == 403  # the API key too

    member_visit.page.goto("/albums")
    expect(member_visit.page).to_have_url(re.compile(r"/signin\?next=/albums$"))
    member_visit.page.get_by_label("Email").fill(member.email)
    member_visit.page.get_by_label("Password").fill(member.password)
    member_visit.page.get_by_role("button", name="Sign in").click()
    expect(member_visit.page.locator(".flash-error")).to_have_text("wrong email or password")

    row(console.page, member).get_by_role("button", name="Enable").click()
    expect(console.page.locator(".flash-ok")).to_have_text(f"{member.email} is enabled again.")
    member_visit.sign_in(member)
    assert member.http.get("/me").status_code == 200
    expect(row(console.page, admin).locator("td").last).to_have_text("you")  # no button to lock oneself out


def test_notices_reach_every_page_until_withdrawn(browse, accounts, server):
    admin, member = accounts.create(name="admin"), accounts.create(name="member")
    promote(accounts, admin)
    console = browse()
    console.sign_in(admin)
    console.page.goto("/admin")
    console.page.get_by_label("Message").fill("Test message: maintenance tonight at 22:00 UTC.")
    console.page.get_by_label("Level").select_option("warning")
    console.page.get_by_role("button", name="Post notice").click()
    expect(console.page.locator(".flash-ok")).to_have_text("The notice is shown on every page.")
    try:
        signed_out = browse()
        signed_out.page.goto("/signin")
        expect(signed_out.page.locator(".notice-warning")).to_have_text("Test message: maintenance tonight at 22:00 UTC.")
        reader = browse()
        reader.sign_in(member)
        for path in ("/", "/albums", "/upload", "/trash", "/account"):
            reader.page.goto(path)
            expect(reader.page.get_by_role("region", name="Notices")).to_contain_text("maintenance tonight")
        assert "maintenance tonight" in member.http.get("/notices").json()[0]["message"]
        reader.screenshot("notice-banner")
    finally:
        console.page.goto("/admin")
        console.page.locator(".notices-admin li", has_text="maintenance tonight").get_by_role(
            "button", name="Withdraw").click()
    expect(console.page.locator(".flash-ok")).to_have_text("The notice was withdrawn.")
    reader.page.goto("/")
    expect(reader.page.locator(".notice")).to_have_count(0)


def test_a_notice_posted_with_the_cli_is_shown_to_its_region(browse, accounts, server):
    member = accounts.create(name="member")  # of the region ZZ (not known), as every new user by default

    def notice(*args: str) -> str:
        done = phonecloud_in_process(server.env, "admin", "notice", *args)
        assert done.returncode == 0, done.stderr
        return done.stdout

    posted = notice("post", "Gallery sync retires in your region on 1 Dec.", "--level", "critical",
                    "--region", "ZZ")
    notice_id = re.search(r"posted notice (\d+)", posted).group(1)
    try:
        visit = browse(viewport={"width": 360, "height": 740})
        visit.sign_in(member)
        expect(visit.page.get_by_role("alert")).to_have_text("Gallery sync retires in your region on 1 Dec.")
        visit.page.get_by_role("button", name="Sign out").click()
        expect(visit.page.locator(".notice")).to_have_count(0)  # signed out: no region, no regional notice
        assert f"{notice_id}\tin force\tcritical\tcountry=ZZ\t-\tGallery sync retires" in notice("list")
    finally:
        assert f"withdrew notice {notice_id}" in notice("withdraw", notice_id)
    visit.sign_in(member)
    expect(visit.page.locator(".notice")).to_have_count(0)


def test_the_job_workers_page_shows_the_embedded_workers(browse, accounts):
    admin = accounts.create(name="admin")
    promote(accounts, admin)
    upload(admin, jpeg(4343))
    console = browse()
    console.sign_in(admin)
    console.page.goto("/admin")
    console.page.get_by_role("link", name="Job workers").click()
    workers = console.page.locator("tr[data-worker]")
    expect(workers.first).to_be_visible()
    expect(console.page.locator("[data-queue-state]")).to_be_visible()
    # The jobs-by-kind table's cell: a worker busy at that moment names its job ("media.process asset:…") too.
    expect(console.page.get_by_role("cell", name="media.process", exact=True)).to_be_visible()
    console.screenshot("admin-jobs")


def test_a_member_has_no_admin_console(browse, accounts):
    member = accounts.create(name="member")
    visit = browse()
    visit.sign_in(member)
    expect(visit.page.get_by_role("navigation", name="Main").get_by_role("link", name="Admin")).to_have_count(0)
    for path in ("/admin", "/admin/jobs"):
        response = visit.page.goto(path)
        assert response.status == 403
        expect(visit.page.locator(".flash-error")).to_have_text("administrators only")
