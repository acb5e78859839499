"""`phonecloud import-export` and the export's `Takeout/Contacts/`: a Download all of someone with contacts
brings the same contacts (names, numbers, emails, organisations, photos) back into an empty account's
default address book, from the zip parts or the unzipped folder, sending each book's vCard 4.0 file (the
3.0 copies only when there are no 4.0 files); running it again adds nothing; a file the server refuses
counts as failed, naming its line, and nothing of Contacts/ becomes an album or a photo."""

from __future__ import annotations

import shutil
import zipfile
from pathlib import Path

import pytest

from conftest import User, upload
from contacts.test_contacts_cli import CARDS, FILES, HOSTILE, contacts_view, expected_view
from contacts.vcard_samples import EXPECTED, plain_30
from media_fixtures import jpeg
from phonecloud.client.import_contacts import CONTACTS_FOLDER, OLDER_VERSION_FOLDER, split_contacts
from phonecloud.contacts import export as contacts_export
from phonecloud.portability.archive import SourceFile, open_sources
from portability.test_export import unzip

from .test_export_cli import export_cli
from .test_import_export import fresh_server, import_cli, library_view  # noqa: F401  (fresh_server: a fixture)

WORK = "gmail_30"  # the sample file that goes into a second address book
NOTHING_NEW = {"contacts": 0, "contact_duplicates": CARDS, "failed": 0}


def imported_into(user: User, data: bytes, book: int | None = None) -> dict:
    answer = user.http.post("/contacts/imports", params={"book": book} if book else {}, content=data,
                            headers={"Content-Type": "text/vcard"})
    assert answer.status_code == 201, answer.text
    return answer.json()


def books_of(user: User) -> list[tuple[str, int]]:
    return [(book["name"], book["contacts"]) for book in user.http.get("/contacts/books").json()]


@pytest.fixture
def exported(server, user, client_env, tmp_path) -> tuple[User, Path]:
    """A user with a photo and contacts of every dialect in two address books (the default one, and Work
    with one file's), and their Download all as zip parts."""
    assert upload(user, jpeg(7300), filename="IMG_7300.jpg").status_code == 201
    assert books_of(user) == [("Contacts", 0)]
    work = user.http.post("/contacts/books", json={"name": "Work", "slug": "work"}).json()["id"]
    for name, data in FILES.items():
        assert imported_into(user, data, work if name == WORK else None)["duplicates"] == 0
    out = tmp_path / "out"
    done = export_cli(client_env, server.url, user, out)
    assert done.returncode == 0, done.stderr
    return user, out


def test_zip_parts_bring_back_the_contacts_into_the_default_book_and_a_second_run_adds_nothing(exported, fresh_server,
                                                                                               client_env):
    source, out = exported
    target_server, target_accounts = fresh_server
    target = target_accounts.create()
    first = import_cli(client_env, target_server.url, target, out)
    assert first.returncode == 0, first.stderr
    assert first.summary | {"bytes": 0} == {
        "uploaded": 1, "duplicates": 0, "bytes": 0, "albums": 0, "favorites": 0, "described": 0, "trashed": 0,
        "skipped": 0,
        "matched": 1,
        "failed": 0, "messages": 0, "message_duplicates": 0, "calls": 0, "call_duplicates": 0,
        "contacts": CARDS, "contact_duplicates": 0}
    work_cards = len(EXPECTED[WORK])
    assert f"Takeout/{CONTACTS_FOLDER}/Contacts.vcf: {CARDS - work_cards} contacts: imported {CARDS - work_cards}, " \
           "updated 0, already there 0" in first.stderr
    assert f"Takeout/{CONTACTS_FOLDER}/Work.vcf: {work_cards} contacts: imported {work_cards}" in first.stderr
    assert contacts_view(target) == contacts_view(source) == expected_view()
    assert books_of(target) == [("Contacts", CARDS)]  # every book's file into the default book
    assert library_view(target) == library_view(source)  # no album made of Contacts/ or vCard 3.0/

    again = import_cli(client_env, target_server.url, target, out)
    assert again.returncode == 0, again.stderr
    assert {key: again.summary[key] for key in NOTHING_NEW} == NOTHING_NEW
    assert again.summary["uploaded"] == 0 and again.summary["duplicates"] == 1
    assert contacts_view(target) == expected_view() and books_of(target) == [("Contacts", CARDS)]


def test_an_unzipped_export_brings_back_the_same_and_without_the_4_0_files_the_3_0_ones(exported, fresh_server,
                                                                                        client_env, tmp_path):
    source, out = exported
    folder = unzip(sorted(out.glob("*.zip")), tmp_path / "unzipped")
    target_server, target_accounts = fresh_server
    target = target_accounts.create()
    first = import_cli(client_env, target_server.url, target, folder / "Takeout")
    assert first.returncode == 0, first.stderr
    assert (first.summary["contacts"], first.summary["contact_duplicates"], first.summary["failed"]) == (CARDS, 0, 0)
    assert contacts_view(target) == contacts_view(source)

    contacts = folder / "Takeout" / CONTACTS_FOLDER
    for path in contacts.glob("*.vcf"):
        path.unlink()
    older_only = target_accounts.create()
    run = import_cli(client_env, target_server.url, older_only, folder)
    assert run.returncode == 0, run.stderr
    assert (run.summary["contacts"], run.summary["failed"]) == (CARDS, 0)
    assert f"Takeout/{CONTACTS_FOLDER}/{OLDER_VERSION_FOLDER}/Contacts.vcf: " in run.stderr
    assert contacts_view(older_only) == contacts_view(source)
    again = import_cli(client_env, target_server.url, target, folder)  # 3.0 files into the account of the 4.0 ones
    assert again.returncode == 0, again.stderr
    assert {key: again.summary[key] for key in NOTHING_NEW} == NOTHING_NEW  # the same contacts, unchanged
    assert contacts_view(target) == contacts_view(source)


def test_a_file_the_server_refuses_counts_as_failed_naming_its_line_and_the_rest_still_comes(fresh_server,
                                                                                           client_env, tmp_path):
    target_server, target_accounts = fresh_server
    target = target_accounts.create()
    contacts = tmp_path / "Takeout" / CONTACTS_FOLDER
    contacts.mkdir(parents=True)
    (contacts / "Friends.vcf").write_bytes(HOSTILE)
    (contacts / "Family.vcf").write_bytes(plain_30())
    photos = tmp_path / "Takeout" / "Google Photos" / "Photos from 2022"
    photos.mkdir(parents=True)
    (photos / "IMG_7400.jpg").write_bytes(jpeg(7400))
    run = import_cli(client_env, target_server.url, target, tmp_path / "Takeout")
    assert run.returncode == 1
    assert (run.summary["uploaded"], run.summary["contacts"], run.summary["failed"]) == (1, 3, 1)
    assert (f"  {CONTACTS_FOLDER}/Friends.vcf: not a readable vCard file: line 18: vCards nested more than 3 deep"
            in run.stderr.splitlines())
    assert contacts_view(target) == expected_view(["plain_30"])


# -- which files are taken ---------------------------------------------------------------------------------


def source_files(*paths: str) -> list[SourceFile]:
    return [SourceFile(path, 1, None, lambda: None) for path in paths]


def test_the_4_0_files_are_taken_else_the_3_0_ones_and_nothing_else_of_the_export():
    top, older = f"Takeout/{CONTACTS_FOLDER}", f"Takeout/{CONTACTS_FOLDER}/{OLDER_VERSION_FOLDER}"
    files = source_files(f"{top}/Contacts.vcf", f"{top}/Work.VCF", f"{older}/Contacts.vcf", f"{older}/Work.vcf",
                         f"{top}/._Contacts.vcf", f"{top}/All Contacts/All Contacts.vcf", f"{top}/readme.txt",
                         "Takeout/Google Photos/Contacts/IMG_1.jpg", "Takeout/Google Photos/Contacts/card.vcf",
                         "Takeout/index.html")
    vcards, rest = split_contacts(files)
    assert [source.path for source in vcards] == [f"{top}/Contacts.vcf", f"{top}/Work.VCF",
                                                  f"{top}/All Contacts/All Contacts.vcf"]
    assert [source.path for source in rest] == [
        f"{top}/._Contacts.vcf", f"{top}/readme.txt", "Takeout/Google Photos/Contacts/IMG_1.jpg",
        "Takeout/Google Photos/Contacts/card.vcf", "Takeout/index.html"]
    only_older, _ = split_contacts(source_files(f"{older}/Contacts.vcf", "Takeout/index.html"))
    assert [source.path for source in only_older] == [f"{older}/Contacts.vcf"]
    given_takeout, _ = split_contacts(source_files(f"{CONTACTS_FOLDER}/Contacts.vcf"))
    assert len(given_takeout) == 1


def test_a_vcard_file_in_a_zip_part_is_streamed_as_it_is_read(tmp_path):
    with zipfile.ZipFile(tmp_path / "part.zip", "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(f"Takeout/{CONTACTS_FOLDER}/Contacts.vcf", FILES["iphone_30"])
        archive.writestr(f"Takeout/{CONTACTS_FOLDER}/{OLDER_VERSION_FOLDER}/Contacts.vcf", FILES["iphone_30"])
    with open_sources([tmp_path / "part.zip"], 1 << 30) as sources:
        (vcard,), rest = split_contacts(sources.files)
        assert rest == [] and vcard.size == len(FILES["iphone_30"])
        with vcard.open() as stream:
            assert stream.read() == FILES["iphone_30"]


def test_the_client_knows_the_folders_the_server_exports():
    """The client cannot import the server's modules (the base install has none), so it names them again."""
    assert contacts_export.FOLDER == f"Takeout/{CONTACTS_FOLDER}"
    assert contacts_export.VERSIONS == {"4.0": f"Takeout/{CONTACTS_FOLDER}",
                                        "3.0": f"Takeout/{CONTACTS_FOLDER}/{OLDER_VERSION_FOLDER}"}


def test_the_takeout_folder_given_itself_has_its_contacts_taken_not_an_album(fresh_server, client_env, tmp_path):
    """`Contacts/` at the top of what is imported (the Takeout folder itself was given) is the export's."""
    target_server, target_accounts = fresh_server
    target = target_accounts.create()
    takeout = tmp_path / "Takeout"
    (takeout / CONTACTS_FOLDER / OLDER_VERSION_FOLDER).mkdir(parents=True)
    (takeout / CONTACTS_FOLDER / "Contacts.vcf").write_bytes(plain_30())
    shutil.copy(takeout / CONTACTS_FOLDER / "Contacts.vcf", takeout / CONTACTS_FOLDER / OLDER_VERSION_FOLDER)
    run = import_cli(client_env, target_server.url, target, takeout)
    assert run.returncode == 0, run.stderr
    assert (run.summary["contacts"], run.summary["albums"], run.summary["skipped"]) == (3, 0, 0)
    assert target.http.get("/albums").json() == []
