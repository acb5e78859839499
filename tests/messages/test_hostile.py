"""Hostile and damaged files: each is refused with a FormatError that names the problem and where reading
stopped, after every whole record before it was read."""

from __future__ import annotations

import io
import json
import random
import struct
import zipfile
import zlib

import pytest

from messages.backup_files import Endless, Trickle, ie_messages_zip, sbr_calls_xml, sbr_messages_xml
from phonecloud.messages.formats import FormatError, sms_backup_restore, sms_ie
from phonecloud.messages.formats.blobs import BlobWriter
from phonecloud.messages.formats.limits import (MAX_CALL_RECORD_BYTES, MAX_JSON_LINE_BYTES, MAX_MARKUP_BYTES,
                                                MAX_XML_DEPTH)

SMS = '<sms address="+491511234567" date="{date}" type="1" body="Nachricht {date}" />\n'


def xml(*records: str) -> bytes:
    return ("<?xml version='1.0' encoding='UTF-8' standalone='yes' ?>\n<smses count=\"1\">\n" + "".join(records)
            + "</smses>\n").encode()


def read_until_refused(data, reader=sms_backup_restore.read_messages):
    """(the records read, the FormatError that stopped reading)."""
    records = []
    with pytest.raises(FormatError) as refused:
        for record in reader(io.BytesIO(data) if isinstance(data, bytes) else data):
            records.append(record)
    return records, refused.value


# --- SMS Backup & Restore ------------------------------------------------------------------------------------

BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE smses [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol9 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
]>
<smses><sms address="1" date="1" type="1" body="&lol9;" /></smses>
"""


@pytest.mark.parametrize("document", [
    BILLION_LAUGHS,
    b'<?xml version="1.0"?>\n<!DOCTYPE smses [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>\n'
    b'<smses><sms address="1" date="1" type="1" body="&xxe;" /></smses>',
    b'<?xml version="1.0"?>\n<!DOCTYPE smses SYSTEM "http://192.0.2.1/evil.dtd">\n<smses/>',
    b'<?xml version="1.0"?>\n<!DOCTYPE smses>\n<smses/>',
], ids=["billion laughs", "external entity", "external DTD", "any DTD"])
def test_any_document_type_declaration_is_refused(document):
    records, error = read_until_refused(document)
    assert records == [] and "document type declaration" in str(error)
    assert (error.line, error.record) == (2, 1)


def test_an_entity_that_was_never_declared_is_refused():
    records, error = read_until_refused(xml(SMS.format(date=1), '<sms address="1" date="2" type="1" body="&lol;" />'))
    assert len(records) == 1 and "undefined entity" in error.problem and (error.line, error.record) == (4, 2)


def test_absurd_nesting_is_refused():
    records, error = read_until_refused(xml(SMS.format(date=1), "<a>" * 10_000 + "</a>" * 10_000))
    assert len(records) == 1 and f"nested more than {MAX_XML_DEPTH} deep" in str(error)


@pytest.mark.parametrize(("opening", "refusal"), [
    (b'<mms date="2" msg_box="1"><parts><part seq="0" ct="video/mp4" data="', "larger than the limit of 64.0 MiB"),
    (b'<sms address="1" date="2" type="1" body="', "in one tag"),
], ids=["attachment", "other-attribute"])
def test_a_two_gigabyte_attribute_is_refused_without_reading_it(opening, refusal):
    head = xml(SMS.format(date=1)).replace(b"</smses>\n", b"") + opening
    stream = Endless(head, b"AAAAAAAA" * 8192, total=2 << 30)
    records, error = read_until_refused(stream)
    assert len(records) == 1 and refusal in error.problem and (error.line, error.record) == (4, 2)
    assert stream.served < MAX_MARKUP_BYTES + (1 << 20)  # stopped at the limit, not at the end


def test_two_gigabytes_without_markup_are_refused_too():
    stream = Endless(b"<smses>", b" " * 65536, total=2 << 30)
    records, error = read_until_refused(stream)
    assert records == [] and "between two" in error.problem and stream.served < MAX_MARKUP_BYTES + (1 << 20)


def test_an_attachment_over_the_limit_is_refused():
    writer = BlobWriter(limit=10)
    writer.write(b"0123456789")
    with pytest.raises(FormatError, match="larger than the limit of 10 B"):
        writer.write(b"!")


def test_a_file_cut_in_the_middle_of_an_mms_yields_what_came_before():
    data = sbr_messages_xml()
    cut = data[:data.index(b'<part seq="0" ct="image/jpeg"') + 500]  # inside the photo's base64
    records, error = read_until_refused(cut)
    assert [record.kind for record in records] == ["sms"] * 5
    assert "cut short" in error.problem and error.record == 6 and "the 5 records before it" in str(error)


@pytest.mark.parametrize("cut", [100, 200, 260, 300])
def test_a_file_cut_anywhere_in_its_first_record(cut):
    records, error = read_until_refused(sbr_messages_xml()[:cut])
    assert records == [] and error.record == 1


def test_invalid_utf8_stops_at_its_line():
    data = xml(SMS.format(date=1), SMS.format(date=2), SMS.format(date=3)).replace(b"Nachricht 3", b"Nachricht \xff3")
    records, error = read_until_refused(data)
    assert [record.date_ms for record in records] == [1, 2]
    assert "invalid UTF-8 (byte 0xff)" in error.problem and (error.line, error.record) == (5, 3)


@pytest.mark.parametrize(("record", "problem"), [
    ('<sms address="1" type="1" body="no date" />', "<sms> has no 'date', which it needs"),
    ('<sms address="1" date="yesterday" type="1" />', "<sms> has date='yesterday': not a whole number"),
    ('<sms address="1" date="3" type="1" read="yes" />', "<sms> has read='yes': not 0 or 1"),
    ('<mms date="3" msg_box="1"><parts><part seq="0" ct="image/png" data="not*base64" /></parts></mms>',
     "an MMS part's data is not base64"),
    ('<mms date="3" msg_box="1"><parts><part seq="0" data="AAAA" /></parts></mms>', "an MMS part has no 'ct'"),
    ('<mms date="3" msg_box="1"><addrs><addr address="1" /></addrs></mms>', "an MMS address has no 'type'"),
])
def test_a_damaged_record_stops_reading_after_the_whole_ones(record, problem):
    records, error = read_until_refused(xml(SMS.format(date=1), SMS.format(date=2), record))
    assert len(records) == 2 and problem in error.problem and (error.line, error.record) == (5, 3)


def test_not_a_messages_file():
    _, error = read_until_refused(b"<html><body>hello</body></html>")
    assert "not an SMS Backup & Restore messages file" in error.problem
    _, error = read_until_refused(sbr_calls_xml())
    assert "the document is <calls>, not <smses>" in error.problem
    _, error = read_until_refused(b"")
    assert "no element found" in error.problem
    latin = b"<?xml version='1.0' encoding='ISO-8859-1'?><smses/>"
    for stream in (io.BytesIO(latin), Trickle(latin, 1)):
        _, error = read_until_refused(stream)
        assert "declares the encoding 'ISO-8859-1'" in error.problem


# --- SMS Import / Export -------------------------------------------------------------------------------------

def archive(entries: dict[str, bytes], compression=zipfile.ZIP_DEFLATED) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression) as zipped:
        for name, data in entries.items():
            zipped.writestr(name, data)
    return buffer.getvalue()


def lines(*objects: dict) -> bytes:
    return b"".join(json.dumps(line).encode() + b"\n" for line in objects)


def sms_line(date: int) -> dict:
    return {"address": "+491511234567", "date": str(date), "type": "1", "body": f"Nachricht {date}"}


def patched_directory_entry(data: bytes, index: int, offset: int, value: int, size: str = "<I") -> bytes:
    """`data` with a field of the index-th entry of its central directory overwritten."""
    at = -1
    for _ in range(index + 1):
        at = data.index(b"PK\x01\x02", at + 1)
    field = at + offset
    return data[:field] + struct.pack(size, value) + data[field + struct.calcsize(size):]


def test_a_zip_bomb_is_refused():
    bomb = archive({"messages.ndjson": lines(sms_line(1)), "data/PART_1.jpg": bytes(10 << 20)})
    _, error = read_until_refused(bomb, sms_ie.read_messages)
    assert "'data/PART_1.jpg' is refused: inflates" in error.problem and error.record is None


@pytest.mark.parametrize("name", ["../../home/user/.bashrc", "/etc/cron.d/job", "data/..\\..\\x.jpg",
                                  "C:/Windows/x.jpg", "data/./x.jpg", "data//x.jpg"])
def test_zip_slip_names_are_refused(name):
    _, error = read_until_refused(archive({"messages.ndjson": lines(sms_line(1)), name: b"x"}),
                                  sms_ie.read_messages)
    assert f"entry {name!r} is refused" in error.problem


def test_an_oversize_entry_is_refused_by_its_declared_size():
    data = archive({"messages.ndjson": lines(sms_line(1)), "data/video.mp4": b"small"})
    lying = patched_directory_entry(data, 1, 24, 0xF000_0000)  # uncompressed size: 3.75 GiB
    _, error = read_until_refused(lying, sms_ie.read_messages)
    assert "'data/video.mp4' is refused: 3.8 GiB, more than the limit of 64.0 MiB" in error.problem


def test_overlapping_entries_are_refused():
    data = archive({"messages.ndjson": lines(sms_line(1)), "data/a.jpg": b"a" * 100, "data/b.jpg": b"b" * 100})
    overlapping = patched_directory_entry(data, 2, 42, data.index(b"PK\x03\x04", 1))  # b's data is a's
    _, error = read_until_refused(overlapping, sms_ie.read_messages)
    assert "overlap (a zip bomb?)" in error.problem


def test_encrypted_entries_are_refused():
    encrypted = patched_directory_entry(archive({"messages.ndjson": lines(sms_line(1))}), 0, 8, 1, "<H")
    _, error = read_until_refused(encrypted, sms_ie.read_messages)
    assert "'messages.ndjson' is refused: encrypted" in error.problem


def test_a_cut_archive_is_refused_as_a_whole():
    data = ie_messages_zip()
    _, error = read_until_refused(data[:len(data) // 2], sms_ie.read_messages)
    assert "not a zip archive, or cut short" in error.problem


@pytest.mark.parametrize(("third", "problem"), [
    (b'{"address":"1","date":"3","body":"' + random.Random(3).randbytes(MAX_JSON_LINE_BYTES // 2).hex().encode()
     + b'"}', "a line longer than 4.0 MiB"),
    (b'{"address":"1","date":"3","type":"1"', "invalid JSON: Expecting ',' delimiter"),
    (b'{"address":"1","date":"3","type":"1","body":"\xff"}', "invalid UTF-8"),
    (b'["not", "an", "object"]', "a line that is not a JSON object"),
    (b'{"date":"3","type":"1","read":1}', "an SMS has 'read' as int, where the app writes strings"),
    (b'{"a":' + b"[" * 100_000 + b"]" * 100_000 + b"}", "JSON nested too deeply"),
    (b'{"date":"3","msg_box":"1","m_type":"132","__parts":{"seq":"0"}}', "__parts is not a JSON array"),
    (b'{"date":"3","msg_box":"1","m_type":"132","__parts":[{"seq":"0","ct":{"x":[]}}]}',
     "an MMS part has 'ct' as dict"),
    (b'{"type":"1"}', "an SMS has no 'date', which it needs"),
])
def test_a_damaged_line_stops_reading_after_the_whole_ones(third, problem):
    data = archive({"messages.ndjson": lines(sms_line(1), sms_line(2)) + third + b"\n" + lines(sms_line(4))})
    records, error = read_until_refused(data, sms_ie.read_messages)
    assert [record.date_ms for record in records] == [1, 2]
    assert problem in error.problem and (error.line, error.record) == (3, 3)


def test_damaged_compressed_data_stops_reading_after_the_whole_lines():
    ndjson = lines(*(sms_line(date) for date in range(1, 3001)))
    data = bytearray(archive({"messages.ndjson": ndjson}))
    middle = data.index(b"PK\x01\x02") // 2
    data[middle:middle + 8] = b"\xff" * 8
    records, error = read_until_refused(bytes(data), sms_ie.read_messages)
    assert 0 < len(records) < 3000 and error.record == len(records) + 1
    assert [record.date_ms for record in records] == list(range(1, len(records) + 1))


def test_a_missing_attachment_is_not_an_error_but_a_damaged_one_is():
    mms = {"date": "3", "msg_box": "1", "m_type": "132",
           "__parts": [{"seq": "0", "ct": "image/jpeg", "_data": "/phone/app_parts/PART_9.jpg"}]}
    data = archive({"messages.ndjson": lines(mms), "data/PART_9.jpg": zlib.compress(b"x") * 3},
                   zipfile.ZIP_STORED)
    assert list(sms_ie.read_messages(io.BytesIO(data)))[0].parts[0].data.size == len(zlib.compress(b"x")) * 3
    damaged = patched_directory_entry(data, 1, 16, 0xDEADBEEF)  # the attachment's CRC no longer matches
    records, error = read_until_refused(damaged, sms_ie.read_messages)
    assert records == [] and "'data/PART_9.jpg' is damaged" in error.problem and error.record == 1


@pytest.mark.parametrize(("document", "whole", "problem"), [
    (b'[{"number":"1","date":"1","duration":"0","type":"1"},{"number":"2","date":"2","dur', 1, "cut short"),
    (b'[{"number":"1","date":"1","duration":"0","type":"1"},"call"]', 1, "not a JSON array of objects"),
    (b'[{"number":"1","date":"1","duration":"0","type":"1","x":{"y":"z"}}]', 0, "the call log is flat"),
    (b'[' + b"[" * 100_000, 0, "not a JSON array of objects"),
    (b'[{"number":"' + b"1" * MAX_CALL_RECORD_BYTES + b'"}]', 0, "one call takes more than 256.0 KiB"),
    (b'[{"number":"1","date":"1","duration":"0","type":"1"}] trailing', 1, "not a JSON array of objects"),
    (b'[{"number":"1","date":"1","duration":"0","type":"1"},{"number":"2" "date":"2"}]', 1, "invalid JSON"),
    (b'[{"number":"1","date":"1","duration":"0","type":"1"},{"number":2}]', 1, "a call has 'number' as int"),
    (b'{"calls":[]}', 0, "not a JSON array of objects"),
    (b"", 0, "not a JSON array"),
])
def test_a_damaged_call_log(document, whole, problem):
    records, error = read_until_refused(document, sms_ie.read_calls)
    assert len(records) == whole and problem in error.problem and error.record == whole + 1
