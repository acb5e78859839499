"""SMS Backup & Restore XML: files of several app versions read field by field, written back, read again."""

from __future__ import annotations

import io
import xml.etree.ElementTree as ElementTree

import pytest

from messages.backup_files import (ANNA_SBR, BEN, CALLS, LARGE_PHOTO, MESSAGES, OLD_SBR, OWN_NUMBER, SMALL_PHOTO, SMIL,
                                   Trickle, sbr_calls_xml, sbr_messages_xml, sha256)
from phonecloud.messages.formats import sms_backup_restore as sbr
from phonecloud.messages.formats.blobs import Blob
from phonecloud.messages.formats.records import (ADDRESS_FROM, ADDRESS_TO, DRAFT, INBOX, MMS, SENT, SMS, Address,
                                                 Call, Message, Part)


def read(data: bytes) -> list[Message]:
    return list(sbr.read_messages(io.BytesIO(data)))


def written(messages: list[Message]) -> bytes:
    out = io.BytesIO()
    assert sbr.write_messages(messages, out) == len(messages)
    return out.getvalue()


def test_a_received_sms_is_read_field_by_field():
    first = read(sbr_messages_xml())[0]
    assert first == Message(
        kind=SMS, box=INBOX, date_ms=1700000000123, date_sent_ms=1700000000000,
        addresses=(Address(address=ANNA_SBR, type=ADDRESS_FROM),),
        body="Hallo! 😀 Bist du da?\nZweite Zeile & <Klammern> \"zitiert\"", subject=None, read=True,
        locked=False, status=-1, sub_id=1, service_center="+491760000443", contact_name="Anna Schmidt",
        extras={"protocol": "0", "readable_date": "Nov 14, 2023 11:13:20 PM"})
    assert first.incoming and first.text == first.body


def test_sent_draft_and_short_code_sms():
    messages = read(sbr_messages_xml())
    sent, from_name, draft, code = messages[1:5]
    assert (sent.box, sent.addresses, sent.body, sent.service_center) == (
        SENT, (Address(address=ANNA_SBR, type=ADDRESS_TO),), "Ja 👍🏽", None)
    assert not sent.incoming
    assert (from_name.addresses[0].address, from_name.sub_id, from_name.date_sent_ms) == ("DHL", 2, 1700000119000)
    assert (draft.box, draft.addresses[0].type) == (DRAFT, ADDRESS_TO)
    assert (code.locked, code.body) == (True, "Your code is 123456")


def test_a_group_mms_with_smil_photo_and_text():
    mms = read(sbr_messages_xml())[5]
    assert (mms.kind, mms.box, mms.date_ms, mms.date_sent_ms) == (MMS, INBOX, 1700000300000, 1700000299000)
    assert (mms.mms_type, mms.mms_message_id, mms.mms_transaction_id, mms.content_type) == (
        132, "mid-0001@mms.example", "T18a2b3c", "application/vnd.wap.multipart.related")
    assert (mms.read, mms.locked, mms.sub_id, mms.subject, mms.body) == (True, False, 1, None, None)
    assert mms.contact_name == "Ben Meyer, Anna Schmidt"
    assert mms.addresses == (Address(address=BEN, type=ADDRESS_FROM, charset="106"),
                             Address(address=OWN_NUMBER, type=ADDRESS_TO, charset="106"),
                             Address(address=ANNA_SBR, type=ADDRESS_TO, charset="106"))
    smil, photo, text = mms.parts
    assert smil == Part(seq=-1, content_type="application/smil", content_id="<smil>", content_location="smil.xml",
                        text=SMIL, extras={"sef_type": "0"})
    assert (photo.seq, photo.content_type, photo.name, photo.content_location, photo.content_id, photo.text) == (
        0, "image/jpeg", "image000000.jpg", "image000000.jpg", "<image000000>", None)
    assert photo.data.open().read() == SMALL_PHOTO and photo.data.sha256 == sha256(SMALL_PHOTO)
    assert (text.text, text.charset, text.data) == ("Schau mal, unser Ausflug 🏔️", "106", None)
    assert mms.text == "Schau mal, unser Ausflug 🏔️"
    # Every attribute the records do not name is kept, in file order.
    assert list(mms.extras) == ["rr", "seen", "address", "text_only", "creator", "m_size", "pri", "m_cls", "d_rpt",
                                "v", "_id", "readable_date"]
    assert mms.extras["address"] == f"{BEN}~{ANNA_SBR}"


def test_null_attributes_are_absent_not_text():
    mms = read(sbr_messages_xml())[5]
    assert "read_status" not in mms.extras and "exp" not in mms.extras  # both "null" in the file
    assert mms.parts[0].name is None and mms.parts[0].content_disposition is None


def test_a_sent_mms_with_a_large_photo_is_kept_on_disk():
    mms = read(sbr_messages_xml())[6]
    assert (mms.box, mms.mms_type, mms.subject) == (SENT, 128, "Urlaub")
    assert mms.addresses[0] == Address(address="insert-address-token", type=ADDRESS_FROM, charset="106")
    photo = mms.parts[1]
    assert photo.data.size == len(LARGE_PHOTO) and photo.data.sha256 == sha256(LARGE_PHOTO)
    assert photo.data._path is not None  # over INLINE_BLOB_BYTES: in a temporary file, not in memory
    assert b"".join(photo.data.chunks()) == LARGE_PHOTO


def test_an_old_file_without_addrs_nor_sub_id():
    received_sms, draft, received_mms, sent_mms = read(OLD_SBR)
    assert (received_sms.body, received_sms.date_sent_ms, received_sms.sub_id) == (
        "03/01 20:56\nSplata za tovar.\nSuma: 80.65 UAH", None, None)
    assert (draft.addresses, draft.body, draft.read) == ((), None, False)
    assert received_mms.addresses == (Address(address="+380501112233", type=ADDRESS_FROM),
                                      Address(address="+380509998877", type=ADDRESS_TO))
    assert (received_mms.mms_message_id, received_mms.date_sent_ms) == (None, 0)
    assert received_mms.parts[1].data.open().read() == b"GIF89a" + bytes(20)
    assert sent_mms.addresses == (Address(address="+380501112233", type=ADDRESS_TO),)
    assert sent_mms.parts == (Part(seq=0, content_type="text/plain", text="Dyakuyu"),)
    assert sent_mms.contact_name is None and "readable_date" not in sent_mms.extras


@pytest.mark.parametrize("step", [1, 2, 3, 5, 7, 4096])
def test_every_chunk_boundary_reads_the_same(step):
    data = sbr_messages_xml(MESSAGES[:6])  # without the large photo: a byte at a time takes a while
    assert list(sbr.read_messages(Trickle(data, step))) == read(data)


@pytest.mark.parametrize(("written_as", "read_as"), [
    ("&#55357;&#56832;", "😀"),
    ("&#xD83D;&#xDE00;", "😀"),
    ("a&#55357;b", "a\ufffdb"),  # a lone high half
    ("&#56832;", "\ufffd"),  # a lone low half
    ("&#55357;&#55357;&#56832;", "\ufffd😀"),
    ("&#27;[1m", "\ufffd[1m"),  # a control character XML cannot hold
    ("&#9;&#10;&#13;&#8212;", "\t\n\r—"),  # references XML allows stay as they are
])
def test_character_references_android_writes(written_as, read_as):
    data = (f'<smses><sms address="1" date="1" type="1" body="{written_as}" /></smses>').encode()
    assert read(data)[0].body == read_as


def test_calls_of_every_type():
    calls = list(sbr.read_calls(io.BytesIO(sbr_calls_xml())))
    assert [call.type for call in calls] == [spec.type for spec in CALLS]
    assert calls[0] == Call(number=ANNA_SBR, date_ms=1700100000000, duration_s=185, type=1, presentation=1,
                            subscription_id="89490200001234567890", contact_name="Anna Schmidt",
                            extras={"post_dial_digits": "", "subscription_component_name":
                                    "com.android.phone/com.android.services.telephony.TelephonyConnectionService",
                                    "readable_date": "Nov 16, 2023 2:40:00 AM"})
    withheld = calls[7]
    assert (withheld.number, withheld.presentation) == ("", 2)
    old = calls[9]
    assert (old.subscription_id, old.presentation, old.extras) == (
        None, 4, {"readable_date": "Nov 16, 2023 2:40:00 AM"})


@pytest.mark.parametrize("source", [sbr_messages_xml(), OLD_SBR], ids=["v10", "v7"])
def test_messages_round_trip(source):
    messages = read(source)
    again = read(written(messages))
    assert again == messages
    assert [message.extras for message in again] == [message.extras for message in messages]


def test_calls_round_trip():
    calls = list(sbr.read_calls(io.BytesIO(sbr_calls_xml())))
    out = io.BytesIO()
    sbr.write_calls(calls, out)
    assert list(sbr.read_calls(io.BytesIO(out.getvalue()))) == calls


def test_written_files_are_well_formed_xml_as_the_app_lays_them_out():
    data = written(read(sbr_messages_xml()))
    root = ElementTree.fromstring(data)  # emoji written as characters, not as surrogate references
    assert root.tag == "smses" and root.get("count") == "7" and root.get("type") == "full"
    assert [element.tag for element in root] == ["sms"] * 5 + ["mms"] * 2
    first = root[0]
    assert list(first.attrib)[:5] == ["protocol", "address", "date", "type", "subject"]
    assert list(first.attrib)[-2:] == ["readable_date", "contact_name"]
    assert first.get("subject") == "null" and first.get("body").startswith("Hallo! 😀")
    mms = root[5]
    assert [child.tag for child in mms] == ["parts", "addrs"]
    assert mms.find("parts")[1].get("data") is not None


def test_count_is_written_over_its_placeholder_or_given():
    messages = read(sbr_messages_xml())
    assert ElementTree.fromstring(written(messages[:3])).get("count") == "3"

    class Pipe(io.RawIOBase):  # a stream that cannot seek back, such as a socket
        def __init__(self):
            self.data = bytearray()

        def writable(self):
            return True

        def write(self, data):
            self.data += data
            return len(data)

    pipe = Pipe()
    with pytest.raises(ValueError, match="count"):
        sbr.write_messages(messages, pipe)
    pipe = Pipe()
    sbr.write_messages(messages, pipe, count=len(messages))
    assert ElementTree.fromstring(bytes(pipe.data)).get("count") == "7"
    with pytest.raises(ValueError, match="count=3 was given, but 7"):
        sbr.write_messages(messages, io.BytesIO(), count=3)


def test_readable_date_is_kept_when_read_and_made_when_not():
    kept, made = Message(kind=SMS, box=INBOX, date_ms=1, extras={"readable_date": "1 janv. 1970 01:00:00"}), \
        Message(kind=SMS, box=INBOX, date_ms=1700000000123)
    root = ElementTree.fromstring(written([kept, made]))
    assert [element.get("readable_date") for element in root] == ["1 janv. 1970 01:00:00", "Nov 14, 2023 10:13:20 PM"]


def test_a_record_from_elsewhere_gets_an_address_attribute_and_null_columns():
    mms = Message(kind=MMS, box=SENT, date_ms=1700000000000, mms_type=128,
                  addresses=(Address(address="insert-address-token", type=ADDRESS_FROM),
                             Address(address="+491111111", type=ADDRESS_TO), Address(address="+492222222", type=130)),
                  parts=(Part(seq=0, content_type="image/png", data=Blob.from_bytes(b"\x89PNG")),))
    element = ElementTree.fromstring(written([mms]))[0]
    assert element.get("address") == "+491111111~+492222222" and element.get("sub") == "null"
    assert "sub_id" not in element.attrib and "date_sent" not in element.attrib
    assert read(written([mms])) == [mms]


def test_an_attachment_from_a_file_is_written_from_it(tmp_path):
    photo = tmp_path / "photo.jpg"
    photo.write_bytes(SMALL_PHOTO)
    mms = Message(kind=MMS, box=SENT, date_ms=1700000000000,
                  parts=(Part(seq=0, content_type="image/jpeg", data=Blob.from_path(photo)),))
    assert read(written([mms]))[0].parts[0].data.open().read() == SMALL_PHOTO
    assert photo.exists()  # the caller's file stays


def test_text_that_xml_cannot_hold():
    message = Message(kind=SMS, box=INBOX, date_ms=1, body="esc \x1b, bell \x07, tab \t, noncharacter \uffff")
    data = written([message])
    assert b"&#27;" in data and b"&#7;" in data  # as Android writes them
    assert read(data)[0].body == "esc \ufffd, bell \ufffd, tab \t, noncharacter \ufffd"
