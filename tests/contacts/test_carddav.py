"""CardDAV as a phone's client speaks it (RFC 6352, RFC 6578, RFC 6764), with raw requests: discovery from
the bare server URL as DAVx⁵ does it, ETags and If-Match, sync-collection, sign-in with an app password or
the password, and owners kept apart."""

import pytest

from contacts.dav_helpers import (CARDDAV, DAV, XML, book_path, dav_client, href_text, propfind, responses, status_of,
                         sync_collection, vcard)

pytestmark = pytest.mark.in_process  # domain rules: the app in this process (tests/inprocess.py)


def test_discovery_from_the_bare_server_url_reaches_the_default_address_book(server, user):
    with dav_client(server, user.email, user.key) as dav:
        redirect = dav.request("PROPFIND", "/.well-known/carddav", headers={"Depth": "0"})
        assert redirect.status_code == 301 and redirect.headers["location"] == "/dav/"
        root = responses(propfind(dav, "/dav/", "<d:current-user-principal/>"))
        principal = href_text(next(iter(root.values())), "current-user-principal")
        assert principal == f"/dav/{user.email}/"
        home = href_text(next(iter(responses(propfind(dav, principal, "<c:addressbook-home-set/>")).values())),
                         "addressbook-home-set")
        assert home == f"/dav/{user.email}/"
        books = responses(propfind(dav, home, "<d:resourcetype/><d:displayname/>", depth="1"))
    book = books[book_path(user.email)]
    assert book.find(f".//{{{CARDDAV}}}addressbook") is not None
    assert book.findtext(f".//{{{DAV}}}displayname") == "Contacts"


def test_a_contact_put_is_listed_read_back_with_its_etag_and_shown_by_the_api(server, user):
    card = vcard("uid-ada", "Lovelace Ada")
    with dav_client(server, user.email, user.key) as dav:
        put = dav.put(book_path(user.email) + "ada.vcf", content=card,
                      headers={"Content-Type": "text/vcard", "If-None-Match": "*"})
        assert put.status_code == 201, put.text
        etag = put.headers["etag"]
        got = dav.get(book_path(user.email) + "ada.vcf")
    assert got.status_code == 200 and got.headers["etag"] == etag
    assert "FN:Lovelace Ada" in got.text and "TEL;TYPE=CELL:+4930123456" in got.text
    listed = user.http.get("/contacts").json()
    assert [(contact["name"], contact["phones"]) for contact in listed["contacts"]] == [
        ("Lovelace Ada", ["+4930123456"])]


def test_if_match_refuses_to_overwrite_or_delete_a_changed_contact(server, user):
    path = book_path(user.email) + "grace.vcf"
    with dav_client(server, user.email, user.key) as dav:
        first = dav.put(path, content=vcard("uid-grace", "Hopper Grace"), headers={"Content-Type": "text/vcard"})
        second = dav.put(path, content=vcard("uid-grace", "Hopper Grace", "+100"),
                         headers={"Content-Type": "text/vcard", "If-Match": first.headers["etag"]})
        assert second.status_code in (201, 204), second.text
        stale = dav.put(path, content=vcard("uid-grace", "Hopper Grace", "+200"),
                        headers={"Content-Type": "text/vcard", "If-Match": first.headers["etag"]})
        assert stale.status_code == 412
        assert dav.delete(path, headers={"If-Match": first.headers["etag"]}).status_code == 412
        assert "+100" in dav.get(path).text
        created_again = dav.put(path, content=vcard("uid-grace", "Hopper Grace"),
                                headers={"Content-Type": "text/vcard", "If-None-Match": "*"})
        assert created_again.status_code == 412
        assert dav.delete(path, headers={"If-Match": second.headers["etag"]}).status_code in (200, 204)
        assert dav.get(path).status_code == 404


def test_sync_collection_reports_only_what_changed_and_deletions(server, user):
    path = book_path(user.email)
    with dav_client(server, user.email, user.key) as dav:
        for number in range(3):
            dav.put(f"{path}c{number}.vcf", content=vcard(f"uid-{number}", f"Person {number}"),
                    headers={"Content-Type": "text/vcard"})
        token, everything = sync_collection(dav, path)
        assert sorted(everything) == [f"{path}c{number}.vcf" for number in range(3)]
        unchanged_token, nothing = sync_collection(dav, path, token)
        assert nothing == {} and unchanged_token == token
        dav.put(f"{path}c1.vcf", content=vcard("uid-1", "Person One"), headers={"Content-Type": "text/vcard"})
        dav.delete(f"{path}c2.vcf")
        _, changes = sync_collection(dav, path, token)
        assert sorted(changes) == [f"{path}c1.vcf", f"{path}c2.vcf"]
        assert "404" in status_of(changes[f"{path}c2.vcf"])
        assert changes[f"{path}c1.vcf"].find(f".//{{{DAV}}}getetag") is not None
        refused = dav.request("REPORT", path, headers=XML, content=(
            '<?xml version="1.0"?><d:sync-collection xmlns:d="DAV:"><d:sync-token>http://phonecloud.org/ns/sync/'
            '999-1</d:sync-token><d:sync-level>1</d:sync-level><d:prop><d:getetag/></d:prop></d:sync-collection>'))
        assert refused.status_code == 403 and "valid-sync-token" in refused.text


def test_addressbook_multiget_returns_the_cards_asked_for(server, user):
    path = book_path(user.email)
    with dav_client(server, user.email, user.key) as dav:
        for number in range(2):
            dav.put(f"{path}m{number}.vcf", content=vcard(f"uid-m{number}", f"Multi {number}"),
                    headers={"Content-Type": "text/vcard"})
        body = (f'<?xml version="1.0"?><c:addressbook-multiget xmlns:d="DAV:" xmlns:c="{CARDDAV}"><d:prop>'
                f'<d:getetag/><c:address-data/></d:prop><d:href>{path}m0.vcf</d:href><d:href>{path}m1.vcf</d:href>'
                f'<d:href>{path}missing.vcf</d:href></c:addressbook-multiget>')
        found = responses(dav.request("REPORT", path, content=body, headers={**XML, "Depth": "1"}))
    assert "FN:Multi 1" in found[f"{path}m1.vcf"].findtext(f".//{{{CARDDAV}}}address-data")
    assert "404" in status_of(found[f"{path}missing.vcf"])


def test_a_second_address_book_is_made_with_extended_mkcol_and_calendars_are_refused(server, user):
    home = f"/dav/{user.email}/"
    body = (f'<?xml version="1.0"?><d:mkcol xmlns:d="DAV:" xmlns:c="{CARDDAV}"><d:set><d:prop><d:resourcetype>'
            '<d:collection/><c:addressbook/></d:resourcetype><d:displayname>Work</d:displayname></d:prop></d:set>'
            '</d:mkcol>')
    with dav_client(server, user.email, user.key) as dav:
        assert dav.request("MKCOL", home + "work/", content=body, headers=XML).status_code == 201
        calendar = dav.request("MKCALENDAR", home + "calendar/")
        assert calendar.status_code in (400, 403), calendar.text
        books = responses(propfind(dav, home, "<d:displayname/>", depth="1"))
    assert books[home + "work/"].findtext(f".//{{{DAV}}}displayname") == "Work"
    assert {book["name"] for book in user.http.get("/contacts/books").json()} == {"Contacts", "Work"}


def test_the_account_password_signs_in_too_and_a_wrong_one_is_refused(server, user):
    with dav_client(server, user.email, user.password) as dav:
        assert propfind(dav, book_path(user.email), "<d:getetag/>").status_code == 207
    with dav_client(server, user.email, "not the password") as dav:
        refused = propfind(dav, book_path(user.email), "<d:getetag/>")
    assert refused.status_code == 401 and refused.headers["www-authenticate"].startswith("Basic")
    with server.client(base="") as anonymous:
        assert anonymous.request("PROPFIND", book_path(user.email)).status_code == 401


def test_an_app_password_of_another_account_or_a_revoked_one_is_refused(server, user, other_user):
    with dav_client(server, user.email, other_user.key) as dav:
        assert propfind(dav, book_path(user.email), "<d:getetag/>").status_code == 401
    issued = user.http.post("/contacts/dav/app-password", params={"device": "Phone"}).json()
    assert issued["username"] == user.email and issued["password"].startswith("pck_")
    with dav_client(server, user.email, issued["password"]) as dav:
        assert propfind(dav, book_path(user.email), "<d:getetag/>").status_code == 207
    device = next(device for device in user.http.get("/devices").json() if device["name"] == "Phone")
    assert user.http.delete(f"/devices/{device['id']}").status_code == 204
    with dav_client(server, user.email, issued["password"]) as dav:
        assert propfind(dav, book_path(user.email), "<d:getetag/>").status_code == 401


def test_a_client_cannot_claim_another_user_through_the_proxy_header(server, user, other_user):
    with dav_client(server, user.email, user.key) as dav:
        for header in ("X-Remote-User", "X_Remote_User"):
            answer = dav.request("PROPFIND", book_path(other_user.email), headers={header: other_user.email,
                                                                                 "Depth": "1"})
            assert answer.status_code in (403, 404), answer.text


def test_one_user_cannot_reach_another_users_address_books(server, user, other_user):
    victim_path = book_path(other_user.email)
    with dav_client(server, other_user.email, other_user.key) as victim:
        victim.put(victim_path + "secret.vcf", content=vcard("uid-secret", "Secret Person"),
                   headers={"Content-Type": "text/vcard"})
    with dav_client(server, user.email, user.key) as dav:
        attempts = [
            dav.request("PROPFIND", victim_path, headers={"Depth": "1"}),
            dav.request("PROPFIND", f"/dav/{other_user.email}/", headers={"Depth": "1"}),
            dav.get(victim_path + "secret.vcf"),
            dav.put(victim_path + "secret.vcf", content=vcard("uid-secret", "Changed"),
                    headers={"Content-Type": "text/vcard"}),
            dav.put(victim_path + "new.vcf", content=vcard("uid-new", "Planted"), headers={"Content-Type": "text/vcard"}),
            dav.delete(victim_path + "secret.vcf"),
            dav.delete(victim_path),
            dav.request("MKCOL", f"/dav/{other_user.email}/planted/"),
            dav.request("REPORT", victim_path, headers=XML, content=(
                '<?xml version="1.0"?><d:sync-collection xmlns:d="DAV:"><d:sync-token/><d:sync-level>1'
                '</d:sync-level><d:prop><d:getetag/></d:prop></d:sync-collection>')),
        ]
        root = responses(propfind(dav, "/dav/", "<d:displayname/>", depth="1"))
    for answer in attempts:
        assert answer.status_code in (403, 404), (answer.request.method, answer.request.url, answer.text)
    assert not any(other_user.email in href for href in root)
    with dav_client(server, other_user.email, other_user.key) as victim:
        kept = victim.get(victim_path + "secret.vcf")
        assert kept.status_code == 200 and "Secret Person" in kept.text
        assert victim.get(victim_path + "new.vcf").status_code == 404
    assert [contact["name"] for contact in other_user.http.get("/contacts").json()["contacts"]] == ["Secret Person"]


def test_contacts_count_in_the_quota_and_a_full_quota_answers_507(server, accounts):
    small = accounts.create(quota_bytes=2000)
    photo = "PHOTO;ENCODING=b;TYPE=JPEG:" + "A" * 3000 + "\r\n"
    with dav_client(server, small.email, small.key) as dav:
        assert dav.put(book_path(small.email) + "a.vcf", content=vcard("uid-a", "Small A"),
                       headers={"Content-Type": "text/vcard"}).status_code == 201
        full = dav.put(book_path(small.email) + "b.vcf", content=vcard("uid-b", "Big B", extra=photo),
                       headers={"Content-Type": "text/vcard"})
    assert full.status_code == 507
    usage = small.http.get("/me").json()["usage"]["contacts"]
    assert usage["items"] == 1 and 100 < usage["bytes"] < 2000
