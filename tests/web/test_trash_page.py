"""The trash in Chromium, at phone and desktop widths: "Empty trash" (after its confirmation) deletes every item
of the trash for good and "Restore all" brings them back; after "Move to trash", from a selection on the grid
or from the viewer, the page offers an Undo that restores exactly the items moved (not those trashed before)."""

from __future__ import annotations

import io
import re

import pytest
from PIL import Image
from playwright.sync_api import expect

from gallery.test_trash_api import ids as _ids, photos as _photos
from media_fixtures import jpeg

from .conftest import DESKTOP, PHONE
from .flows import nav, tile, viewer_action

VIEWPORTS = pytest.mark.parametrize("viewport", [PHONE, DESKTOP], ids=["phone", "desktop"])


@VIEWPORTS
def test_empty_trash_after_its_confirmation_deletes_everything_in_it(browse, accounts, viewport):
    user = accounts.create(name="empty-trash")
    kept = _photos(user, range(9301, 9303))
    binned = _photos(user, range(9303, 9306), trash=True)
    visit = browse(viewport)
    visit.sign_in(user)
    page = visit.page
    asked: list[str] = []
    page.on("dialog", lambda dialog: asked.append(dialog.message))  # the fixture's own listener accepts it
    nav(page, "Trash")
    totals = sum(asset["size_bytes"] for asset in binned)
    expect(page.locator("#trash-totals")).to_have_text(re.compile(r"^3 items · \d+\.\d KiB$"))
    expect(page.locator(".tile")).to_have_count(3)
    visit.screenshot(f"trash-actions-{viewport['width']}")
    # While items are selected, the selection's buttons are the only ones: no "Empty trash" beside "Delete for good".
    page.wait_for_load_state()
    page.locator(f"#pick-{binned[0]['id']}").check()
    expect(page.get_by_role("button", name="Delete for good")).to_be_visible()
    expect(page.get_by_role("button", name="Empty trash")).to_have_count(0)
    page.get_by_role("button", name="Clear").click()
    page.get_by_role("button", name="Empty trash").click()
    expect(page.locator(".flash-ok")).to_have_text("3 items deleted for good.")
    assert asked and asked[0].startswith("Delete all 3 items in the trash for good")
    expect(page.get_by_text("The trash is empty.")).to_be_visible()
    expect(page.get_by_role("button", name="Empty trash")).to_have_count(0)
    assert _ids(user, trashed=True) == set()
    assert _ids(user, trashed=False) == {asset["id"] for asset in kept}
    me = user.http.get("/me").json()
    assert (me["used_bytes"], me["asset_count"]) == (sum(asset["size_bytes"] for asset in kept), 2)
    assert totals > 0 and visit.errors == []


@VIEWPORTS
def test_restore_all_brings_the_whole_trash_back(browse, accounts, viewport):
    user = accounts.create(name="restore-all")
    binned = _photos(user, range(9311, 9314), trash=True)
    visit = browse(viewport)
    visit.sign_in(user)
    page = visit.page
    nav(page, "Trash")
    page.get_by_role("button", name="Restore all").click()
    expect(page.locator(".flash-ok")).to_have_text("3 items restored to your library.")
    expect(page.get_by_text("The trash is empty.")).to_be_visible()
    nav(page, "Photos")
    for asset in binned:
        expect(tile(page, asset["id"])).to_have_count(1)
    assert visit.errors == []


@VIEWPORTS
def test_undo_after_moving_a_selection_to_the_trash_restores_exactly_those(browse, accounts, viewport):
    user = accounts.create(name="undo-grid")
    earlier = _photos(user, range(9321, 9322), trash=True)[0]  # in the trash before: stays there
    photos = _photos(user, range(9322, 9326))
    visit = browse(viewport)
    visit.sign_in(user)
    page = visit.page
    chosen = [photos[0]["id"], photos[2]["id"]]
    for asset_id in chosen:
        page.locator(f"#pick-{asset_id}").check()
    expect(page.locator("[data-count]")).to_have_text("2")
    page.get_by_role("button", name="Move to trash").click()
    undo = page.locator("#undo")
    expect(undo.get_by_role("status")).to_have_text("2 items moved to the trash.")
    expect(page.locator(".flash")).to_have_count(0)  # said once, by the Undo
    expect(undo.get_by_role("button", name="Undo")).to_be_visible()
    for asset_id in chosen:
        expect(tile(page, asset_id)).to_have_count(0)
    visit.screenshot(f"undo-grid-{viewport['width']}")
    # Another page's action keeps no Undo in its way back: the forms' own "back" leaves it out.
    assert "undo=" not in page.locator('#selection input[name="back"]').input_value()

    undo.get_by_role("button", name="Undo").click()
    expect(page.locator(".flash-ok")).to_have_text("2 items restored.")
    expect(page).not_to_have_url(re.compile("undo="))
    expect(page.locator("#undo")).to_have_count(0)
    for asset_id in chosen:
        expect(tile(page, asset_id)).to_have_count(1)
    assert _ids(user, trashed=True) == {earlier["id"]}
    assert _ids(user, trashed=False) == {photo["id"] for photo in photos}
    assert visit.errors == []


@VIEWPORTS
def test_undo_after_trashing_from_the_viewer_brings_the_item_back(browse, accounts, viewport):
    user = accounts.create(name="undo-viewer")
    photos = _photos(user, range(9331, 9334))
    visit = browse(viewport)
    visit.sign_in(user)
    page = visit.page
    middle = photos[1]["id"]
    page.goto(f"/photos/{middle}")
    viewer_action(page, "button", "Trash").click()
    expect(page.locator(".flash-ok")).to_contain_text("Moved to the trash")
    expect(page).not_to_have_url(re.compile(f"/photos/{middle}"))  # on to the next item
    undo = page.locator("#undo")
    expect(undo).to_contain_text("“IMG_9332.jpg” moved to the trash.")  # the item no longer on the screen
    visit.screenshot(f"undo-viewer-{viewport['width']}")
    undo.get_by_role("button", name="Undo").click()
    expect(page).to_have_url(re.compile(f"/photos/{middle}$"))
    expect(page.locator(".flash-ok")).to_have_text("1 item restored.")
    expect(viewer_action(page, "button", "Trash")).to_be_visible()
    assert _ids(user, trashed=True) == set()

    # By keys: Delete moves it to the trash, Ctrl+Z undoes it.
    page.wait_for_load_state()
    page.keyboard.press("Delete")
    expect(page.locator("#undo")).to_be_visible()
    assert _ids(user, trashed=True) == {middle}
    page.wait_for_load_state()  # the page's script (and its keys) is there once the page has loaded
    page.keyboard.press("Control+z")
    expect(page).to_have_url(re.compile(f"/photos/{middle}$"))
    assert _ids(user, trashed=True) == set()
    assert visit.errors == []


def test_an_undo_restores_nothing_that_is_not_the_callers_or_not_its_own(browse, accounts):
    """A move's undo token names one move of the caller's: sent by another user, or after the items were
    restored, it brings back nothing."""
    owner, intruder = accounts.create(name="undo-owner"), accounts.create(name="undo-intruder")
    photo = _photos(owner, range(9341, 9342))[0]
    visit = browse(DESKTOP)
    visit.sign_in(owner)
    page = visit.page
    page.goto(f"/photos/{photo['id']}")
    page.get_by_role("button", name="Trash").click()
    token = page.locator('#undo input[name="undo"]').input_value()

    other = browse(DESKTOP)
    other.sign_in(intruder)
    csrf = other.page.locator('meta[name="csrf-token"]').get_attribute("content")
    answer = other.context.request.post("/trash/undo", form={"undo": token, "back": "/", "csrf": csrf},
                                        max_redirects=0)
    assert answer.status == 303
    other.page.goto(answer.headers["location"])
    expect(other.page.locator(".flash-error")).to_contain_text("Nothing to undo")
    assert _ids(owner, trashed=True) == {photo["id"]}
    for path in ("/trash/empty", "/trash/restore"):  # the whole trash is always the caller's own
        assert other.context.request.post(path, form={"csrf": csrf}, max_redirects=0).status == 303
    assert _ids(owner, trashed=True) == {photo["id"]}
    page.goto(f"/?undo={token}")  # an undo shown again later still names only that move
    expect(page.locator("#undo")).to_contain_text("“IMG_9341.jpg” moved to the trash.")
    page.goto("/?undo=12345")
    expect(page.locator("#undo")).to_have_count(0)
    assert visit.errors == [] and other.errors == []


@VIEWPORTS
def test_a_failed_upload_is_shown_red_with_its_reason(browse, accounts, tmp_path, viewport):
    user = accounts.create(name="upload-failed")
    visit = browse(viewport)
    visit.sign_in(user)
    page = visit.page
    nav(page, "Upload")
    refused = tmp_path / "notes.jpg"
    refused.write_bytes(b"not a photo at all\n" * 40_000)  # 760 KiB: a bar long enough to see its colour
    good = tmp_path / "IMG_9351.jpg"
    good.write_bytes(jpeg(9351))
    page.get_by_label("Drop photos and videos here").set_input_files([refused, good])
    failed = page.locator('#upload-list li[data-state="failed"]')
    expect(failed).to_contain_text("failed: not a photo or video")
    expect(page.locator('#upload-list li[data-state="done"]')).to_have_count(1)
    expect(page.locator("#overall-text")).to_contain_text("1 failed")
    expect(failed.locator(".state")).to_have_css("color", "rgb(140, 29, 24)")
    expect(failed.locator("progress")).to_have_css("accent-color", "rgb(179, 38, 30)")
    expect(failed.locator("progress")).to_have_attribute("aria-label", "Failed: notes.jpg")
    # Sizes as everywhere else in the app: binary units (KiB below a mebibyte, then MiB), never kB or KB.
    expect(page.locator("#overall-text")).to_contain_text(re.compile(r"\d+ KiB of \d+ KiB"))
    expect(failed.locator(".state")).not_to_contain_text("KB")
    assert not re.search(r"\d ?[kK]B\b", page.locator("#upload-progress").inner_text())
    bar = Image.open(io.BytesIO(failed.locator("progress").screenshot())).convert("RGB")
    red = blue = 0
    for x in range(0, bar.width, 4):
        r, g, b = bar.getpixel((x, bar.height // 2))
        red += r > 150 and g < 90 and b < 90
        blue += b > 150 and r < 90
    assert red > bar.width // 8 and blue == 0, (red, blue)
    visit.screenshot(f"upload-failed-{viewport['width']}")
    assert visit.errors == []
