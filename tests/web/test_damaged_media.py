"""Damaged media as people see it: a truncated photo is shown as far as it decodes and marked damaged, and a
file that cannot be rendered gets a tile with an icon, its kind and name, and a plain-language reason in the
viewer (the decoder's own words behind "Details"); a photo whose preview could not be made while its
thumbnail could keeps its thumbnail in the grid and says so in the viewer; a preview not made yet is made
when the viewer opens it; at phone and desktop widths."""

from __future__ import annotations

import io
import re
import uuid

import pytest
from PIL import Image
from playwright.sync_api import expect
from sqlalchemy import update

from conftest import upload
from media_fixtures import jpeg
from route_table import settled

from .conftest import DESKTOP, PHONE
from .flows import wait_until_processed


def cut_photo() -> bytes:
    """A photo whose upload from the phone was cut short: the first half of a real JPEG."""
    buffer = io.BytesIO()
    Image.effect_noise((1200, 900), 60).convert("RGB").save(buffer, "JPEG", quality=90)
    return buffer.getvalue()[: len(buffer.getvalue()) // 2]


@pytest.mark.parametrize("viewport", [PHONE, DESKTOP], ids=["phone", "desktop"])
def test_damaged_and_unrenderable_files_say_what_they_are(browse, accounts, viewport):
    member = accounts.create(name="damaged")
    cut = upload(member, cut_photo(), filename="IMG_cut.jpg", modified_at="2023-04-02T10:00:00Z").json()["id"]
    broken = upload(member, b"\xff\xd8\xff\xe0" + b"\x00" * 5000, filename="IMG_broken.jpg",
                    modified_at="2023-04-01T10:00:00Z").json()["id"]
    visit = browse(viewport)
    visit.sign_in(member)
    records = wait_until_processed(visit, [cut, broken])
    assert records[cut]["media"]["state"] == "ready" and records[cut]["media"]["damage"]
    assert records[broken]["media"]["state"] == "failed"

    page = visit.page
    page.goto("/")
    damaged_tile, failed_tile = page.locator(f"#t-{cut}"), page.locator(f"#t-{broken}")
    expect(damaged_tile.locator("img")).to_be_visible()
    expect(damaged_tile.locator(".badge-damaged")).to_be_visible()
    expect(failed_tile.locator(".no-preview-icon")).to_be_visible()
    expect(failed_tile.locator(".no-preview")).to_contain_text("Photo")
    expect(failed_tile.locator(".no-preview")).to_have_attribute("aria-label", re.compile(r"\(no preview\)$"))
    expect(failed_tile.locator(".no-preview-name")).to_be_visible()
    expect(failed_tile.locator(".no-preview")).to_contain_text("IMG_broken.jpg")
    visit.screenshot(f"damaged-timeline-{viewport['width']}")

    page.goto(f"/photos/{cut}")
    expect(page.locator("#stage img")).to_be_visible()
    preview = page.locator('.info-row[data-field="preview"]')
    expect(preview).to_contain_text("Damaged but shown")
    expect(preview).to_contain_text("the rest is grey")
    expect(preview.locator("details code")).to_be_hidden()
    preview.locator("summary").click()
    expect(preview.locator("details code")).to_contain_text("premature end")

    page.goto(f"/photos/{broken}")
    stage = page.locator("#stage .no-preview")
    expect(stage).to_contain_text("No preview of this photo")
    expect(stage).to_contain_text("no part of it could be read")
    expect(stage).to_contain_text("The original is kept")
    reason = page.locator('.info-row[data-field="preview"]')
    reason.locator("summary").click()
    expect(reason.locator("details code")).to_contain_text("not a readable image")
    assert page.evaluate("document.documentElement.scrollWidth") <= viewport["width"]
    visit.screenshot(f"damaged-viewer-{viewport['width']}")


def set_preview(accounts, asset_id: str, **values) -> None:
    """The preview's columns set by hand, once the pipeline is done with the photo (settled), so that no job
    changes them after: a preview refused, or not made yet."""
    from phonecloud.media.models import AssetMedia

    with accounts.services.db.write() as session:
        session.execute(update(AssetMedia).where(AssetMedia.asset_id == uuid.UUID(asset_id)).values(**values))


@pytest.mark.parametrize("viewport", [PHONE, DESKTOP], ids=["phone", "desktop"])
def test_a_preview_refused_keeps_its_thumbnail_and_one_not_made_yet_is_made_on_view(browse, accounts, viewport):
    member = accounts.create(name="previews")
    refused = upload(member, jpeg(7101), filename="IMG_refused.jpg", modified_at="2023-05-02T10:00:00Z").json()["id"]
    later = upload(member, jpeg(7102), filename="IMG_later.jpg", modified_at="2023-05-01T10:00:00Z").json()["id"]
    for asset_id in (refused, later):
        settled(member, asset_id)
    set_preview(accounts, refused, preview_key=None, preview_error="rendering timed out after 120 s")
    set_preview(accounts, later, preview_key=None, preview_error=None)  # as before its job ran
    visit = browse(viewport)
    visit.sign_in(member)
    page = visit.page

    page.goto("/")
    expect(page.locator(f"#t-{refused} img")).to_be_visible()  # the grid shows its thumbnail
    expect(page.locator(f"#t-{refused} .no-preview")).to_have_count(0)
    page.goto(f"/photos/{refused}")
    stage = page.locator("#stage .no-preview")
    expect(stage).to_contain_text("No preview of this photo")
    expect(stage).to_contain_text("took far longer")
    expect(stage).to_contain_text("The original is kept")
    reason = page.locator('.info-row[data-field="preview"]')
    reason.locator("summary").click()
    expect(reason.locator("details code")).to_contain_text("rendering timed out")

    page.goto(f"/photos/{later}")
    shown = page.locator("#stage img")
    expect(shown).to_be_visible()
    page.wait_for_function("() => { const image = document.querySelector('#stage img');"
                           " return image && image.complete && image.naturalWidth > 0; }")
    assert member.http.get(f"/assets/{later}").json()["media"]["preview_state"] == "ready"  # made, and kept
    assert page.evaluate("document.documentElement.scrollWidth") <= viewport["width"]
