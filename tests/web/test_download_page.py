"""Download everything, in the browser: sign in, upload photos, prepare an export, watch it being prepared
(the page refreshes itself once it is ready), download part 1 and find the originals in it, bit for bit.
Another user sees none of those exports and gets 404 for their parts. The server runs no jobs itself, so
the test decides when the export is prepared and the "being prepared" state is seen for sure."""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import zipfile

from playwright.sync_api import expect

from conftest import run_worker

from .conftest import PHONE
from .flows import drop_files, nav, uploaded_ids
from .photos import Photo, generated_jpeg


def test_download_everything_prepares_an_export_and_its_part_downloads(browse, quiet_server, tmp_path):
    server, accounts = quiet_server
    owner, other = accounts.create(name="leaving"), accounts.create(name="staying")
    visit = browse(on=server)
    page = visit.page
    visit.sign_in(owner)
    nav(page, "Upload")
    photos = [Photo(f"IMG_{n}.jpg", generated_jpeg(700 + n, dt.datetime(2021 + n, 5, 1, 9, 30)),
                    dt.datetime(2021 + n, 5, 1, 9, 30)) for n in range(3)]
    drop_files(page, photos)
    uploaded_ids(page, len(photos))
    run_worker(server)  # the capture times read from the photos (an export uses what the library knows)

    nav(page, "Download all")
    expect(page.get_by_role("heading", name="Download everything", level=1)).to_be_visible()
    expect(page.get_by_text("No export yet")).to_be_visible()
    expect(page.locator("#export-command")).to_have_value(f"phonecloud export --out DIR --server {server.url}")
    page.get_by_role("button", name="Prepare a new export").click()
    expect(page.locator(".flash")).to_contain_text("being prepared")
    export = page.locator("section.export")
    expect(export).to_have_attribute("data-state", "preparing")
    expect(export.get_by_role("status")).to_contain_text("Being prepared")
    expect(page.get_by_role("button", name="Prepare a new export")).to_be_disabled()  # one at a time
    visit.screenshot("download-everything-preparing")

    run_worker(server)
    expect(export).to_have_attribute("data-state", "ready")  # the page's script reloaded it
    expect(export).to_contain_text("Ready: 3 photos or videos")
    visit.screenshot("download-everything-ready")
    part_link = export.get_by_role("link", name=re.compile(r"^phonecloud-export-.*-001\.zip$"))
    part_url = part_link.get_attribute("href")
    with page.expect_download() as downloading:
        part_link.click()
    download = downloading.value
    assert re.fullmatch(r"phonecloud-export-\d{8}T\d{6}Z-[0-9a-f]{8}-001\.zip", download.suggested_filename)
    saved = tmp_path / download.suggested_filename
    download.save_as(saved)
    with zipfile.ZipFile(saved) as archive:
        assert archive.testzip() is None
        originals = {name: archive.read(name) for name in archive.namelist() if name.endswith(".jpg")}
    assert sorted(originals.values()) == sorted(photo.body for photo in photos)  # bit-identical
    assert {name.rsplit("/", 2)[1] for name in originals} == {"Photos from 2021", "Photos from 2022",
                                                               "Photos from 2023"}
    assert visit.errors == []

    elsewhere = browse(viewport=PHONE, on=server)
    elsewhere.sign_in(other)
    elsewhere.page.goto("/download")
    expect(elsewhere.page.get_by_text("No export yet")).to_be_visible()
    expect(elsewhere.page.locator("section.export")).to_have_count(0)
    assert elsewhere.page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    stolen = elsewhere.context.request.get(part_url)
    assert stolen.status == 404
    assert hashlib.sha1(stolen.body()).hexdigest() not in {hashlib.sha1(body).hexdigest() for body in originals.values()}
    assert elsewhere.errors == []

    page.get_by_role("button", name="Delete this export").click()
    expect(page.locator(".flash")).to_contain_text("Export deleted")
    expect(page.locator("section.export")).to_have_count(0)
    assert owner.http.get(part_url.removeprefix("/api/v1")).status_code == 404
