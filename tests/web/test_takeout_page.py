"""The Takeout import page in Chromium, at phone and desktop widths: both zip parts of a Takeout chosen at once
go up with a bar each, one import reads them, and its report names what was imported and what was skipped and
why; the photos are then in the timeline with their albums and descriptions, and the import is listed when
the page is opened again."""

from __future__ import annotations

import io
import time
import zipfile

import pytest
from playwright.sync_api import expect

from takeout_fixtures import DESCRIPTION, SKIPS, build_takeout

from .conftest import DESKTOP, PHONE


@pytest.mark.parametrize("viewport", [PHONE, DESKTOP], ids=["phone", "desktop"])
def test_a_takeout_imported_in_the_browser_with_progress_and_its_report(browse, accounts, tmp_path, viewport):
    takeout = build_takeout(tmp_path)
    member = accounts.create(name="takeout-web")
    visit = browse(viewport)
    visit.sign_in(member)
    page = visit.page
    page.goto("/upload")
    page.get_by_role("link", name="Import your Takeout").click()
    expect(page.locator("h1")).to_have_text("Import a Google Takeout")

    expect(page.locator("#takeout[data-ready]")).to_have_count(1)  # the page's script is listening
    page.locator("#takeout-parts").set_input_files(takeout["parts"])
    parts = page.locator("#takeout-parts-list li")
    expect(parts).to_have_count(2)
    expect(page.locator("#takeout-state")).to_have_text("Imported.", timeout=60_000)
    for number in range(2):
        expect(parts.nth(number)).to_have_attribute("data-state", "done")
    report = page.locator("#takeout-report")
    expect(report).to_contain_text(f"{len(takeout['bodies'])} imported, 0 already in your library")
    expect(report).to_contain_text("1 album, 1 favourite, 4 with a description, people, a place or the "
                                   "archived flag, 1 in the trash, 2 skipped")
    for skip in SKIPS:
        expect(report.locator(".takeout-failures")).to_contain_text(skip)
    assert page.locator("#takeout-progress").evaluate("bar => bar.value === bar.max")
    visit.screenshot(f"takeout-report-{viewport['width']}")
    assert not visit.errors

    page.get_by_role("link", name="See them in your photos").click()
    described = next(item for item in member.http.get("/assets").json()["items"] if item["description"])
    page.goto(f"/photos/{described['id']}")
    expect(page.locator('[data-field="description"] dd')).to_have_text(DESCRIPTION)
    expect(page.locator('[data-field="people"] dd')).to_have_text("Anna, Ben")
    page.goto("/albums")
    expect(page.get_by_text("Summer holiday 2019")).to_be_visible()
    page.goto("/takeout")
    expect(page.locator(".takeout-imports li")).to_have_count(1)
    expect(page.locator(".takeout-imports li")).to_contain_text(f"2 parts · done · {len(takeout['bodies'])} imported")


def test_a_failed_import_keeps_its_part_until_it_is_deleted_from_the_page(browse, accounts, tmp_path):
    member = accounts.create(name="takeout-web-failed")
    broken = tmp_path / "takeout-broken-001.zip"
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("Takeout/Google Photos/Photos from 2019/a.jpg", b"x" * 100)
    broken.write_bytes(buffer.getvalue()[:-30])  # cut: no end of central directory, so no readable zip
    visit = browse(PHONE)
    visit.sign_in(member)
    page = visit.page
    page.goto("/takeout")
    expect(page.locator("#takeout[data-ready]")).to_have_count(1)
    page.locator("#takeout-parts").set_input_files([broken])
    expect(page.locator("#takeout-state")).to_have_text("The import stopped.", timeout=60_000)
    expect(page.locator("#takeout-report")).to_contain_text("not a readable zip archive")
    assert member.http.get("/me").json()["used_bytes"] > 0  # the part is kept, and charged

    page.goto("/takeout")
    failed = page.locator(".takeout-imports li")
    expect(failed).to_contain_text("failed")
    with page.expect_navigation():  # the page reloads once the import is queued again
        failed.get_by_role("button", name="Try again").click()
    import_id = member.http.get("/takeout/imports").json()[0]["id"]
    deadline = time.monotonic() + 60
    while not member.http.get(f"/takeout/imports/{import_id}").json()["finished"]:
        assert time.monotonic() < deadline
        time.sleep(0.1)
    page.goto("/takeout")
    expect(page.locator(".takeout-imports li")).to_contain_text("failed")
    visit.screenshot("takeout-failed-360")
    page.locator(".takeout-imports li").get_by_role("button", name="Delete it and its parts").click()
    expect(page.locator(".takeout-imports li")).to_have_count(0)
    assert member.http.get("/me").json()["used_bytes"] == 0
    assert not visit.errors
