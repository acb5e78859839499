"""The contacts API in process: vCard files of every dialect import with names, numbers, emails and photos
intact; re-importing adds nothing; export → import is lossless in both versions; edits keep every other
property; hostile input gets a clear 4xx and changes nothing; one user never reaches another's contacts."""

from __future__ import annotations

import io

import pytest

from contacts.vcard_samples import EXPECTED, all_dialects, plain_30
from phonecloud.contacts.vcard import parse_card, read_cards

pytestmark = pytest.mark.in_process  # domain rules: the app in this process (tests/inprocess.py)


def import_file(user, data: bytes, **params):
    return user.http.post("/contacts/imports", content=data, params=params, headers={"Content-Type": "text/vcard"})


def every_contact(user, **params) -> list[dict]:
    listed = user.http.get("/contacts", params={"limit": 1000, **params}).json()["contacts"]
    return [user.http.get(f"/contacts/{contact['id']}").json() for contact in listed]


def seen(contact: dict, user) -> tuple:
    photo = user.http.get(f"/contacts/{contact['id']}/photo").content if contact["has_photo"] else None
    return (contact["name"], tuple(contact["phones"]), tuple(contact["emails"]), contact["organisation"], photo)


@pytest.mark.parametrize("dialect", sorted(EXPECTED))
def test_every_dialect_imports_with_names_numbers_emails_and_photos_intact(accounts, dialect):
    user = accounts.create()
    answer = import_file(user, all_dialects()[dialect])
    assert answer.status_code == 201, answer.text
    expected = EXPECTED[dialect]
    assert answer.json()["imported"] == len(expected)
    got = sorted(seen(contact, user) for contact in every_contact(user))
    assert got == sorted((card.name, card.phones, card.emails, card.organisation, card.photo) for card in expected)


def test_importing_the_same_file_again_adds_nothing(user):
    first = import_file(user, all_dialects()["android_21"]).json()
    again = import_file(user, all_dialects()["android_21"]).json()
    assert first["imported"] == 3 and again == {**first, "imported": 0, "duplicates": 3}
    assert user.http.get("/contacts").json()["total"] == 3


def test_export_then_import_is_lossless_in_both_versions(accounts):
    source = accounts.create()
    for data in all_dialects().values():
        assert import_file(source, data).status_code == 201
    before = sorted(seen(contact, source) for contact in every_contact(source))
    for version in ("4.0", "3.0"):
        exported = source.http.get("/contacts/export", params={"version": version})
        assert exported.status_code == 200 and exported.headers["content-type"].startswith("text/vcard")
        assert exported.text.splitlines().count(f"VERSION:{version}") == len(before)
        assert len(list(read_cards(io.BytesIO(exported.content)))) == len(before)
        target = accounts.create()
        assert import_file(target, exported.content).json()["imported"] == len(before)
        assert sorted(seen(contact, target) for contact in every_contact(target)) == before
        # and the other properties too: each card's text, read back, has what the source's had
        source_cards = {card["uid"]: parse_card(card["vcard"]) for card in every_contact(source)}
        for card in every_contact(target):
            assert card["uid"] in source_cards


def test_search_finds_by_name_number_and_email(user):
    import_file(user, all_dialects()["android_21"])
    import_file(user, all_dialects()["iphone_30"])

    def found(query: str) -> list[str]:
        return [contact["name"] for contact in user.http.get("/contacts", params={"q": query}).json()["contacts"]]

    assert found("müller") == ["Jürgen Müller"]
    assert found("山田") == ["山田 太郎"]
    assert found("4085550100") == ["John Appleseed"]
    assert found("apple.example") == ["John Appleseed"]
    assert found("%") == [] and found("_") == []


def test_an_edit_keeps_every_other_property_and_the_photo(user):
    import_file(user, all_dialects()["iphone_30"])
    john = next(contact for contact in every_contact(user) if contact["name"] == "John Appleseed")
    edited = user.http.put(f"/contacts/{john['id']}", json={
        "name": "John Q. Appleseed", "organisation": "Apple Inc.", "phones": ["+1 (408) 555-0100", "+1 555 0000"],
        "emails": ["john@example.com"]}, headers={"If-Match": john["etag"]})
    assert edited.status_code == 200, edited.text
    after = user.http.get(f"/contacts/{john['id']}").json()
    assert after["name"] == "John Q. Appleseed"
    assert after["phones"] == ["+1 (408) 555-0100", "+1 555 0000"] and after["emails"] == ["john@example.com"]
    assert after["has_photo"] and "X-ABRELATEDNAMES" in after["vcard"] and "NOTE:" in after["vcard"]
    stale = user.http.put(f"/contacts/{john['id']}", json={"name": "Stale"}, headers={"If-Match": john["etag"]})
    assert stale.status_code == 412 and stale.json()["error"] == "precondition_failed"


@pytest.mark.parametrize("body, line", [
    (b"this is not a vCard\r\n", 1),
    (b"BEGIN:VCARD\r\nVERSION:3.0\r\nFN:Open\r\n", 1),
    (b"BEGIN:VCARD\r\nVERSION:3.0\r\nFN:Ok\r\nEND:VCARD\r\n\x00\x01\x02garbage\r\n", 5),
])
def test_a_hostile_or_broken_file_is_refused_naming_its_line_and_changes_nothing(user, body, line):
    import_file(user, plain_30())
    before = user.http.get("/contacts").json()["total"]
    refused = import_file(user, body)
    assert refused.status_code == 415, refused.text
    assert refused.json()["line"] == line and f"line {line}" in refused.json()["message"]
    assert user.http.get("/contacts").json()["total"] == before


def test_account_usage_counts_contacts_and_the_quota_refuses_past_it(accounts):
    small = accounts.create(quota_bytes=3000)
    answer = import_file(small, all_dialects()["android_21"])  # its photo alone is over 3,000 bytes
    assert answer.status_code == 413 or answer.status_code == 507, answer.text
    assert small.http.get("/contacts").json()["total"] == 0
    tiny = b"BEGIN:VCARD\r\nVERSION:3.0\r\nFN:Tiny Person\r\nN:Person;Tiny;;;\r\nTEL:+1 555 0100\r\nEND:VCARD\r\n"
    assert import_file(small, tiny).status_code == 201
    me = small.http.get("/me").json()
    assert me["used_bytes"] == me["usage"]["contacts"]["bytes"] > 0


def test_one_user_cannot_read_change_or_delete_another_users_contacts(user, other_user):
    import_file(other_user, all_dialects()["iphone_30"])
    victim = every_contact(other_user)[0]
    book = other_user.http.get("/contacts/books").json()[0]["id"]
    attempts = [
        ("GET", f"/contacts/{victim['id']}", {}), ("GET", f"/contacts/{victim['id']}/photo", {}),
        ("GET", f"/contacts/{victim['id']}/vcard", {}),
        ("PUT", f"/contacts/{victim['id']}", {"json": {"name": "Mine now"}}),
        ("DELETE", f"/contacts/{victim['id']}", {}), ("GET", "/contacts", {"params": {"book": book}}),
        ("GET", "/contacts/export", {"params": {"book": book}}), ("DELETE", f"/contacts/books/{book}", {}),
        ("POST", "/contacts/imports", {"params": {"book": book}, "content": plain_30()}),
    ]
    for method, path, options in attempts:
        answer = user.http.request(method, path, **options)
        assert answer.status_code == 404, (method, path, answer.text)
    assert user.http.get("/contacts").json()["total"] == 0
    assert other_user.http.get(f"/contacts/{victim['id']}").json() == victim


def test_an_edit_that_keeps_the_organisation_keeps_its_parts(user):
    import_file(user, b"BEGIN:VCARD\r\nVERSION:3.0\r\nFN:Jan Jansen\r\nN:Jansen;Jan;;;\r\nORG:Acme GmbH;Vertrieb\r\n"
                      b"END:VCARD\r\n")
    contact = every_contact(user)[0]
    assert contact["organisation"] == "Acme GmbH, Vertrieb"
    edited = user.http.put(f"/contacts/{contact['id']}", json={"name": "Jan Jansen Jr", "organisation":
                                                              contact["organisation"]})
    assert edited.status_code == 200, edited.text
    assert "ORG:Acme GmbH;Vertrieb" in user.http.get(f"/contacts/{contact['id']}").json()["vcard"]
