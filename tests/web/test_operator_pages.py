"""The operator's pages of the admin console in the browser: a plan added and a user's membership of it
started (their quota follows, in the console and in their own /me) and ended; payments and refunds recorded
and downloaded as CSV; a region group that stops its users adding photos; a notice's email deliveries and the
audience fields of the notice form; the unsubscribe page of notice emails (its button and RFC 8058's
one-click POST, with no session and so no CSRF token); none of the console for a user who is not an
administrator; and every page at phone and desktop widths."""

from __future__ import annotations

import csv
import datetime as dt
import io
import itertools
import os
import secrets

import httpx
from conftest import User, upload
from media_fixtures import jpeg
from playwright.sync_api import expect

from .conftest import PHONE, screenshot_path
from .test_admin import promote

DESKTOP = {"width": 1280, "height": 900}
_numbers = itertools.count()


def unique(prefix: str) -> str:
    """A name no other test (nor the same test in another process) uses."""
    return f"{prefix}-{os.getpid()}-{next(_numbers)}"


def console_of(browse, accounts, viewport: dict | None = None):
    admin = accounts.create(name="operator")
    promote(accounts, admin)
    console = browse(viewport)
    console.sign_in(admin)
    return admin, console


def ok(page, text: str) -> None:
    expect(page.locator(".flash-ok")).to_have_text(text)


def fits(browsing) -> None:
    width = browsing.page.evaluate("document.documentElement.scrollWidth")
    assert width <= browsing.page.viewport_size["width"], (browsing.page.url, width)


def test_a_membership_raises_a_users_quota_until_it_ends(browse, accounts):
    _, console = console_of(browse, accounts)
    member = accounts.create(name="member")
    before = member.http.get("/me").json()
    page, plan = console.page, unique("Plus")

    page.goto("/admin")
    page.get_by_role("link", name="Plans").click()
    new = page.get_by_role("region", name="New plan")
    new.get_by_label("Name").fill(plan)
    new.get_by_label("Quota").fill("50GB")
    new.get_by_label("Price").fill("4.99")
    new.get_by_label("Currency").fill("eur")
    new.get_by_label("Period").select_option("month")
    new.get_by_label("Photos and videos").check()
    new.get_by_role("button", name="Add plan").click()
    ok(page, f"Added the plan {plan}: 46.6 GiB, 4.99 EUR/month.")
    row = page.locator(f'tr[data-plan="{plan}"]')
    expect(row.locator("[data-price]")).to_have_text("4.99 EUR/month")
    expect(row.locator("[data-kinds]")).to_have_text("Photos and videos")
    expect(row.locator("[data-members]")).to_have_text("0")
    expect(page.locator("tr[data-plan]", has=page.locator(".tag", has_text="default")).get_by_role(
        "button", name="Retire")).to_have_count(0)

    new.get_by_label("Name").fill(plan)  # the same name again: the form's error, not a page of its own
    new.get_by_label("Quota").fill("1GB")
    new.get_by_role("button", name="Add plan").click()
    expect(page.locator(".flash-error")).to_contain_text("exists already")

    page.goto("/admin")
    page.get_by_role("link", name="Memberships").click()
    page.get_by_label("User's email").fill(member.email)
    page.get_by_role("button", name="Look up").click()
    expect(page.locator('[data-total="plans"] dd')).to_have_text("Free")
    page.get_by_label("Plan").select_option(plan)
    page.get_by_role("button", name="Start membership").click()
    ok(page, f"{member.email} is a member of {plan} now.")
    expect(page.locator('[data-total="quota"] dd')).to_have_text("46.6 GiB")
    expect(page.locator('[data-total="plans"] dd')).to_have_text(plan)
    active = page.locator(f'tr[data-plan="{plan}"][data-state="active"]')
    expect(active).to_have_count(1)
    mine = member.http.get("/me").json()
    assert mine["quota_bytes"] == 50 * 10**9 and mine["plans"] == [plan]
    console.screenshot("operator-membership-active")

    page.goto("/admin/plans")  # a plan's change reaches its members at once
    row.get_by_label(f"Quota of {plan}").fill("60GB")
    row.get_by_role("button", name="Change").click()
    ok(page, f"{plan} now gives 55.9 GiB for 4.99 EUR/month; its 1 member have it at once.")
    assert member.http.get("/me").json()["quota_bytes"] == 60 * 10**9

    page.goto(f"/admin/memberships?email={member.email}")
    active.get_by_role("button", name="End now").click()
    ok(page, f"{member.email}'s membership of {plan} ended now.")
    expect(page.locator(f'tr[data-plan="{plan}"]')).to_have_attribute("data-state", "ended")
    expect(page.locator('[data-total="plans"] dd')).to_have_text("Free")
    after = member.http.get("/me").json()
    assert after["quota_bytes"] == before["quota_bytes"] and after["plans"] == ["Free"]

    page.get_by_label("Plan").select_option(plan)  # a membership from a later day: nothing changes yet
    page.get_by_label("Starts (optional, UTC)").fill("2199-01-01T00:00")
    page.get_by_role("button", name="Start membership").click()
    ok(page, f"{member.email} is a member of {plan} from 1 Jan 2199 00:00 UTC.")
    expect(page.locator(f'tr[data-plan="{plan}"][data-state="scheduled"]')).to_have_count(1)
    assert member.http.get("/me").json()["quota_bytes"] == before["quota_bytes"]

    page.goto("/admin/memberships?email=nobody-at-all@example.org")
    expect(page.locator(".flash-error")).to_have_text("no user with email nobody-at-all@example.org")

    page.goto("/admin/plans")
    row.get_by_role("button", name="Retire").click()
    ok(page, f"{plan} is retired: it takes no new members; its members keep it until their membership ends.")
    expect(row.locator(".tag-off")).to_have_text("retired")
    page.goto(f"/admin/memberships?email={member.email}")
    expect(page.get_by_label("Plan").locator(f'option[value="{plan}"]')).to_have_count(0)
    assert console.errors == []


def test_payments_and_refunds_are_recorded_and_downloaded_as_csv(browse, accounts):
    _, console = console_of(browse, accounts)
    member = accounts.create(name="payer")
    page, paid, refunded = console.page, unique("PAY"), unique("REF")
    page.goto("/admin")
    page.get_by_role("link", name="Payments").click()

    def record(kind: str, amount: str, reference: str) -> None:
        page.get_by_label("Kind").select_option(kind)
        page.get_by_label("Email").fill(member.email)
        page.get_by_label("Amount").fill(amount)
        page.get_by_label("Currency").fill("EUR")
        page.get_by_label("Plan").select_option("Free")
        page.get_by_label("Reference").fill(reference)
        page.get_by_role("button", name="Record").click()

    record("payment", "9.99", paid)
    ok(page, f"Recorded a payment of 9.99 EUR for {member.email} (Free).")
    record("refund", "2.50", refunded)
    ok(page, f"Recorded a refund of 2.50 EUR for {member.email} (Free).")
    record("payment", "9.99", paid)  # the billing system's retry: recorded once
    expect(page.locator(".flash-ok")).to_contain_text(f"This payment (reference {paid}) was recorded already")
    record("payment", "1.999", unique("BAD"))
    expect(page.locator(".flash-error")).to_have_text("EUR has 2 decimals; '1.999' has more")

    rows = page.locator("table.ledger tbody tr")
    expect(rows.first).to_have_attribute("data-reference", refunded)  # newest first
    expect(page.locator(f'tr[data-reference="{paid}"]')).to_have_count(1)
    expect(page.locator(f'tr[data-reference="{refunded}"] td.amount')).to_have_text("−2.50 EUR")

    with page.expect_download() as waiting:
        page.get_by_role("link", name="Download CSV").click()
    download = waiting.value
    assert download.suggested_filename.startswith("phonecloud-ledger-")
    table = list(csv.reader(io.StringIO(download.path().read_bytes().decode("utf-8"), newline="")))
    assert table[0] == ["time", "email", "plan", "kind", "amount", "currency", "reference", "note", "id"]
    mine = {row[6]: row for row in table[1:] if row[1] == member.email}
    assert set(mine) == {paid, refunded}
    assert mine[paid][2:6] == ["Free", "payment", "9.99", "EUR"]
    assert mine[refunded][2:6] == ["Free", "refund", "2.50", "EUR"]
    assert console.errors == []


def test_a_region_group_stops_its_users_adding_photos(browse, accounts, server):
    admin, console = console_of(browse, accounts)
    member = accounts.create(name="regional")
    page, group = console.page, unique("EU")
    page.goto("/admin")
    page.get_by_role("link", name="Regions").click()
    page.get_by_label("Name").fill(group)
    page.get_by_label("Countries").fill("de, at FR")
    page.get_by_role("button", name="Add group").click()
    ok(page, f"Region group {group}: AT, DE, FR.")
    row = page.locator(f'tr[data-group="{group}"]')
    expect(row.locator("[data-countries]")).to_have_text("AT DE FR")

    page.get_by_label("Name").fill(group)
    page.get_by_label("Countries").fill("XX")
    page.get_by_role("button", name="Add group").click()
    expect(page.locator(".flash-error")).to_contain_text("XX")

    assert admin.http.patch("/admin/users", json={"email": member.email, "region": "DE"}).status_code == 200
    row.get_by_role("button", name=f"Disable Photos and videos in {group}").click()
    try:
        ok(page, f"Photos and videos can no longer be added in {group}; what its users stored stays theirs.")
        expect(row.locator('[data-kind="gallery"]')).to_have_attribute("data-state", "disabled")
        refused = upload(member, jpeg(7101))
        assert refused.status_code == 403 and refused.json()["error"] == "intake_closed", refused.text
        assert group in refused.json()["message"]
        console.screenshot("operator-regions")
    finally:
        row.get_by_role("button", name=f"Enable Photos and videos in {group}").click()
    ok(page, f"Photos and videos can be added again in {group}.")
    expect(row.locator('[data-kind="gallery"]')).to_have_attribute("data-state", "enabled")
    assert upload(member, jpeg(7102)).status_code == 201
    assert console.errors == []


def add_email_notice(accounts, member: User, message: str) -> tuple[int, str]:
    """A notice sent by email with one delivery to member, as the email job leaves them (the test servers have
    no mail server): written on the server's database. Withdrawn at once, so that no page shows it."""
    from phonecloud.core.db import utcnow
    from phonecloud.notices.models import Notice, NoticeDelivery

    user_id = accounts.services.accounts.user_by_email(member.email).id
    token = secrets.token_urlsafe(32)
    now = utcnow()
    with accounts.services.db.write() as session:
        notice = Notice(message=message, subject="", level="warning", starts_at=now - dt.timedelta(hours=1),
                        email=True, required=False, created_at=now, withdrawn_at=now)
        session.add(notice)
        session.flush()
        session.add(NoticeDelivery(notice_id=notice.id, user_id=user_id, email=member.email, state="sent",
                                   attempts=1, answer="250 2.0.0 Ok: queued as 4XyZ", token=token, created_at=now,
                                   last_attempt_at=now, sent_at=now))
        return notice.id, token


def test_a_notices_deliveries_say_who_was_told_and_when(browse, accounts):
    _, console = console_of(browse, accounts)
    member, other = accounts.create(name="told"), accounts.create(name="untold")
    notice_id, _ = add_email_notice(accounts, member, f"Emailed notice {unique('n')}")
    page = console.page
    page.goto("/admin")
    page.locator(".notices-admin li", has_text="Emailed notice").first.get_by_role("link", name="Deliveries").click()
    expect(page).to_have_url(f"{console.server.url}/admin/notices/deliveries?id={notice_id}")
    delivery = page.locator(f'tr[data-delivery="{member.email}"]')
    expect(delivery).to_have_attribute("data-state", "sent")
    expect(delivery).to_contain_text("250 2.0.0 Ok: queued as 4XyZ")
    page.get_by_label("Email").fill(other.email)
    page.get_by_role("button", name="Find").click()
    expect(page.locator("tr[data-delivery]")).to_have_count(0)
    expect(page.locator(".empty")).to_contain_text(f"No email of this notice went to {other.email}")
    page.get_by_label("Email").fill(member.email)
    page.get_by_role("button", name="Find").click()
    expect(page.locator("tr[data-delivery]")).to_have_count(1)
    assert page.goto("/admin/notices/deliveries?id=999999999").status == 404
    assert console.errors == []


def test_the_notice_form_aims_at_an_audience(browse, accounts):
    _, console = console_of(browse, accounts)
    group = unique("Nordics")
    accounts.services.regions.add_group(group, ["SE", "NO"])
    page = console.page
    page.goto("/admin")
    email = page.get_by_label("Send by email too")
    expect(email).to_be_disabled()  # the test servers have no mail server
    expect(page.locator("#notice-email-hint")).to_contain_text("PHONECLOUD_SMTP_URL")
    page.get_by_label("Message").fill("Only for the Nordics: a test notice.")
    page.get_by_label("Region group").select_option(group)
    page.get_by_label("Holders of").select_option("gallery")
    page.get_by_role("button", name="Post notice").click()
    ok(page, f"The notice is shown to region group {group}, holders of gallery.")
    posted = page.locator(".notices-admin li", has_text="Only for the Nordics")
    expect(posted.locator(".hint")).to_contain_text(f"region group {group}, holders of gallery")
    expect(posted.get_by_role("link", name="Deliveries")).to_have_count(0)  # not sent by email
    expect(page.locator(".notice", has_text="Only for the Nordics")).to_have_count(0)  # not the admin's country
    posted.get_by_role("button", name="Withdraw").click()
    ok(page, "The notice was withdrawn.")


def test_unsubscribing_from_notice_emails_needs_only_the_emails_link(browse, accounts, server):
    member, one_click = accounts.create(name="reader"), accounts.create(name="oneclick")
    _, token = add_email_notice(accounts, member, "Emailed to unsubscribe")
    _, second = add_email_notice(accounts, one_click, "Emailed for one click")
    visit = browse(PHONE)  # no session: a mail client opened the link
    response = visit.page.goto(f"/unsubscribe?token={token}")
    assert response.status == 200
    assert member.http.get("/me").json()["notice_emails"] is True  # looking unsubscribes nobody
    fits(visit)
    visit.screenshot("operator-unsubscribe-phone")
    visit.page.get_by_role("button", name="Stop notice emails").click()
    expect(visit.page.locator("[data-unsubscribed]")).to_have_text(f"{member.email} gets no more notice emails.")
    assert member.http.get("/me").json()["notice_emails"] is False

    # RFC 8058: the mail client POSTs List-Unsubscribe=One-Click to the link itself, with no cookie at all.
    with httpx.Client(base_url=server.url) as mail_client:
        done = mail_client.post(f"/unsubscribe?token={second}", content=b"List-Unsubscribe=One-Click",
                                headers={"Content-Type": "application/x-www-form-urlencoded"})
        assert done.status_code == 200, done.text
        assert one_click.http.get("/me").json()["notice_emails"] is False
        wrong = mail_client.post("/unsubscribe?token=not-a-token", content=b"List-Unsubscribe=One-Click",
                                 headers={"Content-Type": "application/x-www-form-urlencoded"})
        assert wrong.status_code == 400 and "not valid" in wrong.text
        # The exemption is that route's only: any other form without the CSRF token is still refused.
        assert mail_client.post("/admin/plans", data={"name": "x", "quota": "1GB"}).status_code == 403

    visit.page.goto("/unsubscribe?token=not-a-token")
    visit.page.get_by_role("button", name="Stop notice emails").click()
    expect(visit.page.locator(".flash-error")).to_have_text(
        "this unsubscribe link is not valid (or its account was deleted)")
    assert visit.page.evaluate("document.title").startswith("Notice emails")
    assert visit.page.goto("/unsubscribe").status == 400
    assert visit.errors == []


def test_the_console_pages_are_for_administrators_only(browse, accounts):
    member = accounts.create(name="nosy")
    visit = browse()
    visit.sign_in(member)
    for path in ("/admin/plans", f"/admin/memberships?email={member.email}", "/admin/payments",
                 "/admin/payments/ledger.csv", "/admin/regions", "/admin/notices/deliveries?id=1"):
        assert visit.page.goto(path).status == 403, path
    csrf = visit.page.locator('meta[name="csrf-token"]').get_attribute("content")
    for path, form in (("/admin/plans", {"name": "Sneaky", "quota": "1TB"}),
                       ("/admin/memberships", {"email": member.email, "plan": "Free"}),
                       ("/admin/payments", {"email": member.email, "amount": "1", "currency": "EUR", "plan": "Free",
                                            "reference": "sneaky"}),
                       ("/admin/regions", {"name": "Sneaky", "countries": "DE"})):
        refused = visit.page.request.post(path, form={**form, "csrf": csrf}, max_redirects=0)
        assert refused.status == 403, path


def test_every_console_page_at_phone_and_desktop_widths(browse, accounts):
    member = accounts.create(name="shown")
    plan, group = unique("Shown plan with a long name"), unique("Shown group")
    accounts.services.plans.add(plan, 200 * 10**9, "19.99", "EUR", "year", ["gallery"])
    accounts.services.plans.start(member.email, plan)
    accounts.services.ledger.record("payment", member.email, "19.99", "EUR", plan, unique("INV-2024-000123"))
    accounts.services.regions.add_group(group, ["PT", "ES", "IT"])
    accounts.services.regions.set_kind(group, "gallery", enabled=False)
    try:
        notice_id, _ = add_email_notice(accounts, member, "A notice sent by email, shown on its deliveries page")
        pages = {"plans": "/admin/plans", "memberships": f"/admin/memberships?email={member.email}",
                 "payments": "/admin/payments", "regions": "/admin/regions",
                 "deliveries": f"/admin/notices/deliveries?id={notice_id}", "admin": "/admin"}
        for size, viewport in (("phone", PHONE), ("desktop", DESKTOP)):
            _, console = console_of(browse, accounts, viewport)
            for name, path in pages.items():
                assert console.page.goto(path).status == 200, path
                fits(console)
                console.screenshot(f"operator-{name}-{size}")
                console.page.screenshot(path=str(screenshot_path(f"operator-{name}-{size}-whole")), full_page=True)
            assert console.errors == []
    finally:
        accounts.services.regions.set_kind(group, "gallery", enabled=True)


def test_an_admin_creates_a_user_of_a_region_and_moves_them_to_another(browse, accounts):
    _, console = console_of(browse, accounts, PHONE)
    page, email = console.page, f"{unique('regional')}@example.org"
    page.goto("/admin")
    new = page.locator("form[action='/admin/users']")
    new.get_by_label("Email").fill(email)
    new.get_by_label("Password").fill("a long enough password")
    new.get_by_label("Region").fill("xx")
    new.get_by_role("button", name="Create user").click()
    expect(page.locator(".flash-error")).to_contain_text("not an ISO 3166-1 alpha-2 country code: 'xx'")

    new.get_by_label("Email").fill(email)
    new.get_by_label("Password").fill("a long enough password")
    new.get_by_label("Region").fill("de")
    new.get_by_role("button", name="Create user").click()
    expect(page.locator(".flash-ok")).to_contain_text(f"Created {email} (DE) with a quota of")
    row = page.locator(f'tr[data-user="{email}"]')
    expect(row.get_by_label(f"Region of {email}")).to_have_value("DE")

    row.get_by_label(f"Region of {email}").fill("fr")
    row.get_by_role("button", name="Set region").click()
    ok(page, f"{email} is now of the region FR.")
    assert accounts.services.accounts.user_by_email(email).region == "FR"
    fits(console)
