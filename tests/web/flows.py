"""Steps the web tests take in the browser, as a person would: through labels, buttons and links."""

from __future__ import annotations

import base64
import time

from playwright.sync_api import Page, expect

from .conftest import Browsing
from .photos import Photo

PROCESSING_DEADLINE = 90  # seconds for the media pipeline to read five photos (it takes a few)


def pick_files(page: Page, photos: list[Photo]) -> None:
    page.get_by_label("Drop photos and videos here").set_input_files(
        [{"name": photo.name, "mimeType": "image/jpeg", "buffer": photo.body} for photo in photos])


def drop_files(page: Page, photos: list[Photo]) -> None:
    """Drag and drop, as the browser delivers it: a drop event whose DataTransfer holds the files."""
    transfer = page.evaluate_handle("""(files) => {
        const transfer = new DataTransfer();
        for (const file of files) {
            const bytes = Uint8Array.from(atob(file.data), (c) => c.charCodeAt(0));
            transfer.items.add(new File([bytes], file.name, { type: "image/jpeg", lastModified: file.modified }));
        }
        return transfer;
    }""", [{"name": photo.name, "data": base64.b64encode(photo.body).decode(), "modified": 1_600_000_000_000}
           for photo in photos])
    page.dispatch_event("#dropzone", "dragenter", {"dataTransfer": transfer})
    page.dispatch_event("#dropzone", "drop", {"dataTransfer": transfer})


def uploaded_ids(page: Page, count: int) -> dict[str, str]:
    """Waits for count files in the upload list to be done; their names → asset ids."""
    done = page.locator('#upload-list li[data-state="done"]')
    expect(done).to_have_count(count)
    return {item.locator(".name").inner_text(): item.get_attribute("data-asset") for item in done.all()}


def wait_until_processed(browsing: Browsing, asset_ids: list[str]) -> dict[str, dict]:
    """Each asset as the API describes it once the media pipeline has read it (the page's own cookie)."""
    deadline = time.monotonic() + PROCESSING_DEADLINE
    records: dict[str, dict] = {}
    while len(records) < len(asset_ids):
        assert time.monotonic() < deadline, f"not processed in {PROCESSING_DEADLINE} s: {set(asset_ids) - set(records)}"
        for asset_id in set(asset_ids) - set(records):
            record = browsing.context.request.get(f"/api/v1/assets/{asset_id}").json()
            if record["media"]["state"] != "pending":
                records[asset_id] = record
        time.sleep(0.2)
    return records


def tile(page: Page, asset_id: str):
    return page.locator(f"#t-{asset_id}")


def nav(page: Page, name: str) -> None:
    """Follow a link of the main navigation, to the page with its script running (drops, keys); on a phone, from
    the bottom bar, opening its "More" first where the link is there."""
    page.wait_for_load_state()  # the style sheet applied: until then the header's links and the bar both show
    main = page.get_by_role("navigation", name="Main")
    link = main.get_by_role("link", name=name, exact=True)
    if not link.is_visible():
        main.locator("summary", has_text="More").click()
    link.click()
    page.wait_for_load_state()


def viewer_action(page: Page, role: str, name: str):
    """An action of the viewer's bar, unfolded from its "More actions" first where a phone keeps it there."""
    page.wait_for_load_state()  # the script has folded the menu on a phone: unfolding it before, it would fold it
    action = page.locator(".viewer-bar").get_by_role(role, name=name, exact=True)
    if not action.is_visible():
        page.locator(".viewer-more > summary").click()
    return action

