"""Damaged media as people see it: a truncated photo is shown as far as it decodes and marked damaged, and a
file that cannot be rendered gets a tile with an icon, its kind and name, and a plain-language reason in the
viewer (the decoder's own words behind "Details"); at phone and desktop widths."""

from __future__ import annotations

import io
import re

import pytest
from PIL import Image
from playwright.sync_api import expect

from conftest import upload

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
