#!/usr/bin/env python3
"""Regenerates the README's screenshots (docs/screenshots/): the timeline (with "On this day" above it), the
viewer with its info panel, a search, the map, a shared link as its visitor sees it, a conversation of the Messages
pages, the admin console, a Google Takeout imported on its page and the library then moved to another account from
"Move my library to…", at desktop (1280 x 800) and phone (360 x 740, 2x) widths, in Debian's headless Chromium:

    .venv/bin/python docs/screenshots.py [--out docs/screenshots]

It runs a `phonecloud serve` of its own in a temporary folder, uploads twenty photos of the real corpus
(../shared/corpus/exif-samples; generated photos when it is absent), imports a messages backup, waits for their
thumbnails, shares an album of them and posts a notice, as the tests do (it uses their helpers: the test extra
must be installed).
"""

from __future__ import annotations

import argparse
import datetime as dt
import io
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from PIL import ExifTags, Image  # noqa: E402

from conftest import SHARED_CORPUS, Accounts, Server, upload  # noqa: E402  (the tests' server and accounts)
from messages.backup_files import MESSAGES, MessageSpec, PartSpec, sbr_messages_xml  # noqa: E402
from messages.server_helpers import imported  # noqa: E402
from takeout_fixtures import build_takeout  # noqa: E402
from web.conftest import CHROMIUM, DESKTOP, PHONE, Browsing  # noqa: E402
from web.flows import wait_until_processed  # noqa: E402
from web.photos import generated_photos  # noqa: E402
from web.test_admin import promote  # noqa: E402

CAMERAS = ["Canon_40D.jpg", "Nikon_D70.jpg", "Pentax_K10D.jpg", "Fujifilm_FinePix_E500.jpg", "Olympus_C8080WZ.jpg",
           "Panasonic_DMC-FZ30.jpg", "Sony_HDR-HC3.jpg", "Kodak_CX7530.jpg", "Canon_PowerShot_S40.jpg",
           "Nikon_COOLPIX_P1.jpg", "Ricoh_Caplio_RR330.jpg"]
NOTICE = "Scheduled maintenance on Sunday 02:00–03:00 UTC: uploads pause, nothing is lost."
VIEWED = "DSCN0012.jpg"  # the photo the viewer shows (with GPS): the newest one without the corpus


def photos() -> list[tuple[str, bytes]]:
    folder = SHARED_CORPUS / "jpg"
    files = sorted((folder / "gps").glob("*.jpg")) + [folder / name for name in CAMERAS]
    if all(path.is_file() for path in files):
        return [(path.name, path.read_bytes()) for path in files]
    return [(photo.name, photo.body) for photo in generated_photos(500)]


def on_this_day(photos: list[tuple[str, bytes]]) -> list[tuple[str, bytes]]:
    """Two of the photos again, as if taken on today's date two and five years ago: "On this day" has cards."""
    today, dated = dt.date.today(), []
    for years, (name, body) in zip((2, 5), photos[-2:]):
        with Image.open(io.BytesIO(body)) as image:
            exif = image.getexif()
            day = today.replace(year=today.year - years, day=28 if (today.month, today.day) == (2, 29) else today.day)
            exif.get_ifd(ExifTags.IFD.Exif)[ExifTags.Base.DateTimeOriginal] = f"{day:%Y:%m:%d} 17:30:00"
            buffer = io.BytesIO()
            image.save(buffer, "JPEG", exif=exif, quality=90)
        dated.append((f"IMG_{day:%Y%m%d}_{name}", buffer.getvalue()))
    return dated


def messages_backup(photo: bytes) -> bytes:
    """The tests' conversation with Anna (SMS back and forth), and an MMS from her with a real photo."""
    anna = MESSAGES[0]
    holiday = MessageSpec("mms", 1, anna.date_ms + 600_000, sbr_address=anna.sbr_address, contact_name=anna.contact_name,
                          addresses=[(anna.sbr_address, 137), ("insert-address-token", 151)],
                          parts=[PartSpec(0, "image/jpeg", data=photo, name="beach.jpg", cl="beach.jpg"),
                                 PartSpec(1, "text/plain", text="Grüße vom Strand!", cl="text_0.txt", chset="106")])
    return sbr_messages_xml([message for message in MESSAGES if message.kind == "sms"] + [holiday])


def shoot(browser, server: Server, user, viewport: dict, scale: int, suffix: str, out: Path, ids: dict) -> None:
    visit = Browsing(browser, server, viewport, scale)
    page = visit.page
    visit.sign_in(user)
    page.wait_for_load_state("networkidle")
    page.locator("#scrubber").wait_for()  # the year rail, once its months are in
    if suffix == "desktop":  # two selected: the selection bar shows
        for checkbox in page.locator(".tile input[type=checkbox]").all()[1:3]:
            checkbox.check()
    page.screenshot(path=str(out / f"timeline-{suffix}.png"))
    page.goto(f"/photos/{ids.get(VIEWED) or next(iter(ids.values()))}")
    page.wait_for_load_state("networkidle")  # the info panel is open unless someone closed it
    page.screenshot(path=str(out / f"viewer-{suffix}.png"))
    page.goto("/search?q=nikon")
    page.locator(".tile img").first.wait_for()
    page.wait_for_load_state("networkidle")
    page.screenshot(path=str(out / f"search-{suffix}.png"))
    page.goto("/map")
    page.locator(".map-markers > *").first.wait_for()
    page.wait_for_load_state("networkidle")
    page.screenshot(path=str(out / f"map-{suffix}.png"))
    page.goto("/messages")
    page.get_by_role("link", name="Anna Schmidt").first.click()
    page.wait_for_load_state("networkidle")
    page.screenshot(path=str(out / f"messages-{suffix}.png"))
    page.goto("/admin")
    page.screenshot(path=str(out / f"admin-{suffix}.png"))
    visit.close()


def shoot_shared(browser, server: Server, link: str, viewport: dict, scale: int, suffix: str, out: Path) -> None:
    """A shared album as someone without an account opens its link."""
    visit = Browsing(browser, server, viewport, scale)
    visit.page.goto(link)
    visit.page.locator(".share-tile img").first.wait_for()
    visit.page.wait_for_load_state("networkidle")
    visit.page.screenshot(path=str(out / f"shared-{suffix}.png"))
    visit.close()


def shoot_takeout(browser, server: Server, user, viewport: dict, scale: int, suffix: str, out: Path,
                  parts: list[Path]) -> None:
    """The Takeout page once a two-part Takeout chosen on it is imported: each part's bar, the report."""
    visit = Browsing(browser, server, viewport, scale)
    page = visit.page
    visit.sign_in(user)
    page.goto("/takeout")
    page.locator("#takeout[data-ready]").wait_for(state="attached")
    page.locator("#takeout-parts").set_input_files(parts)
    page.get_by_role("link", name="See them in your photos").wait_for(timeout=120_000)
    page.screenshot(path=str(out / f"takeout-{suffix}.png"))
    visit.close()


def shoot_move(browser, server: Server, user, target, viewport: dict, scale: int, suffix: str, out: Path) -> None:
    """The "Move my library to…" page once a move to another account is done: the form, the move, its report."""
    visit = Browsing(browser, server, viewport, scale)
    page = visit.page
    visit.sign_in(user)
    page.goto("/move")
    page.locator("#move-form[data-ready]").wait_for(state="attached")
    page.get_by_label("Move to").select_option("phonecloud")
    page.get_by_label("Address").fill(server.url)
    page.get_by_label("API key of your account there").fill(target.key)
    page.get_by_role("button", name="Start moving").click()
    done = page.locator('.moves li[data-state="done"]')
    done.wait_for(timeout=120_000)
    done.scroll_into_view_if_needed()  # on a phone, the move and its report rather than the form
    page.screenshot(path=str(out / f"move-{suffix}.png"))
    visit.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "screenshots")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory(prefix="phonecloud-screenshots-") as work:
        # Moves go to another account of this same server, on loopback.
        server = Server(Path(work) / "data", {"PHONECLOUD_MOVES_TO_PRIVATE_ADDRESSES": "1"}).start()
        accounts = Accounts(server)
        try:
            alex, _sam = accounts.create(name="alex"), accounts.create(name="sam")
            arriving = {"desktop": accounts.create(name="jo"), "phone": accounts.create(name="kim")}
            moved_to = {"desktop": accounts.create(name="lee"), "phone": accounts.create(name="max")}
            parts = build_takeout(Path(work))["parts"]
            promote(accounts, alex)
            taken = photos()
            ids = {name: upload(alex, body, filename=name).json()["id"]
                   for name, body in taken + on_this_day(taken)}
            album = alex.http.post("/albums", json={"title": "Cameras of the 2000s"}).json()["id"]
            alex.http.put(f"/albums/{album}/assets", json={"asset_ids": [ids[name] for name in CAMERAS if name in ids]
                                                              or list(ids.values())[:8]})
            link = alex.http.post("/shares", json={"album_id": album}).json()["url"]
            imported(alex, messages_backup(taken[0][1]), "sms-20231114.xml")
            accounts.services.notices.post(NOTICE, "info", None)
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True,
                                                     args=["--no-sandbox"])
                signed = Browsing(browser, server)
                signed.sign_in(alex)
                wait_until_processed(signed, list(ids.values()))
                signed.page.goto(f"/photos/{ids.get(VIEWED) or next(iter(ids.values()))}")
                signed.page.get_by_role("button", name="☆ Favourite").click()  # a star in the grid and the viewer
                signed.page.get_by_role("button", name="★ Favourite").wait_for()
                signed.close()
                shoot(browser, server, alex, {"width": DESKTOP["width"], "height": 800}, 1, "desktop", args.out, ids)
                shoot(browser, server, alex, PHONE, 2, "phone", args.out, ids)
                shoot_shared(browser, server, link, {"width": DESKTOP["width"], "height": 800}, 1, "desktop", args.out)
                shoot_shared(browser, server, link, PHONE, 2, "phone", args.out)
                for suffix, viewport, scale in (("desktop", {"width": DESKTOP["width"], "height": 800}, 1),
                                                ("phone", PHONE, 2)):
                    shoot_takeout(browser, server, arriving[suffix], viewport, scale, suffix, args.out, parts)
                    shoot_move(browser, server, arriving[suffix], moved_to[suffix], viewport, scale, suffix, args.out)
                browser.close()
        finally:
            accounts.close()
            server.stop()
    print(f"screenshots written to {args.out}")


if __name__ == "__main__":
    main()
