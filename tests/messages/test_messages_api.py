"""Messages through the API, in process: backups of both apps imported over the general intake (plain and
resumable), browsed, searched, exported in both formats and imported again without a change; identity
across formats; damaged and hostile files; quota; what another user sees."""

from __future__ import annotations

import dataclasses
import io
import json
import zipfile

import pytest

from messages.backup_files import (ANNA_IE, ANNA_SBR, BEN, CALLS, LARGE_PHOTO, MESSAGES, OLD_SBR, OWN_NUMBER,
                                   SMALL_PHOTO, MessageSpec, ie_calls_json, ie_messages_zip, sbr_calls_xml,
                                   sbr_messages_xml)
from messages.server_helpers import (every, exported, finished, imported, upload_backup, upload_backup_resumably,
                                     zip_names)
from messages.test_hostile import BILLION_LAUGHS
from phonecloud.messages.formats import sms_backup_restore, sms_ie
from phonecloud.messages.formats.identity import message_identity

pytestmark = pytest.mark.in_process  # domain rules: the app in this process (tests/inprocess.py)

SBR = sbr_messages_xml()


def usage(user) -> dict:
    me = user.http.get("/me").json()
    return {"used_bytes": me["used_bytes"], **me["usage"]["messages"]}


def sbr_records(data: bytes):
    return list(sms_backup_restore.read_messages(io.BytesIO(data)))


def without_file_names(message):
    parts = tuple(dataclasses.replace(part, extras={k: v for k, v in part.extras.items() if k != "_data"})
                  for part in message.parts)
    return dataclasses.replace(message, parts=parts)


def test_a_backup_imports_and_every_message_can_be_browsed(user):
    result = imported(user, SBR)
    assert (result["state"], result["format"], result["imported"], result["duplicates"], result["skipped"],
            result["attachments"], result["error"]) == ("done", "sms-backup-restore/messages", 7, 0, 0, 2, None)
    assert result["records_read"] == 7 and result["bytes_read"] == result["size"] == len(SBR)
    assert not result["file_kept"]  # every record is stored: the uploaded file went, and left the quota
    assert usage(user) == {"used_bytes": len(SMALL_PHOTO) + len(LARGE_PHOTO), "items": 7,
                           "bytes": len(SMALL_PHOTO) + len(LARGE_PHOTO)}

    conversations = every(user, "/messages/conversations", limit=2)  # page after page, newest first
    assert [c["title"] for c in conversations] == ["Anna Schmidt", "Anna Schmidt, Ben Meyer", "72975",
                                                   "+4915798765432", "DHL"]
    anna = conversations[0]
    assert (anna["message_count"], anna["last_message_ms"], anna["snippet"]) == (3, 1700000400000, "Grüße vom Strand")
    assert anna["participants"] == [{"address": ANNA_SBR, "name": "Anna Schmidt"}]
    assert user.http.get(f"/messages/conversations/{anna['id']}").json() == anna

    thread = every(user, f"/messages/conversations/{anna['id']}/messages", limit=1)
    assert [m["date_ms"] for m in thread] == [1700000400000, 1700000060456, 1700000000123]
    first = thread[-1]
    assert (first["kind"], first["direction"], first["body"], first["date"], first["contact_name"]) == (
        "sms", "in", MESSAGES[0].body, "2023-11-14T22:13:20.123000+00:00", "Anna Schmidt")
    assert first["extras"] == {"protocol": "0", "readable_date": "Nov 14, 2023 11:13:20 PM"}
    mms = thread[0]
    assert (mms["kind"], mms["direction"], mms["subject"], mms["text"]) == ("mms", "out", "Urlaub", "Grüße vom Strand")
    photo = next(part for part in mms["parts"] if part["data_url"])
    assert (photo["content_type"], photo["size"], photo["name"]) == ("image/jpeg", len(LARGE_PHOTO), "IMG_20231114.jpg")

    data_path = photo["data_url"].removeprefix("/api/v1")
    whole = user.http.get(data_path)
    assert whole.status_code == 200 and whole.content == LARGE_PHOTO
    assert whole.headers["content-type"] == "image/jpeg"
    assert "IMG_20231114.jpg" in whole.headers["content-disposition"]
    ranged = user.http.get(data_path, headers={"Range": "bytes=100-199"})
    assert ranged.status_code == 206 and ranged.content == LARGE_PHOTO[100:200]
    assert ranged.headers["content-range"] == f"bytes 100-199/{len(LARGE_PHOTO)}"
    outside = user.http.get(data_path, headers={"Range": f"bytes={len(LARGE_PHOTO)}-"})
    assert outside.status_code == 416 and outside.json()["error"] == "range_not_satisfiable"
    smil = mms["parts"][0]
    assert smil["data_url"] is None and smil["text"].startswith("<smil>")
    assert user.http.get(f"/messages/parts/{smil['id']}/data").status_code == 404  # its text is in the message


def test_the_group_mms_names_its_people_without_the_phones_own_number(user):
    imported(user, SBR)
    group = next(c for c in every(user, "/messages/conversations") if c["message_count"] == 1 and "," in c["title"])
    assert OWN_NUMBER not in json.dumps(group)
    assert {p["address"] for p in group["participants"]} == {BEN, ANNA_SBR}
    # Learned from that MMS, the phone's number is left out of a later group as well.
    later = MessageSpec("mms", 1, 1700009000000, addresses=[(ANNA_SBR, 137), (OWN_NUMBER, 151), (BEN, 151)],
                        parts=[MESSAGES[5].parts[2]], contact_name="Anna Schmidt, Ben Meyer")
    imported(user, ie_messages_zip([later]), "messages.zip")
    assert group["id"] == every(user, "/messages/conversations")[0]["id"]


def test_calls_are_listed_newest_first(user):
    result = imported(user, sbr_calls_xml(), "calls-20231116.xml")
    assert (result["format"], result["imported"]) == ("sms-backup-restore/calls", len(CALLS))
    calls = every(user, "/messages/calls", limit=4)
    assert [call["date_ms"] for call in calls] == sorted((spec.date_ms for spec in CALLS), reverse=True)
    anna = calls[-1]
    assert (anna["number"], anna["duration_s"], anna["type_name"], anna["contact_name"], anna["date"]) == (
        ANNA_SBR, 185, "incoming", "Anna Schmidt", "2023-11-16T02:00:00+00:00")
    assert {call["type_name"] for call in calls} == {"incoming", "outgoing", "missed", "voicemail", "rejected",
                                                     "blocked", "answered elsewhere"}
    assert usage(user)["items"] == len(CALLS)


def test_search_finds_words_and_their_starts_through_the_index(user):
    imported(user, SBR)

    def found(query: str) -> list[int]:
        answer = user.http.get("/messages/search", params={"q": query})
        assert answer.status_code == 200, answer.text
        return [message["date_ms"] for message in answer.json()["items"]]

    assert found("Paket") == [1700000120789]
    assert found("paket heute") == [1700000120789]  # every word, any case
    assert found("pak") == [1700000120789]  # the start of a word
    assert found("paket morgen") == []
    assert found("Ausflug") == [1700000300000]  # an MMS's text part
    assert found("Urlaub") == [1700000400000]  # an MMS's subject
    assert found("Grüße") == [1700000400000]
    assert found('"klammern" -zitiert* OR') == []  # the engines' query syntax is only words here: "or" is one
    assert found('"klammern" -zitiert*') == [1700000000123]
    hit = user.http.get("/messages/search", params={"q": "paket"}).json()["items"][0]
    assert hit["conversation_title"] == "DHL"
    pages = every(user, "/messages/search", q="u", limit=1)  # und, unser, Urlaub: page after page
    assert [message["date_ms"] for message in pages] == [1700000400000, 1700000300000, 1700000120789]
    for odd in ("_", "__init__", "a_b", "²", "ǅemal", "١٢٣", "straße", "ⅷ", "x" * 500, "a " * 250):
        answer = user.http.get("/messages/search", params={"q": odd})  # whatever the engine's parser makes of it
        assert answer.status_code == 200, (odd, answer.text)
    refused = user.http.get("/messages/search", params={"q": "!!! ..."})
    assert refused.status_code == 400 and "no word" in refused.json()["message"]
    assert user.http.get("/messages/search", params={"q": ""}).status_code == 422
    assert user.http.get("/messages/search", params={"q": "x" * 501}).status_code == 422


def test_importing_again_adds_nothing_whichever_app_wrote_the_file(user):
    imported(user, SBR)
    imported(user, sbr_calls_xml(), "calls.xml")
    before = (every(user, "/messages/conversations"), usage(user))
    again = imported(user, SBR)
    assert (again["imported"], again["duplicates"], again["attachments"]) == (0, 7, 0)
    # The same phone's backup by the other app: numbers written differently, MMS dates in seconds, the
    # attachments from data/ files; and its call log.
    other_app = imported(user, ie_messages_zip(), "messages-2023-11-16.zip")
    assert (other_app["format"], other_app["imported"], other_app["duplicates"]) == ("sms-ie/messages", 0, 7)
    calls = imported(user, ie_calls_json(), "calls-2023-11-16.json")
    assert (calls["format"], calls["imported"], calls["duplicates"]) == ("sms-ie/calls", 0, len(CALLS))
    assert (every(user, "/messages/conversations"), usage(user)) == before


def test_an_overlapping_backup_adds_only_what_is_new(user):
    imported(user, sbr_messages_xml(MESSAGES[:4]))
    result = imported(user, ie_messages_zip(MESSAGES[2:]), "messages.zip")  # a newer backup, another app
    assert (result["imported"], result["duplicates"], result["attachments"]) == (3, 2, 2)
    assert usage(user)["items"] == 7


def test_both_exports_give_back_every_field_and_import_again_as_nothing_new(user):
    imported(user, SBR)
    imported(user, sbr_calls_xml(), "calls.xml")
    messages_xml, calls_xml = exported(user, "sms-backup-restore")
    assert sbr_records(messages_xml) == sbr_records(SBR)  # every field, extras in their order, attachments
    assert [m.extras for m in sbr_records(messages_xml)] == [m.extras for m in sbr_records(SBR)]
    assert list(sms_backup_restore.read_calls(io.BytesIO(calls_xml))) == list(
        sms_backup_restore.read_calls(io.BytesIO(sbr_calls_xml())))
    assert exported(user, "sms-backup-restore") == (messages_xml, calls_xml)  # the same data, the same bytes

    archive, calls_json = exported(user, "sms-ie")
    assert zip_names(archive)[0] == "messages.ndjson" and len(zip_names(archive)) == 3  # and the two photos
    # SMS Backup & Restore's records written by the other app's format: the same records again, but for the
    # name of each attachment's file in the archive (`_data`), which that format needs.
    assert [without_file_names(m) for m in sms_ie.read_messages(io.BytesIO(archive))] == sbr_records(SBR)
    assert len(list(sms_ie.read_calls(io.BytesIO(calls_json)))) == len(CALLS)
    assert exported(user, "sms-ie") == (archive, calls_json)
    head = user.http.head("/messages/export/sms-ie/messages.zip")  # answered without writing the file
    assert head.status_code == 200 and head.content == b""
    assert head.headers["content-disposition"].startswith('attachment; filename="messages-')

    for data, name in ((messages_xml, "sms.xml"), (calls_xml, "calls.xml"), (archive, "messages.zip"),
                       (calls_json, "calls.json")):
        again = imported(user, data, name)
        assert (again["state"], again["imported"]) == ("done", 0), again


def test_an_sms_import_export_archive_round_trips_field_by_field(user):
    archive = ie_messages_zip()
    result = imported(user, archive, "messages-2023-11-16.zip")
    assert (result["imported"], result["attachments"]) == (7, 2)
    written, _ = exported(user, "sms-ie")
    assert list(sms_ie.read_messages(io.BytesIO(written))) == list(sms_ie.read_messages(io.BytesIO(archive)))
    # SMS IE calls export uses its own names: display_name and the app's columns, as strings.
    imported(user, ie_calls_json(), "calls.json")
    _, calls_json = exported(user, "sms-ie")
    assert list(sms_ie.read_calls(io.BytesIO(calls_json))) == list(sms_ie.read_calls(io.BytesIO(ie_calls_json())))


def test_an_old_backup_without_addrs_imports(user):
    result = imported(user, OLD_SBR, "sms-2016.xml")
    assert (result["imported"], result["attachments"]) == (4, 1)
    titles = {c["title"] for c in every(user, "/messages/conversations")}
    assert "+380501112233, +380509998877" in titles  # the group: both others, no phone number learned wrongly
    written, _ = exported(user, "sms-backup-restore")
    assert sbr_records(written) == sbr_records(OLD_SBR)


def test_a_resumable_upload_becomes_an_import(user):
    import_id = upload_backup_resumably(user, SBR, "sms-20231114.xml", piece=700_000)
    result = finished(user, import_id)
    assert (result["filename"], result["imported"], result["attachments"]) == ("sms-20231114.xml", 7, 2)
    assert usage(user)["bytes"] == len(SMALL_PHOTO) + len(LARGE_PHOTO)  # the reservation became the file, then left


def test_a_cut_file_keeps_every_whole_message_and_says_where_it_stopped(user):
    cut = SBR[:SBR.index(b"IMG_20231114.jpg") + 5000]  # in the middle of the last MMS's photo
    result = imported(user, cut, "sms-cut.xml")
    assert (result["state"], result["imported"], result["error_record"]) == ("failed", 6, 7)
    assert "cut short" in result["error"] and result["error_line"] > 1
    assert result["file_kept"]  # what the server acknowledged is not lost: the file stays, charged
    assert usage(user)["used_bytes"] == len(cut) + len(SMALL_PHOTO)
    assert len(every(user, "/messages/conversations")) == 5
    whole = imported(user, SBR)  # the whole backup adds the one that was cut
    assert (whole["imported"], whole["duplicates"]) == (1, 6)
    conflict = user.http.get("/messages/imports").json()["items"]
    assert [item["state"] for item in conflict] == ["done", "failed"]
    assert user.http.delete(f"/messages/imports/{result['id']}").status_code == 204
    assert usage(user)["used_bytes"] == len(SMALL_PHOTO) + len(LARGE_PHOTO)  # the kept file left the quota
    assert user.http.get(f"/messages/imports/{result['id']}").status_code == 404
    assert usage(user)["items"] == 7  # what it imported stays


@pytest.mark.parametrize(("damage", "problem"), [
    (lambda data: data.replace(b'date="1700000060456"', b'date="yesterday"'), "not a whole number"),
    (lambda data: data.replace(b"Entwurf, noch", b"Entwurf \xff\xfe"), "invalid UTF-8"),
    (lambda data: data.replace(b'<sms protocol="0" address="DHL"', b'<sms protocol="0" address="DHL"><a><b><c><d>'
                               b'<e><f><g><h>'), "nested more than"),
], ids=["attribute not a number", "invalid UTF-8", "absurd nesting"])
def test_a_damaged_file_keeps_the_messages_before_the_damage(user, damage, problem):
    result = imported(user, damage(SBR))
    assert result["state"] == "failed" and problem in result["error"], result
    assert result["imported"] == result["error_record"] - 1 >= 1


@pytest.mark.parametrize(("data", "problem"), [
    (BILLION_LAUGHS, "document type declaration"),
    (b'<?xml version="1.0"?>\n<!DOCTYPE smses [<!ENTITY x SYSTEM "file:///etc/passwd">]><smses/>',
     "document type declaration"),
    (b"SSEF\x00\xff" + bytes(5000), "decrypt it first"),
    (b"<?xml version='1.0'?><html><body>not a backup</body></html>", "not <smses> or <calls>"),
    (b"\x89PNG\r\n\x1a\n" + bytes(5000), "not a messages backup"),
], ids=["billion laughs", "external entity", "encrypted", "other XML", "a photo"])
def test_hostile_or_foreign_files_are_refused_before_anything_is_stored(user, data, problem):
    before = usage(user)
    answer = upload_backup(user, data)
    assert answer.status_code == 415, answer.text
    assert answer.json()["error"] == "unsupported_media" and problem in answer.json()["message"]
    assert user.http.get("/messages/imports").json()["items"] == []
    assert usage(user) == before


def test_a_hostile_resumable_upload_is_refused_at_its_first_bytes(user):
    with pytest.raises(AssertionError, match="unsupported_media"):
        upload_backup_resumably(user, BILLION_LAUGHS + b" " * 5000)
    assert user.http.get("/messages/imports").json()["items"] == []
    assert usage(user)["used_bytes"] == 0  # the reservation went with the upload


def test_attachments_count_in_the_quota_and_stop_the_import_when_it_is_full(accounts):
    room = len(SBR) + len(SMALL_PHOTO) + 1000  # the file, and the small photo, but not the large one
    user = accounts.create(quota_bytes=room)
    result = imported(user, SBR)
    assert (result["state"], result["imported"], result["error_record"]) == ("failed", 6, 7)
    assert "quota exceeded" in result["error"] and f"of {room} bytes used" in result["error"]
    assert usage(user)["used_bytes"] == len(SBR) + len(SMALL_PHOTO)
    accounts.services.accounts.set_quota(user.email, room + len(LARGE_PHOTO))  # room made: tried again, it ends
    again = user.http.post(f"/messages/imports/{result['id']}/retry")
    assert again.status_code == 200 and again.json()["state"] == "queued" and again.json()["error"] is None
    done = finished(user, result["id"])
    assert (done["state"], done["imported"], done["duplicates"], done["error"]) == ("done", len(MESSAGES), 0, None)
    assert usage(user)["used_bytes"] == len(SMALL_PHOTO) + len(LARGE_PHOTO)  # the file went, once read
    done_again = user.http.post(f"/messages/imports/{result['id']}/retry")
    assert done_again.status_code == 409 and done_again.json()["state"] == "done"
    too_big = accounts.create(quota_bytes=len(SBR) - 1)
    refused = upload_backup(too_big, SBR)
    assert refused.status_code == 413 and refused.json()["error"] == "quota_exceeded"
    assert too_big.http.get("/messages/imports").json()["items"] == []


def test_text_no_database_can_hold_is_kept_or_replaced_as_documented(user):
    line = {"address": "+4915112345678", "date": "1700000000000", "type": "1",
            "body": "NUL \u0000 in the middle, a lone \ud83d half, a backslash \\0 and \ufdd0"}
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as out:
        out.writestr("messages.ndjson", json.dumps(line) + "\n")
    result = imported(user, archive.getvalue(), "messages.zip")
    assert result["imported"] == 1, result
    stored = user.http.get("/messages/search", params={"q": "backslash"}).json()["items"][0]
    assert stored["body"] == "NUL \u0000 in the middle, a lone \ufffd half, a backslash \\0 and \ufdd0"
    written, _ = exported(user, "sms-ie")
    assert list(sms_ie.read_messages(io.BytesIO(written)))[0].body == stored["body"]
    assert imported(user, written, "again.zip")["duplicates"] == 1


def test_numbers_no_column_can_hold_are_skipped_and_said_why(user):
    data = sbr_messages_xml(MESSAGES[:2]).replace(b'sub_id="1"', b'sub_id="99999999999999999999"', 1)
    result = imported(user, data)
    assert (result["state"], result["imported"], result["skipped"]) == ("done", 1, 1)
    assert result["skipped_reasons"] == {"a number too large to keep (sub_id)": 1}


def test_identity_ignores_how_a_number_is_written():
    sbr_first = sbr_records(SBR)[0]
    ie_first = list(sms_ie.read_messages(io.BytesIO(ie_messages_zip())))[0]
    assert sbr_first.addresses[0].address == ANNA_SBR and ie_first.addresses[0].address == ANNA_IE
    assert message_identity(sbr_first) == message_identity(ie_first)


def test_another_users_messages_are_not_found(user, other_user):
    result = imported(user, SBR)
    conversation = every(user, "/messages/conversations")[0]
    part = next(p for m in every(user, f"/messages/conversations/{conversation['id']}/messages")
                for p in m["parts"] if p["data_url"])
    for path in (f"/messages/conversations/{conversation['id']}", f"/messages/conversations/{conversation['id']}/messages",
                 f"/messages/imports/{result['id']}", f"/messages/parts/{part['id']}/data"):
        answer = other_user.http.get(path)
        assert answer.status_code == 404 and answer.json()["error"] == "not_found", path
    assert other_user.http.delete(f"/messages/imports/{result['id']}").status_code == 404
    assert other_user.http.post(f"/messages/imports/{result['id']}/retry").status_code == 404
    for path in ("/messages/conversations", "/messages/calls", "/messages/imports"):
        assert other_user.http.get(path).json()["items"] == []
    assert other_user.http.get("/messages/search", params={"q": "paket"}).json()["items"] == []
    empty, _ = exported(other_user, "sms-backup-restore")
    assert sbr_records(empty) == []


@pytest.mark.parametrize(("path", "params"), [("/messages/conversations", {}), ("/messages/calls", {}),
                                              ("/messages/imports", {}), ("/messages/search", {"q": "a"})])
def test_a_cursor_that_was_not_given_is_a_clear_400(user, path, params):
    for cursor in ("nonsense", "W10", "WyJ4IiwgInkiXQ", "!" * 50):
        answer = user.http.get(path, params={**params, "cursor": cursor})
        assert answer.status_code == 400 and "invalid cursor" in answer.json()["message"], (cursor, answer.text)
    assert user.http.get(path, params={**params, "limit": 0}).status_code == 422


def test_a_later_backup_names_people_an_earlier_one_could_not_and_never_unnames_them(user):
    def sms(date_ms: int, contact_name: str) -> MessageSpec:
        return MessageSpec("sms", 1, date_ms, f"at {date_ms}", BEN, BEN, contact_name=contact_name)

    def ben_title() -> str:
        [conversation] = every(user, "/messages/conversations")
        return conversation["title"]

    imported(user, sbr_messages_xml([sms(1700000000000, "(Unknown)")]))
    assert ben_title() == BEN  # the phone had no contact for him yet
    imported(user, sbr_messages_xml([sms(1700000100000, "Ben Meyer")]), "later.xml")
    assert ben_title() == "Ben Meyer"
    imported(user, sbr_messages_xml([sms(1700000200000, "(Unknown)"), sms(1700000300000, "B.")]), "old.xml")
    assert ben_title() == "Ben Meyer"  # a name once known is kept
