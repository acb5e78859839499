"""The Contacts pages in Chromium, at 375 px (a phone) and 1280 px: a .vcf file imported from the page (its
answer: imported, updated, already here, or the line that could not be read), the list with photos and
initials, search, a contact's card, an edit that reaches CardDAV (and one refused because a phone changed the
contact meanwhile), deleting, downloading, and an app password made on the sync page and used by CardDAV.
Hostile cards show as text, and another user's contact is a 404 on every contacts page."""

from __future__ import annotations

import re

import pytest
from contacts.vcard_samples import EXPECTED, all_dialects
from playwright.sync_api import expect

from .conftest import PHONE
from .flows import nav
from .contacts_flows import (
    DESKTOP,
    HOSTILE_NAME,
    PHONE_375,
    Shots,
    ada,
    address_book,
    broken_file,
    contact_id,
    contact_path,
    dav,
    grace,
    hostile,
    import_through_api,
    li,
)

WIDTHS = pytest.mark.parametrize("viewport", [PHONE_375, DESKTOP], ids=["375", "1280"])


def _fits(page, viewport) -> None:
    """Nothing wider than the window (a phone must never scroll sideways)."""
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= viewport["width"], (page.url, width)


def _watch_dialogs(page) -> list[str]:
    """Every alert a page opens (a name that ran as script would open one)."""
    opened: list[str] = []
    page.on("dialog", lambda dialog: opened.append(dialog.message))
    return opened


@WIDTHS
def test_a_vcf_imported_on_the_page_is_listed_searched_and_shown(browse, accounts, tmp_path, viewport):
    member = accounts.create(name="importer")
    visit = browse(viewport)
    visit.sign_in(member)
    page = visit.page
    alerts = _watch_dialogs(page)
    shot = Shots(tmp_path, page, viewport["width"])
    nav(page, "Contacts")
    expect(page.get_by_text("No contacts yet")).to_be_visible()
    _fits(page, viewport)
    shot("empty")

    book = tmp_path / "contacts.vcf"
    book.write_bytes(address_book())
    page.locator("#vcf-file").set_input_files(book)
    results = page.locator(".import-results li")
    expect(results.first.locator(".import-name")).to_have_text("contacts.vcf")
    expect(results.first.locator(".import-result")).to_have_text("4 imported, 0 updated, 0 already here "
                                                                 "(duplicates).")
    expect(page.locator(".contact-list li")).to_have_count(4)  # the list below is brought up to date
    page.locator("#vcf-file").set_input_files(book)  # the same file again adds nothing
    expect(results.nth(1).locator(".import-result")).to_have_text("0 imported, 0 updated, 4 already here "
                                                                  "(duplicates).")
    cut = tmp_path / "cut.vcf"
    cut.write_bytes(broken_file())
    page.locator("#vcf-file").set_input_files(cut)
    failed = page.locator(".import-results li.failed")
    expect(failed.locator(".import-name")).to_have_text("cut.vcf")
    expect(failed.locator(".import-result")).to_have_text(re.compile(
        r"^could not be read: line 10: BEGIN:VCARD without END:VCARD.*Nothing of it was imported\.$"))
    expect(failed.locator(".import-state")).to_have_text("not imported")
    _fits(page, viewport)
    shot("import-answers")

    rows = page.locator(".contact-list li")
    expect(rows).to_have_count(4)  # nothing of the cut file
    photo = rows.filter(has_text="Ada Lovelace").locator("img.avatar")
    expect(photo).to_be_visible()
    assert photo.evaluate("image => image.complete && image.naturalWidth === 96")  # the card's own JPEG
    expect(rows.filter(has_text="Grace Hopper").locator(".avatar")).to_have_text("GH")
    expect(rows.filter(has_text="Grace Hopper")).to_contain_text("Réserve Navale")  # quoted-printable UTF-8
    mallory = rows.filter(has_text="Mallory")
    expect(mallory.locator(".contact-name")).to_have_text(HOSTILE_NAME.replace("\u202e", ""))
    expect(mallory.locator("span.avatar")).to_be_visible()  # its SVG "photo" is never served: initials instead
    expect(page.locator(".contact-list img")).to_have_count(1)
    expect(rows.filter(has_text="李小龍").locator(".avatar")).to_have_text("李")
    _fits(page, viewport)
    shot("list")

    page.get_by_label("Search contacts").fill("hopper")
    page.get_by_role("button", name="Search").click()
    expect(page).to_have_url(re.compile(r"/contacts\?q=hopper$"))
    expect(rows).to_have_count(1)
    expect(page.locator(".result-count")).to_contain_text("1 contact matches “hopper”")
    page.get_by_label("Search contacts").fill("7946 0999")  # a number as it is written on the card
    page.get_by_label("Search contacts").press("Enter")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("Ada Lovelace")
    if viewport is DESKTOP:  # the number it was found by, not the first one
        expect(rows.first.locator(".contact-phone")).to_have_text("+44 20 7946 0999")
    shot("search")
    page.get_by_label("Search contacts").fill("nobody-like-this")
    page.get_by_label("Search contacts").press("Enter")
    expect(page.get_by_text("No contact matches “nobody-like-this”")).to_be_visible()

    page.get_by_label("Search contacts").fill("")
    page.get_by_label("Search contacts").press("Enter")
    rows.filter(has_text="Ada Lovelace").get_by_role("link").click()
    expect(page.locator("h1")).to_have_text("Ada Lovelace")
    expect(page.locator(".organisation")).to_have_text("Analytical Engines Ltd")
    expect(page.get_by_role("img", name="Photo of Ada Lovelace")).to_be_visible()
    numbers = page.locator(".phones a")
    expect(numbers).to_have_count(2)
    assert numbers.first.get_attribute("href") == "tel:+442079460018"
    expect(page.locator(".phones li").first).to_contain_text("mobile")
    expect(page.get_by_role("link", name="ada@example.org")).to_have_attribute("href", "mailto:ada@example.org")
    details = page.locator(".properties")
    expect(details).to_contain_text("12 St James's Square")
    expect(details).to_contain_text("Birthday")
    expect(details).to_contain_text("Wrote notes on the engine.")
    expect(details.locator("div", has_text="Website (home page)")).to_contain_text("https://example.org/ada")
    _fits(page, viewport)
    shot("card", full_page=True)

    page.goto("/contacts")
    page.locator(".contact-list a", has_text="Mallory").click()
    expect(page.locator("h1")).to_have_text(HOSTILE_NAME.replace("\u202e", ""))
    expect(page.locator(".organisation")).to_have_text("<script>alert(2)</script>")
    expect(page.locator(".properties")).to_contain_text("</dd><script>alert(5)</script>")
    expect(page.locator(".properties")).to_contain_text("javascript:alert(4)")
    assert page.locator("main a[href^='javascript']").count() == 0
    # What is no number and no single address is shown as text, not as a link that could do something else.
    expect(page.locator(".phones li")).to_contain_text("javascript:alert(3)")
    expect(page.locator(".emails li")).to_contain_text("x@example.org?cc=victim@example.org&body=<b>")
    assert page.locator(".phones a, .emails a").count() == 0
    _fits(page, viewport)
    shot("hostile-card")
    svg = visit.context.request.get(f"/contacts/{contact_id(member, 'mallory')}/photo")
    assert svg.status == 404  # never served as an image of the site's own origin
    assert alerts == [] and not visit.errors


@WIDTHS
def test_every_dialect_imported_on_the_page_reads_on_its_cards(browse, accounts, tmp_path, viewport):
    """Files of Android, iPhone, Outlook, Gmail, Thunderbird, BlackBerry ... picked at once: each answered, and
    each contact's card shows its numbers, emails, organisation and photo."""
    member = accounts.create(name="dialects")
    files = []
    for name, data in all_dialects().items():
        files.append(tmp_path / f"{name}.vcf")
        files[-1].write_bytes(data)
    visit = browse(viewport)
    visit.sign_in(member)
    page = visit.page
    shot = Shots(tmp_path, page, viewport["width"])
    page.goto("/contacts")
    page.locator("#vcf-file").set_input_files(files)
    results = page.locator(".import-results li")
    expect(results).to_have_count(len(files))
    for number, name in enumerate(all_dialects()):
        expect(results.nth(number).locator(".import-name")).to_have_text(f"{name}.vcf")
        expect(results.nth(number).locator(".import-result")).to_have_text(re.compile(
            r"^\d+ imported, \d+ updated, \d+ already here \(duplicates?\)\.$"))
    stored = member.http.get("/contacts", params={"limit": 1000}).json()
    expect(page.locator(".result-count")).to_have_text(f"{stored['total']} contacts")
    _fits(page, viewport)
    shot("dialects", full_page=True)
    ids = {(one["name"], tuple(one["phones"]), tuple(one["emails"])): one["id"] for one in stored["contacts"]}
    for person in {person for cards in EXPECTED.values() for person in cards}:
        name = person.name
        page.goto(f"/contacts/{ids[(name, person.phones, person.emails)]}")
        expect(page.locator("h1")).to_have_text(name)
        expect(page.locator(".phones li")).to_have_count(len(person.phones))
        for phone in person.phones:
            expect(page.locator(".phones")).to_contain_text(phone)
        expect(page.locator(".emails li")).to_have_count(len(person.emails))
        if person.organisation:
            expect(page.locator(".organisation")).to_have_text(person.organisation)
        photo = page.get_by_role("img", name=f"Photo of {name}")
        if person.photo:
            expect(photo).to_be_visible()
            assert photo.evaluate("image => image.complete && image.naturalWidth > 0"), name
        else:
            expect(photo).to_have_count(0)
        _fits(page, viewport)
    assert not visit.errors


@WIDTHS
def test_an_edit_reaches_carddav_and_a_stale_edit_is_refused(browse, accounts, server, tmp_path, viewport):
    member = accounts.create(name="editor")
    import_through_api(member, (grace() + ada()).encode())
    grace_id = contact_id(member, "grace")
    uid = member.http.get(f"/contacts/{grace_id}").json()["uid"]
    visit = browse(viewport)
    visit.sign_in(member)
    page = visit.page
    shot = Shots(tmp_path, page, viewport["width"])
    page.goto(f"/contacts/{grace_id}")
    page.get_by_role("link", name="Edit").click()
    expect(page.locator("h1")).to_have_text("Edit Grace Hopper")
    page.get_by_label("Name", exact=True).fill("Grace Brewster Hopper")
    page.get_by_label("Organisation").fill("US Navy")
    page.get_by_label("Phone number 2").fill("")  # removes the home number
    page.get_by_label("New email").fill("grace@cobol.example")
    page.get_by_role("button", name="Add another number").click()
    page.get_by_label("New phone number 4").fill("+1 202 555 0199")
    _fits(page, viewport)
    shot("edit", full_page=True)
    page.get_by_role("button", name="Save").click()
    expect(page.locator(".flash-ok")).to_contain_text("Saved")
    expect(page.locator("h1")).to_have_text("Grace Brewster Hopper")
    expect(page.locator(".phones a")).to_have_text(["+1 202 555 0143", "+1 202 555 0199"])
    expect(page.locator(".emails a")).to_have_text(["grace@navy.example", "grace@cobol.example"])
    shot("edited")

    with dav(server, member.email, member.key) as phone:
        synced = phone.get(contact_path(member.email, uid))
        assert synced.status_code == 200, synced.text
        assert "FN:Grace Brewster Hopper" in synced.text and "ORG:US Navy" in synced.text
        assert "+1 202 555 0100" not in synced.text and "grace@cobol.example" in synced.text

        page.get_by_role("link", name="Edit").click()  # opened here; then the phone changes the contact
        changed_on_phone = synced.text.replace("+1 202 555 0199", "+1 202 555 0177")
        put = phone.put(contact_path(member.email, uid), content=changed_on_phone,
                        headers={"Content-Type": "text/vcard", "If-Match": synced.headers["etag"]})
        assert put.status_code in (201, 204), put.text
        page.get_by_label("Name", exact=True).fill("Grace Stale Edit")
        with page.expect_response(lambda response: response.request.method == "POST") as answer:
            page.get_by_role("button", name="Save").click()
        assert answer.value.status == 409
        expect(page.locator("#edit-error")).to_contain_text("changed somewhere else (on a phone, say) after you "
                                                             "opened it")
        expect(page.get_by_label("Name", exact=True)).to_have_value("Grace Brewster Hopper")
        expect(page.get_by_label("Phone number 2")).to_have_value("+1 202 555 0177")  # as the phone left it
        expect(page.locator(".attempted")).to_contain_text("Grace Stale Edit")
        _fits(page, viewport)
        shot("stale-edit", full_page=True)
        kept = phone.get(contact_path(member.email, uid))
        assert "FN:Grace Brewster Hopper" in kept.text and "+1 202 555 0177" in kept.text

        etag = phone.get(contact_path(member.email, uid)).headers["etag"]
        page.get_by_role("button", name="Save").click()  # the form as it is now: nothing to store
        expect(page.locator(".flash-ok")).to_have_text("Nothing was changed.")
        assert phone.get(contact_path(member.email, uid)).headers["etag"] == etag

        page.get_by_role("link", name="Edit").click()
        page.get_by_label("Name", exact=True).fill("Grace Hopper, again")  # made again on what is there now
        page.get_by_role("button", name="Save").click()
        expect(page.locator("h1")).to_have_text("Grace Hopper, again")
        assert "FN:Grace Hopper\\, again" in phone.get(contact_path(member.email, uid)).text
    assert not visit.errors


@WIDTHS
def test_download_and_delete(browse, accounts, server, tmp_path, viewport):
    member = accounts.create(name="deleter")
    import_through_api(member, (ada() + grace() + li()).encode())
    visit = browse(viewport)
    visit.sign_in(member)
    page = visit.page
    shot = Shots(tmp_path, page, viewport["width"])
    page.goto("/contacts")
    page.get_by_text("Download .vcf").click()
    _fits(page, viewport)
    shot("download-menu")
    for version in ("4.0", "3.0"):
        if page.locator("details.menu[open]").count() == 0:  # a download closes the menu
            page.get_by_text("Download .vcf").click()
        with page.expect_download() as downloading:
            page.get_by_role("link", name=re.compile(f"vCard {re.escape(version)}")).click()
        text = downloading.value.path().read_text("utf-8")
        assert text.count("BEGIN:VCARD") == 3 and text.count(f"VERSION:{version}") == 3, text[:300]
        assert "FN:李小龍" in text
        assert downloading.value.suggested_filename == ("contacts.vcf" if version == "4.0"
                                                        else "contacts (vCard 3.0).vcf")

    page.locator(".contact-list a", has_text="李小龍").click()
    page.get_by_text("Download .vcf").click()
    with page.expect_download() as downloading:
        page.get_by_role("link", name=re.compile("vCard 3.0")).click()
    assert downloading.value.suggested_filename == "李小龍.vcf"
    one = downloading.value.path().read_text("utf-8")
    assert one.count("BEGIN:VCARD") == 1 and "VERSION:3.0" in one and "FN:李小龍" in one

    page.get_by_role("link", name="Delete…").click()
    expect(page.locator("h1")).to_have_text("Delete 李小龍?")
    _fits(page, viewport)
    shot("delete-confirm")
    page.get_by_role("button", name="Delete").click()
    expect(page).to_have_url(re.compile(r"/contacts$"))
    expect(page.locator(".flash-ok")).to_contain_text("Deleted 李小龍")
    expect(page.locator(".contact-list li")).to_have_count(2)
    assert page.locator(".contact-list", has_text="李小龍").count() == 0
    shot("deleted")
    with dav(server, member.email, member.key) as phone:
        assert phone.get(contact_path(member.email, "urn:uuid:5d2a7b0e-1111-4c1a-9a51-2f1f1c0d0e01")).status_code == 404

    # A delete confirmed after a phone changed the contact is refused, and the contact stays.
    ada_id = contact_id(member, "ada")
    page.goto(f"/contacts/{ada_id}/delete")
    uid = member.http.get(f"/contacts/{ada_id}").json()["uid"]
    with dav(server, member.email, member.key) as phone:
        current = phone.get(contact_path(member.email, uid))
        phone.put(contact_path(member.email, uid), content=current.text.replace("First programmer", "The first"),
                  headers={"Content-Type": "text/vcard"})
    page.get_by_role("button", name="Delete").click()
    expect(page.locator(".flash-error")).to_contain_text("Not deleted: Ada Lovelace was changed somewhere else")
    expect(page.locator(".properties")).to_contain_text("The first")
    assert not visit.errors


@WIDTHS
def test_the_sync_page_makes_an_app_password_that_carddav_takes(browse, accounts, server, tmp_path, viewport):
    member = accounts.create(name="syncer")
    import_through_api(member, ada().encode())
    visit = browse(viewport)
    visit.sign_in(member)
    page = visit.page
    shot = Shots(tmp_path, page, viewport["width"])
    page.goto("/contacts")
    page.get_by_role("link", name="Sync with your phone").click()
    expect(page.get_by_role("heading", name="Android: DAVx⁵")).to_be_visible()
    expect(page.get_by_role("heading", name="iPhone and iPad")).to_be_visible()
    expect(page.get_by_role("heading", name="Thunderbird")).to_be_visible()
    expect(page.locator("main")).to_contain_text("Settings › Contacts › Accounts › Add Account › Other › "
                                                 "Add CardDAV Account")
    server_url = page.get_by_label("Server URL", exact=True).inner_text()
    assert server_url == f"{server.url}/dav/"
    expect(page.get_by_label("User name", exact=True)).to_have_text(member.email)
    _fits(page, viewport)
    shot("sync", full_page=True)

    page.get_by_label("Phone or program").fill("Pixel 8 contacts")
    with page.expect_response(lambda response: response.request.method == "POST") as answer:
        page.get_by_role("button", name="Make an app password").click()
    assert answer.value.headers["cache-control"] == "no-store"
    password = page.get_by_label("App password for Pixel 8 contacts").inner_text()
    assert password.startswith("pck_")
    expect(page.get_by_role("status")).to_contain_text("Shown this once")
    page.get_by_role("button", name="Copy the app password").click()
    expect(page.get_by_role("button", name="Copy the app password")).to_have_text("Copied")
    _fits(page, viewport)
    shot("sync-password")

    with dav(server, member.email, password) as phone:
        found = phone.request("PROPFIND", server_url, headers={"Depth": "0"})
        assert found.status_code == 207, found.text
        home = phone.request("PROPFIND", f"/dav/{member.email}/contacts/", headers={"Depth": "1"})
        assert home.status_code == 207 and "ada-lovelace-0001" in home.text
        assert "FN:Ada Lovelace" in phone.get(contact_path(member.email, "ada-lovelace-0001")).text
    with dav(server, member.email, "pck_not-a-key") as stranger:
        assert stranger.request("PROPFIND", server_url, headers={"Depth": "0"}).status_code == 401

    page.goto("/account")  # the app password is a device of its own, revocable there
    expect(page.locator("table")).to_contain_text("Pixel 8 contacts")
    assert not visit.errors


def test_several_address_books_are_chosen_imported_into_and_downloaded_one_by_one(browse, accounts, tmp_path):
    member = accounts.create(name="books")
    import_through_api(member, ada().encode())  # into the default book, "Contacts"
    work = member.http.post("/contacts/books", json={"name": "Work"})
    assert work.status_code == 201, work.text
    visit = browse(DESKTOP)
    visit.sign_in(member)
    page = visit.page
    page.goto("/contacts")
    page.get_by_label("Import into").select_option(label="Work")
    cards = tmp_path / "work.vcf"
    cards.write_text(grace() + li(), encoding="utf-8")
    page.locator("#vcf-file").set_input_files(cards)
    expect(page.locator(".import-result")).to_have_text("2 imported, 0 updated, 0 already here (duplicates).")
    expect(page.locator(".contact-list li")).to_have_count(3)
    page.get_by_label("Address book").select_option(label="Work (2)")  # shown at once
    expect(page).to_have_url(re.compile(rf"/contacts\?book={work.json()['id']}$"))
    expect(page.locator(".contact-list li")).to_have_count(2)
    expect(page.locator(".result-count")).to_have_text("2 contacts in Work")
    expect(page.get_by_label("Import into")).to_have_value(str(work.json()["id"]))
    page.get_by_label("Search contacts").fill("ada")  # a search stays in the chosen book
    page.get_by_label("Search contacts").press("Enter")
    page.wait_for_url(re.compile(r"q=ada"))  # the new page loaded, its script listening to the choice below
    expect(page.get_by_text("No contact matches “ada”")).to_be_visible()
    page.get_by_label("Address book").select_option(label="All address books (3)")
    expect(page.locator(".contact-list li")).to_have_count(1)
    page.goto(f"/contacts?book={work.json()['id']}")
    page.get_by_text("Download .vcf").click()
    expect(page.locator(".menu-title")).to_have_text("Work")
    Shots(tmp_path, page, 1280)("books")
    with page.expect_download() as downloading:
        page.get_by_role("link", name=re.compile("vCard 4.0")).click()
    assert downloading.value.suggested_filename == "work.vcf"
    text = downloading.value.path().read_text("utf-8")
    assert text.count("BEGIN:VCARD") == 2 and "Grace Hopper" in text and "Lovelace" not in text
    page.locator(".contact-list a", has_text="Grace Hopper").click()
    expect(page.locator(".contact-title")).to_contain_text("In the address book Work")
    page.goto("/contacts/sync")
    page.get_by_text("Address book URLs").click()
    expect(page.locator(".book-urls")).to_contain_text(f"/dav/{member.email}/work/")
    assert not visit.errors


def test_a_long_list_comes_in_pages(browse, accounts):
    member = accounts.create(name="long")
    import_through_api(member, "".join(
        f"BEGIN:VCARD\r\nVERSION:3.0\r\nUID:person-{number:03d}\r\nFN:Person {number:03d}\r\n"
        f"TEL:+49 30 555 {number:04d}\r\nEND:VCARD\r\n" for number in range(130)).encode())
    visit = browse(PHONE_375)
    visit.sign_in(member)
    page = visit.page
    page.goto("/contacts")
    rows = page.locator(".contact-list li")
    expect(rows).to_have_count(100)
    expect(rows.first).to_contain_text("Person 000")
    expect(page.locator(".pager")).to_contain_text("1–100 of 130")
    page.get_by_role("link", name="Next ›").click()
    expect(rows).to_have_count(30)
    expect(rows.first).to_contain_text("Person 100")
    expect(page.locator(".pager")).to_contain_text("101–130 of 130")
    _fits(page, PHONE_375)
    page.get_by_role("link", name="‹ Previous").click()
    expect(rows).to_have_count(100)
    assert not visit.errors


def test_another_users_contact_is_not_found_on_any_contacts_page(browse, accounts):
    owner, stranger = accounts.create(name="owner"), accounts.create(name="stranger")
    import_through_api(owner, (ada() + grace()).encode())
    secret_id = contact_id(owner, "ada")
    book = owner.http.get("/contacts/books").json()[0]["id"]
    visit = browse()
    visit.sign_in(stranger)
    page = visit.page
    for path in (f"/contacts/{secret_id}", f"/contacts/{secret_id}/edit", f"/contacts/{secret_id}/delete",
                 f"/contacts/{secret_id}/photo", f"/contacts/{secret_id}/vcard", f"/contacts/{secret_id}/vcard?version=3.0",
                 f"/contacts?book={book}", f"/contacts/export?book={book}", f"/contacts/export?book={book}&version=3.0",
                 "/contacts/99999999999999999999", "/contacts/0", "/contacts/ada"):
        response = page.goto(path)
        assert response.status == 404, (path, response.status)
        assert "Lovelace" not in page.content() and owner.email not in page.content(), path
    page.goto("/contacts")
    expect(page.get_by_text("No contacts yet")).to_be_visible()
    csrf = page.locator('meta[name="csrf-token"]').get_attribute("content")
    etag = owner.http.get(f"/contacts/{secret_id}").json()["etag"]
    for path, form in ((f"/contacts/{secret_id}/edit", {"etag": etag, "name": "Taken", "phones": "1"}),
                       (f"/contacts/{secret_id}/delete", {"etag": etag})):
        response = visit.context.request.post(path, form={**form, "csrf": csrf}, max_redirects=0)
        assert response.status == 404, (path, response.status)
    imported = visit.context.request.post("/contacts/imports", multipart={
        "csrf": csrf, "book": str(book), "file": {"name": "x.vcf", "mimeType": "text/vcard", "buffer": grace().encode()}},
        headers={"Accept": "application/json"})
    assert imported.status == 404, imported.text()
    assert owner.http.get(f"/contacts/{secret_id}").json()["name"] == "Ada Lovelace"
    assert owner.http.get("/contacts").json()["total"] == 2
    assert stranger.http.get("/contacts").json()["total"] == 0
    assert not visit.errors


def test_forms_without_the_pages_token_are_refused(browse, accounts):
    member = accounts.create(name="csrf")
    import_through_api(member, ada().encode())
    ada_id = contact_id(member, "ada")
    etag = member.http.get(f"/contacts/{ada_id}").json()["etag"]
    visit = browse()
    visit.sign_in(member)
    request = visit.context.request
    for path, form in ((f"/contacts/{ada_id}/edit", {"etag": etag, "name": "Forged"}),
                       (f"/contacts/{ada_id}/delete", {"etag": etag}),
                       ("/contacts/sync/app-password", {"device": "forged"})):
        assert request.post(path, form={**form, "csrf": "0" * 64}, max_redirects=0).status == 403, path
    forged = request.post("/contacts/imports", multipart={
        "csrf": "0" * 64, "file": {"name": "x.vcf", "mimeType": "text/vcard", "buffer": grace().encode()}},
        max_redirects=0)
    assert forged.status == 403
    assert member.http.get("/contacts").json()["total"] == 1
    assert member.http.get(f"/contacts/{ada_id}").json()["name"] == "Ada Lovelace"


def test_the_import_works_without_javascript(browser, server, accounts, tmp_path):
    """The form posts the file itself: the answer comes back as the page's message."""
    member = accounts.create(name="nojs")
    context = browser.new_context(base_url=server.url, viewport=DESKTOP, java_script_enabled=False)
    try:
        page = context.new_page()
        page.goto("/signin")
        page.get_by_label("Email").fill(member.email)
        page.get_by_label("Password").fill(member.password)
        page.get_by_role("button", name="Sign in").click()
        page.goto("/contacts")
        book = tmp_path / "contacts.vcf"
        book.write_bytes(address_book())
        page.locator("#vcf-file").set_input_files(book)
        page.get_by_role("button", name="Import", exact=True).click()
        expect(page.locator(".flash-ok")).to_have_text("contacts.vcf: 4 imported, 0 updated, "
                                                       "0 already here (duplicates).")
        expect(page.locator(".contact-list li")).to_have_count(4)
        cut = tmp_path / "cut.vcf"
        cut.write_bytes(broken_file())
        page.locator("#vcf-file").set_input_files(cut)
        page.get_by_role("button", name="Import", exact=True).click()
        expect(page.locator(".flash-error")).to_contain_text("cut.vcf could not be read: line 10")
        page.screenshot(path=str(tmp_path / "contacts-no-javascript-1280.png"))
        page.get_by_label("Search contacts").fill("ada")
        page.get_by_role("button", name="Search").click()
        expect(page.locator(".contact-list li")).to_have_count(1)
    finally:
        context.close()


def test_every_contacts_page_fits_a_360_px_phone(browse, accounts):
    member = accounts.create(name="narrow")
    long_name = "Maximiliane Alexandra Konstantinopolous-Wolkenstein-Rodeneck von Hohenzollern-Sigmaringen"
    import_through_api(member, (ada() + hostile() + li()).encode() + (
        f"BEGIN:VCARD\r\nVERSION:3.0\r\nUID:long-1\r\nFN:{long_name}\r\nORG:{'Organisation ' * 12}\r\n"
        f"EMAIL:{'x' * 80}@example.org\r\nTEL:+49 30 1234567890123456789\r\nNOTE:{'word' * 80}\r\nEND:VCARD\r\n").encode())
    long_id = contact_id(member, "Konstantinopolous")
    visit = browse(PHONE)
    visit.sign_in(member)
    for path in ("/contacts", "/contacts?q=a", "/contacts/sync", f"/contacts/{long_id}", f"/contacts/{long_id}/edit",
                 f"/contacts/{long_id}/delete"):
        visit.page.goto(path)
        _fits(visit.page, PHONE)
    assert not visit.errors
