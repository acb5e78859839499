"""The admin console's pages of feature retirements and what the affected user sees, in Chromium at phone and
desktop widths: an administrator plans a retirement through the form and reads its preview (a user with a
photo in an affected country counts, an exempt country's and a never-user do not), postpones and cancels it;
someone who is not an administrator gets 403; a retirement driven through every step (the clock moved in the
test process, which runs the steps on the server's storage, and restored) shows its audit log and report; the
affected user's notice says what they keep, and after deletion their account page lists the receipt.

The module has a server of its own with no job workers, so that no step runs but those the test runs, and its
countries are its own."""

from __future__ import annotations

import datetime as dt
import itertools
import os
import re
import time

import pytest
from conftest import SHARED_SERVER_ENV, run_worker, serving, upload
from media_fixtures import jpeg
from retirement.support import run_due_jobs
from notices.support import person
from playwright.sync_api import expect

from phonecloud.core.db import utcnow
from phonecloud.core.sizes import format_size

from .conftest import PHONE, screenshot_path

DESKTOP = {"width": 1280, "height": 900}
DAY = dt.timedelta(days=1)
_numbers = itertools.count()


def unique(prefix: str) -> str:
    return f"{prefix}-{os.getpid()}-{next(_numbers)}"


@pytest.fixture(scope="module")
def own(tmp_path_factory):
    """(server, accounts): a server process of its own that runs no jobs by itself."""
    env = {**SHARED_SERVER_ENV, "PHONECLOUD_EMBEDDED_WORKERS": "0"}
    with serving(tmp_path_factory.mktemp("retirement-pages") / "data", env) as running:
        yield running


def fits(browsing) -> None:
    width = browsing.page.evaluate("document.documentElement.scrollWidth")
    assert width <= browsing.page.viewport_size["width"], (browsing.page.url, width)


def whole_page(browsing, name: str) -> None:
    browsing.page.screenshot(path=str(screenshot_path(name)), full_page=True)


def ok(page, text: str) -> None:
    expect(page.locator(".flash-ok")).to_contain_text(text)


def local(moment: dt.datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S")


def gallery_bytes(user) -> int:
    return user.http.get("/me").json()["usage"]["gallery"]["bytes"]


@pytest.mark.parametrize(("viewport", "country"), [(PHONE, "PT"), (DESKTOP, "BR")], ids=["phone", "desktop"])
def test_an_admin_plans_a_retirement_sees_its_preview_postpones_and_cancels_it(browse, own, viewport, country):
    server, accounts = own
    services = accounts.services
    affected, exempt = unique("Atlantic"), unique("Mainland China")
    services.regions.add_group(affected, [country, "CN"])
    services.regions.add_group(exempt, ["CN"])
    photographer, chinese = person(accounts, "photographer", country), person(accounts, "chinese", "CN")
    person(accounts, "never", country)  # no photo: never counted
    for number, user in enumerate((photographer, chinese)):
        assert upload(user, jpeg(9300 + number), filename=f"IMG_{number}.jpg").status_code == 201
    size = gallery_bytes(photographer)
    assert size > 0
    admin = person(accounts, "operator", is_admin=True)

    console = browse(viewport, on=server)
    console.sign_in(admin)
    page = console.page
    page.goto("/admin")
    page.get_by_role("navigation", name="Admin pages").get_by_role("link", name="Retirements").click()
    expect(page).to_have_url(f"{server.url}/admin/retirements")
    now = utcnow().replace(microsecond=0)
    dates = {"Announce (UTC)": now + 20 * DAY, "Stop sync (UTC)": now + 30 * DAY,
             "Download deadline (UTC)": now + 60 * DAY, "Delete (UTC)": now + 70 * DAY}
    form = page.get_by_role("region", name="Plan a retirement")
    form.get_by_label("Kind of data").select_option("gallery")
    form.locator('[data-choice="groups"]').get_by_label(affected).check()
    form.locator('[data-choice="exempt"]').get_by_label(exempt).check()
    for label, moment in dates.items():
        form.get_by_label(label).fill(local(moment))
    form.get_by_label("Refund").select_option("last-payment")
    form.get_by_label("Message").fill("Gallery backup is ending. We are sorry.")
    whole_page(console, f"retirement-form-{viewport['width']}")
    if viewport is PHONE:
        fits(console)
    form.get_by_role("button", name="Plan retirement").click()

    expect(page).to_have_url(re.compile(r"/admin/retirements/show\?id=\d+$"))
    plan_id = int(page.url.rsplit("=", 1)[1])
    ok(page, f"Planned retirement {plan_id} of Photos and videos.")
    plan = services.retirements.get(plan_id)
    assert (plan.groups, plan.exempt, plan.refund, plan.created_by) == (affected, exempt, "last-payment", admin.email)
    assert plan.announce_at == dates["Announce (UTC)"]
    for step in ("announce", "stop-sync", "deadline", "delete"):
        row = page.locator(f'table.preview tr[data-step="{step}"]')
        expect(row.locator("[data-users]")).to_have_text("1")
        expect(row.locator("[data-bytes]")).to_have_text(str(size))
        expect(row.locator("[data-size]")).to_have_text(format_size(size))
    expect(page.locator('table.preview tr[data-step="delete"] .when')).to_have_text(
        (now + 70 * DAY).strftime("%-d %b %Y %H:%M"))
    expect(page.locator('[data-fact="exempt"] dd')).to_have_text(exempt)
    expect(page.locator('table.audit tr[data-action="planned"]')).to_contain_text(admin.email)
    whole_page(console, f"retirement-planned-{viewport['width']}")
    if viewport is PHONE:
        fits(console)

    postpone = page.get_by_role("region", name="Postpone or cancel")
    expect(postpone.get_by_label("Delete (UTC)")).to_have_value(local(now + 70 * DAY))
    postpone.get_by_label("Delete (UTC)").fill(local(now + 80 * DAY))
    postpone.get_by_role("button", name="Postpone").click()
    ok(page, f"Postponed: delete {(now + 80 * DAY):%-d %b %Y %H:%M} UTC.")
    assert services.retirements.get(plan_id).delete_at == now + 80 * DAY
    assert services.retirements.get(plan_id).announce_at == dates["Announce (UTC)"]  # the others stayed
    expect(page.locator('table.audit tr[data-action="postponed"]')).to_contain_text('"delete_at"')
    expect(page.locator('table.preview tr[data-step="delete"] .when')).to_have_text(
        (now + 80 * DAY).strftime("%-d %b %Y %H:%M"))

    earlier = postpone.get_by_label("Stop sync (UTC)")  # earlier: the browser says so, and so does the server
    earlier.fill(local(now + 25 * DAY))
    assert earlier.evaluate("input => input.validity.rangeUnderflow") is True
    csrf = page.locator('meta[name="csrf-token"]').get_attribute("content")
    refused = page.request.post("/admin/retirements/postpone", form={
        "id": str(plan_id), "stop_sync_at": local(now + 25 * DAY), "csrf": csrf}, max_redirects=0)
    assert refused.status == 303
    page.reload()
    expect(page.locator(".flash-error")).to_contain_text("stop_sync_at can only move later")
    assert services.retirements.get(plan_id).stop_sync_at == now + 30 * DAY

    page.get_by_role("button", name="Cancel retirement").click()
    ok(page, f"Retirement {plan_id} is cancelled")
    expect(page.locator('[data-fact="state"]')).to_contain_text("cancelled")
    expect(page.get_by_role("button", name="Cancel retirement")).to_have_count(0)
    expect(page.get_by_role("region", name="Postpone or cancel")).to_have_count(0)
    expect(page.locator('table.audit tr[data-action="cancelled"]')).to_contain_text(admin.email)
    assert services.retirements.get(plan_id).state == "cancelled"

    page.get_by_role("link", name="← Retirements").click()
    row = page.locator(f'tr[data-retirement="{plan_id}"]')
    expect(row).to_have_attribute("data-state", "cancelled")
    expect(row.locator("[data-groups]")).to_have_text(affected)
    expect(row.locator("[data-exempt]")).to_have_text(exempt)
    whole_page(console, f"retirement-list-{viewport['width']}")
    if viewport is PHONE:
        fits(console)

    form = page.get_by_role("region", name="Plan a retirement")  # the form's mistakes come back as its message
    form.locator('[data-choice="groups"]').get_by_label(affected).check()
    for label, moment in dates.items():
        form.get_by_label(label).fill(local(moment))
    form.get_by_label("Delete (UTC)").fill(local(now + DAY))
    form.get_by_role("button", name="Plan retirement").click()
    expect(page).to_have_url(f"{server.url}/admin/retirements")
    expect(page.locator(".flash-error")).to_contain_text("the dates must come in order")
    assert console.errors == []


def test_the_retirement_pages_are_for_administrators_only(browse, own):
    server, accounts = own
    group = unique("Closed")
    accounts.services.regions.add_group(group, ["IS"])
    now = utcnow()
    plan = accounts.services.retirements.plan("ops@example.org", "gallery", [group], now + 20 * DAY, now + 30 * DAY,
                                              now + 40 * DAY, now + 50 * DAY, "none")
    member = person(accounts, "nosy", "IS")
    visit = browse(PHONE, on=server)
    visit.sign_in(member)
    for path in ("/admin/retirements", f"/admin/retirements/show?id={plan.id}"):
        assert visit.page.goto(path).status == 403, path
    expect(visit.page.get_by_role("link", name="Admin")).to_have_count(0)
    csrf = visit.page.locator('meta[name="csrf-token"]').get_attribute("content")
    for path, form in (("/admin/retirements", {"kind": "gallery", "groups": group, "announce_at": "2030-01-01T00:00",
                                               "stop_sync_at": "2030-01-02T00:00", "deadline_at": "2030-01-03T00:00",
                                               "delete_at": "2030-01-04T00:00", "refund": "none"}),
                       ("/admin/retirements/postpone", {"id": str(plan.id), "delete_at": "2031-01-01T00:00"}),
                       ("/admin/retirements/cancel", {"id": str(plan.id)})):
        refused = visit.page.request.post(path, form={**form, "csrf": csrf}, max_redirects=0)
        assert refused.status == 403, path
    assert [row.state for row in [accounts.services.retirements.get(plan.id)]] == ["scheduled"]
    assert [event["action"] for event in accounts.services.retirements.events(plan.id)] == ["planned"]
    accounts.services.retirements.cancel("ops@example.org", plan.id)


def test_a_finished_retirement_shows_its_audit_and_report_and_the_user_their_notice_and_receipt(browse, own,
                                                                                                   clock):
    server, accounts = own
    services = accounts.services
    group = unique("Pacific")
    services.regions.add_group(group, ["NZ"])
    holder = person(accounts, "holder", "NZ")
    assert upload(holder, jpeg(9400), filename="IMG_kept.jpg").status_code == 201
    size = gallery_bytes(holder)
    admin = person(accounts, "operator", is_admin=True)
    now = utcnow()
    plan = services.retirements.plan(admin.email, "gallery", [group], now - dt.timedelta(minutes=1),
                                     now + 10 * DAY, now + 40 * DAY, now + 50 * DAY, "last-payment",
                                     "Gallery backup ends here. Download your photos.")
    run_due_jobs(services)  # the announcement, due already
    assert services.retirements.get(plan.id).state == "announced"

    for viewport in (PHONE, DESKTOP):
        told = browse(viewport, on=server)
        told.sign_in(holder)
        notice = told.page.locator(".notice", has_text="Gallery backup ends here.")
        expect(notice).to_have_count(1)
        expect(notice.locator('[data-yours="gallery"]')).to_have_text(f"You keep 1 item ({format_size(size)}) of it.")
        expect(notice.locator('[data-export-standing="none"]')).to_contain_text(
            "You have not downloaded an export of everything since this was announced.")
        expect(notice).to_have_attribute("data-required", "")
        expect(notice.get_by_role("link", name="Move it to another service")).to_have_attribute("href", "/move")
        told.screenshot(f"retirement-notice-{viewport['width']}")
        if viewport is PHONE:
            fits(told)
        else:  # one click prepares the export, and the notice follows it to verified
            notice.get_by_role("button", name="Export everything now").click()
            expect(told.page).to_have_url(re.compile(r"/download$"))
            expect(told.page.locator(".flash")).to_contain_text("Your export is being prepared")
            deadline = time.monotonic() + 120
            while (export := holder.http.get("/export").json())["state"] == "preparing":  # it waits for the media
                assert time.monotonic() < deadline, export
                run_worker(server)
            assert export["state"] == "ready", export
            told.page.goto("/")
            expect(notice.locator('[data-export-standing="ready"]')).to_contain_text("0 of 1 part downloaded")
            assert holder.http.get(export["parts"][0]["url"].removeprefix("/api/v1")).status_code == 200
            told.page.reload()
            expect(notice.locator('[data-export-standing="downloaded"]')).to_contain_text(
                f"was downloaded on {utcnow():%-d %b %Y}")
            assert holder.http.post(f"/export/{export['id']}/verified",
                                    json={"manifest_sha256": export["manifest"]["sha256"]}).status_code == 200
            told.page.reload()
            expect(notice.locator('[data-export-standing="verified"]')).to_have_text(
                f"Your export of everything as of {utcnow():%-d %b %Y} was downloaded and verified on "
                f"{utcnow():%-d %b %Y}.")
            told.screenshot(f"retirement-notice-verified-{viewport['width']}")
        assert told.errors == []

    for hop in (11 * DAY, 30 * DAY, 10 * DAY):  # the clock of this process, whose services run the steps
        clock(hop)
        run_due_jobs(services)
    done = services.retirements.get(plan.id)
    assert done.state == "done", done.state
    assert holder.http.get("/assets").json()["items"] == []

    for viewport in (PHONE, DESKTOP):
        console = browse(viewport, on=server)
        console.sign_in(admin)
        page = console.page
        page.goto("/admin/retirements")
        page.get_by_role("link", name=f"#{plan.id}").click()
        expect(page.locator('[data-fact="state"]')).to_contain_text("done")
        expect(page.get_by_role("region", name="Postpone or cancel")).to_have_count(0)
        report = page.get_by_role("region", name="Report")
        expect(report.locator('[data-report="users"] dd')).to_have_text("1")
        expect(report.locator('[data-report="items"] dd')).to_have_text("2")  # the photo, and the export of it
        expect(report.locator('[data-report="bytes"] dd')).not_to_have_text("0 B")
        expect(report.locator('[data-report="rows_left"] dd')).to_have_text("0")
        expect(report.locator('[data-report="bytes_left"] dd')).to_have_text("0")
        expect(report.locator('[data-report="clean"] dd')).to_have_text("clean")
        audit = page.locator("table.audit tbody tr")
        actions = [row.get_attribute("data-action") for row in audit.all()]
        assert actions[0] == "planned", actions
        assert {"deleted", "announced", "reminded", "sync-stopped", "refunded", "deletion-started"} <= set(actions), actions
        expect(page.locator('table.audit tr[data-action="planned"]')).to_contain_text(admin.email)
        expect(page.locator('table.audit tr[data-action="deleted"]')).to_contain_text('"clean":true')
        expect(page.locator('table.audit tr[data-action="deleted"]').first).to_contain_text("job")
        whole_page(console, f"retirement-done-{viewport['width']}")
        if viewport is PHONE:
            fits(console)
        assert console.errors == []

        mine = browse(viewport, on=server)
        mine.sign_in(holder)
        mine.page.goto("/account")
        card = mine.page.get_by_role("region", name="Deletion receipts")
        receipt = card.locator(f'[data-receipt="{plan.id}"]')
        expect(receipt).to_have_attribute("data-state", "done")
        expect(receipt.get_by_role("heading")).to_have_text("Photos and videos")
        expect(receipt.locator("[data-items]")).to_have_text("2")  # the photo and its export
        expect(receipt.locator("[data-scan]")).to_have_text("nothing left")
        [stored] = holder.http.get("/me/deletion-receipts").json()
        expect(receipt.locator("[data-manifest]")).to_have_attribute("title", stored["manifest_sha256"])
        expect(receipt.locator("[data-manifest]")).to_have_text(stored["manifest_sha256"][:12] + "…")
        expect(receipt.locator("[data-bytes]")).to_contain_text(f"({stored['bytes']} bytes)")
        card.scroll_into_view_if_needed()
        mine.screenshot(f"retirement-receipt-{viewport['width']}")
        if viewport is PHONE:
            fits(mine)
        assert mine.errors == []


def test_the_account_page_has_no_receipts_card_without_receipts(browse, own):
    server, accounts = own
    member = person(accounts, "plain", "NZ")
    visit = browse(PHONE, on=server)
    visit.sign_in(member)
    visit.page.goto("/account")
    expect(visit.page.get_by_role("heading", name="Storage")).to_be_visible()
    expect(visit.page.get_by_role("region", name="Deletion receipts")).to_have_count(0)
