"""SMS Import / Export version 2: archives and call logs read field by field, written back, read again."""

from __future__ import annotations

import io
import json
import zipfile

import pytest

from messages.backup_files import (ANNA_IE, BEN, CALLS, LARGE_PHOTO, OWN_NUMBER, SMALL_PHOTO, SMIL, ie_calls_json,
                                   ie_messages_zip, sbr_messages_xml, sha256)
from phonecloud.messages.formats import FormatError, sms_backup_restore, sms_ie
from phonecloud.messages.formats.blobs import Blob
from phonecloud.messages.formats.records import (ADDRESS_FROM, ADDRESS_TO, INBOX, MMS, SENT, SMS, Address, Call,
                                                 Message, Part)

PHONE_PARTS = "/data/user_de/0/com.android.providers.telephony/app_parts/"


def read(data: bytes) -> list[Message]:
    return list(sms_ie.read_messages(io.BytesIO(data)))


def written(messages: list[Message]) -> bytes:
    out = io.BytesIO()
    assert sms_ie.write_messages(messages, out) == len(messages)
    return out.getvalue()


def test_an_sms_is_read_field_by_field():
    first = read(ie_messages_zip())[0]
    assert first == Message(
        kind=SMS, box=INBOX, date_ms=1700000000123, date_sent_ms=1700000000000,
        addresses=(Address(address=ANNA_IE, type=ADDRESS_FROM),),
        body="Hallo! 😀 Bist du da?\nZweite Zeile & <Klammern> \"zitiert\"", read=True, locked=False, status=-1,
        sub_id=1, service_center="+491760000443", contact_name="Anna Schmidt",
        extras={"_id": "1", "thread_id": "4", "protocol": "0", "reply_path_present": "0", "error_code": "0",
                "creator": "com.google.android.apps.messaging", "seen": "1"})


def test_a_group_mms_with_its_attachment_from_data():
    mms = read(ie_messages_zip())[5]
    # An MMS's dates are in seconds in the file, in milliseconds in the record.
    assert (mms.kind, mms.box, mms.date_ms, mms.date_sent_ms) == (MMS, INBOX, 1700000300000, 1700000299000)
    assert (mms.mms_type, mms.mms_message_id, mms.mms_transaction_id, mms.read, mms.locked, mms.sub_id) == (
        132, "mid-0001@mms.example", "T18a2b3c", True, False, 1)
    assert mms.addresses == (
        Address(address=BEN, type=ADDRESS_FROM, charset="106", contact_name="Ben Meyer",
                extras={"_id": "20", "msg_id": "45"}),
        Address(address=OWN_NUMBER, type=ADDRESS_TO, charset="106", extras={"_id": "21", "msg_id": "45"}),
        Address(address=ANNA_IE, type=ADDRESS_TO, charset="106", contact_name="Anna Schmidt",
                extras={"_id": "22", "msg_id": "45"}))
    smil, photo, text = mms.parts
    assert smil == Part(seq=-1, content_type="application/smil", content_id="<smil>", content_location="smil.xml",
                        text=SMIL, extras={"_id": "100", "mid": "45"})
    assert photo.extras == {"_id": "101", "mid": "45",
                            "_data": PHONE_PARTS + "PART_1700000300512_image000000.jpg"}
    assert photo.data.open().read() == SMALL_PHOTO
    assert (text.text, text.charset) == ("Schau mal, unser Ausflug 🏔️", "106")
    assert mms.extras["preview_data__base64__"] == "AAECAw==" and mms.extras["thread_id"] == "7"


def test_a_large_attachment_is_copied_to_disk_not_memory():
    photo = read(ie_messages_zip())[6].parts[1]
    assert photo.data.sha256 == sha256(LARGE_PHOTO) and photo.data._path is not None


def test_attachments_left_out_of_the_export_are_absent():
    photo = read(ie_messages_zip(leave_out_data=True))[5].parts[1]
    assert photo.data is None and photo.extras["_data"].endswith("image000000.jpg")


def test_calls_of_every_type():
    calls = list(sms_ie.read_calls(io.BytesIO(ie_calls_json())))
    assert [call.type for call in calls] == [spec.type for spec in CALLS]
    first = calls[0]
    assert (first.number, first.date_ms, first.duration_s, first.type, first.presentation) == (
        ANNA_IE, 1700100000000, 185, 1, 1)
    assert (first.subscription_id, first.contact_name, first.extras["name"]) == (
        "89490200001234567890", "Anna Schmidt", "Anna Schmidt")
    assert calls[7].presentation == 2 and calls[9].subscription_id is None and calls[9].contact_name is None


def test_messages_round_trip():
    messages = read(ie_messages_zip())
    assert read(written(messages)) == messages


def test_calls_round_trip_as_the_app_writes_them():
    calls = list(sms_ie.read_calls(io.BytesIO(ie_calls_json())))
    out = io.BytesIO()
    assert sms_ie.write_calls(calls, out) == len(calls)
    assert out.getvalue().startswith(b'[\n  {\n    "number": "+49 151 23456789",\n')
    assert json.loads(out.getvalue())[0]["display_name"] == "Anna Schmidt"
    assert list(sms_ie.read_calls(io.BytesIO(out.getvalue()))) == calls
    empty = io.BytesIO()
    sms_ie.write_calls([], empty)
    assert empty.getvalue() == b"[]" and list(sms_ie.read_calls(io.BytesIO(b"[]"))) == []


def test_the_archive_is_laid_out_as_the_app_lays_it_out():
    archive = zipfile.ZipFile(io.BytesIO(written(read(ie_messages_zip()))))
    names = archive.namelist()
    assert names == ["messages.ndjson", "data/PART_1700000300512_image000000.jpg",
                     "data/PART_1700000400100_IMG_20231114.jpg"]
    lines = [json.loads(line) for line in archive.read("messages.ndjson").splitlines()]
    assert [("m_type" in line) for line in lines] == [False] * 5 + [True] * 2
    assert lines[0]["date"] == "1700000000123" and list(lines[0])[-1] == "__display_name"
    mms = lines[5]
    assert mms["date"] == "1700000300" and mms["__sender_address"]["address"] == BEN
    assert [address["type"] for address in mms["__recipient_addresses"]] == ["151", "151"]
    assert list(mms)[-3:] == ["__sender_address", "__recipient_addresses", "__parts"]
    assert all(isinstance(value, str) for value in lines[0].values())


def test_messages_from_sms_backup_restore_get_attachment_names_of_their_own():
    from_xml = list(sms_backup_restore.read_messages(io.BytesIO(sbr_messages_xml())))
    twin = Message(kind=MMS, box=SENT, date_ms=1, addresses=(Address(address="1", type=ADDRESS_TO),),
                   parts=(Part(seq=0, content_type="image/jpeg", content_location="image000000.jpg",
                               data=Blob.from_bytes(b"other")),))
    data = written(from_xml + [twin])
    names = zipfile.ZipFile(io.BytesIO(data)).namelist()
    assert names == ["messages.ndjson", "data/PART_0_image000000.jpg", "data/PART_1_IMG_20231114.jpg",
                     "data/PART_2_image000000.jpg"]
    back = read(data)
    assert back[5].parts[1].data.open().read() == SMALL_PHOTO and back[7].parts[0].data.open().read() == b"other"
    assert back[5].parts[1].extras == {"sef_type": "0", "_data": "PART_0_image000000.jpg"}
    # What SMS Import / Export has no place for stays in extras and comes back.
    assert back[5].extras["address"] == from_xml[5].extras["address"]
    assert [message.text for message in back[:7]] == [message.text for message in from_xml]


def test_a_file_that_is_not_an_archive_or_is_encrypted_is_refused():
    with pytest.raises(FormatError, match="not a zip archive"):
        read(b"plain text")
    with pytest.raises(FormatError, match="encrypted"):
        read(b"SSEF\x00\xff\x00\x01" + bytes(100))
    with pytest.raises(FormatError, match="encrypted"):
        list(sms_ie.read_calls(io.BytesIO(b"SSEF\x00\xff\x00\x01" + bytes(100))))
    empty = io.BytesIO()
    zipfile.ZipFile(empty, "w").writestr("calls.json", "[]")
    with pytest.raises(FormatError, match="no messages.ndjson"):
        read(empty.getvalue())


def test_reads_from_a_path(tmp_path):
    path = tmp_path / "messages-2023-11-14.zip"
    path.write_bytes(ie_messages_zip())
    assert list(sms_ie.read_messages(path)) == read(ie_messages_zip())
    calls = tmp_path / "calls-2023-11-14.json"
    calls.write_bytes(ie_calls_json())
    assert len(list(sms_ie.read_calls(calls))) == len(CALLS)


def test_a_call_with_a_number_and_nothing_else_optional():
    data = b'[{"number":"112","date":"1","duration":"0","type":"2"}]'
    assert list(sms_ie.read_calls(io.BytesIO(data))) == [
        Call(number="112", date_ms=1, duration_s=0, type=2)]
