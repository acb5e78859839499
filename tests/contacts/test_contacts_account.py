"""Contacts in what concerns a whole account, in process: the full export gains a Contacts folder (vCard 4.0
and 3.0) that imports again as nothing new; deleting the account removes every contact, book and export file
(the receipt counts them); the quota's repair agrees with what the kind charges; hostile CardDAV requests get
a clear 4xx and change nothing."""

from __future__ import annotations

import io
import uuid

import pytest

from contacts.dav_helpers import XML, book_path, dav_client, propfind, vcard
from contacts.vcard_samples import all_dialects
from route_table import full_export
from phonecloud.accounts.deletion import receipt_json
from phonecloud.contacts.kind import NAME
from phonecloud.contacts.vcard import read_cards

pytestmark = pytest.mark.in_process  # domain rules: the app in this process (tests/inprocess.py)


def _import(user, data: bytes):
    answer = user.http.post("/contacts/imports", content=data, headers={"Content-Type": "text/vcard"})
    assert answer.status_code == 201, answer.text
    return answer.json()


def test_download_all_has_a_contacts_folder_in_both_versions_that_imports_as_nothing_new(user):
    _import(user, all_dialects()["android_21"])
    _import(user, all_dialects()["iphone_30"])
    user.http.post("/contacts/books", json={"name": "Work"})
    files = full_export(user)
    contacts = sorted(path for path in files if path.startswith("Takeout/Contacts/"))
    assert contacts == ["Takeout/Contacts/Contacts.vcf", "Takeout/Contacts/vCard 3.0/Contacts.vcf"]  # Work is empty
    newest, older = files["Takeout/Contacts/Contacts.vcf"].decode(), files[contacts[1]].decode()
    assert newest.splitlines().count("VERSION:4.0") == 6 and older.splitlines().count("VERSION:3.0") == 6
    assert len(list(read_cards(io.BytesIO(files[contacts[1]])))) == 6
    assert _import(user, files["Takeout/Contacts/Contacts.vcf"])["duplicates"] == 6
    assert _import(user, files[contacts[1]])["duplicates"] == 6


def test_an_export_of_a_user_without_contacts_has_no_contacts_folder(user):
    assert not any(path.startswith("Takeout/Contacts") for path in full_export(user))


def test_deleting_the_account_removes_every_contact_book_and_export_file(server, accounts):
    leaving = accounts.create(name="leaving")
    _import(leaving, all_dialects()["iphone_30"])
    with dav_client(server, leaving.email, leaving.key) as dav:
        dav.put(book_path(leaving.email) + "x.vcf", content=vcard("uid-x", "Deleted Later"),
                headers={"Content-Type": "text/vcard"})
        dav.delete(book_path(leaving.email) + "x.vcf")  # a tombstone row
    full_export(leaving)
    services = accounts.services
    user_id = services.accounts.user_by_email(leaving.email).id
    assert len(list(services.blobs.iterate(f"users/{user_id}/contacts/"))) == 2
    started = leaving.http.request("DELETE", "/me", json={"password": leaving.password})
    assert started.status_code == 202, started.text
    deletion = services.deletions.run_here(services.deletions.receipt(uuid.UUID(started.json()["id"])))
    receipt = receipt_json(deletion)
    assert receipt["removed"][NAME]["items"] == 3
    assert receipt["removed"][NAME]["rows"] == 3 + 1 + 1  # contacts, the tombstone, the book
    assert receipt["final_scan"] == {"blobs_under_prefix": 0, "rows_left": {}, "clean": True}
    with services.db.read() as session:
        assert services.kind(NAME).rows_left(session, user_id) == 0


def test_the_quota_repair_agrees_with_what_contacts_charge(user, accounts):
    _import(user, all_dialects()["android_21"])
    user_id = accounts.services.accounts.user_by_email(user.email).id
    assert [repair for repair in accounts.services.quota.repair() if repair.user_id == user_id] == []
    me = user.http.get("/me").json()
    assert me["used_bytes"] == me["usage"]["contacts"]["bytes"] > len(all_dialects()["android_21"]) // 2


BILLION_LAUGHS = (b'<?xml version="1.0"?><!DOCTYPE d [<!ENTITY a "aaaaaaaaaa">'
                  b'<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;"><!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;">]>'
                  b'<d:propfind xmlns:d="DAV:"><d:prop><d:displayname>&c;</d:displayname></d:prop></d:propfind>')
EXTERNAL_ENTITY = (b'<?xml version="1.0"?><!DOCTYPE d [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
                   b'<d:propfind xmlns:d="DAV:"><d:prop><d:displayname>&x;</d:displayname></d:prop></d:propfind>')


@pytest.mark.parametrize("method, body, status", [
    ("PROPFIND", BILLION_LAUGHS, 400),
    ("PROPFIND", EXTERNAL_ENTITY, 400),
    ("REPORT", b"<not-closed", 400),
    ("PROPPATCH", b"\xff\xfe\x00garbage", 400),
    ("PROPFIND", b"<a>" + b"x" * (2 << 20) + b"</a>", 413),
])
def test_hostile_xml_bodies_are_refused_before_radicale_parses_them(server, user, method, body, status):
    with dav_client(server, user.email, user.key) as dav:
        answer = dav.request(method, book_path(user.email), content=body, headers={**XML, "Depth": "0"})
    assert answer.status_code == status, answer.text
    assert answer.json()["message"]


@pytest.mark.parametrize("body", [
    b"not a vcard at all",
    b"BEGIN:VCARD\r\nVERSION:3.0\r\nFN:No End\r\n",
    b"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nBEGIN:VEVENT\r\nUID:e\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n",
    b"BEGIN:VCARD\r\nVERSION:3.0\r\nUID:x\r\nFN:\xff\xfe bad utf-8\r\nEND:VCARD\r\n",
])
def test_a_put_of_what_is_not_a_vcard_is_refused_and_changes_nothing(server, user, body):
    with dav_client(server, user.email, user.key) as dav:
        answer = dav.put(book_path(user.email) + "bad.vcf", content=body, headers={"Content-Type": "text/vcard"})
        assert 400 <= answer.status_code < 500, answer.text
        assert dav.get(book_path(user.email) + "bad.vcf").status_code == 404
    assert user.http.get("/contacts").json()["total"] == 0


def test_a_contact_over_the_size_limit_is_refused(server, user):
    huge = vcard("uid-huge", "Huge", extra="NOTE:" + "x" * (9 << 20) + "\r\n")
    with dav_client(server, user.email, user.key) as dav:
        answer = dav.put(book_path(user.email) + "huge.vcf", content=huge, headers={"Content-Type": "text/vcard"})
        assert answer.status_code in (400, 413), answer.status_code
        assert propfind(dav, book_path(user.email), "<d:getetag/>", depth="1").status_code == 207
    assert user.http.get("/contacts").json()["total"] == 0
