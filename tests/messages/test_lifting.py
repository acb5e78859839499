"""MMS attachments lifted out of an SMS Backup & Restore file before the XML parser sees it
(formats/lifting.py): the same bytes come out wherever the stream's pieces break, with line breaks in the
base64 as blanks or as references; line numbers stay the file's; what is not base64 is refused where it
is; a part in a comment, or one quoted otherwise, is read as before; a placeholder cannot be forged."""

from __future__ import annotations

import base64
import io
import random

import pytest

from messages.backup_files import Trickle
from messages.test_hostile import SMS, read_until_refused, xml
from phonecloud.messages.formats import sms_backup_restore

PHOTO = random.Random(7).randbytes(150_000)  # spans several of the reader's 64 KiB chunks as base64


def _mms(data_attribute: str, date: int = 2) -> str:
    return (f'<mms date="{date}000" msg_box="1"><parts>'
            f'<part seq="-1" ct="application/smil" text="&lt;smil/&gt;" />'
            f'<part seq="0" ct="image/jpeg" name="photo.jpg" {data_attribute} />'
            f'</parts></mms>\n')


def _photos(data: bytes, **reading) -> list[bytes]:
    """Every attachment's bytes, in file order."""
    stream = Trickle(data, **reading) if reading else io.BytesIO(data)
    return [part.data.open().read() for message in sms_backup_restore.read_messages(stream)
            for part in message.parts if part.data is not None]


def test_an_attachment_comes_out_whole_wherever_the_pieces_break():
    encoded = base64.b64encode(PHOTO).decode()
    document = xml(SMS.format(date=1), _mms(f'data="{encoded}"'), _mms(f'data="{encoded[:4000]}"', 3))
    for step in (1 << 16, 65_521, 4_093, 997, 61):
        assert _photos(document, step=step) == [PHOTO, base64.b64decode(encoded[:4000])], step


@pytest.mark.parametrize("line_break", ["\n", "&#10;", "&#13;&#10;", "&#xA;"])
def test_line_breaks_in_the_base64_are_blanks_and_the_lines_after_stay_counted(line_break):
    encoded = base64.b64encode(PHOTO).decode()
    broken = line_break.join(encoded[at:at + 76] for at in range(0, len(encoded), 76))
    damaged = '<sms address="1" type="1" body="no date" />\n'
    document = xml(SMS.format(date=1), _mms(f'data="{broken}"'), damaged)
    records, error = read_until_refused(Trickle(document, step=4_093))
    assert [part.data.open().read() for part in records[1].parts if part.data] == [PHOTO]
    literal_lines = broken.count("\n")
    assert "has no 'date'" in error.problem and (error.line, error.record) == (5 + literal_lines, 3)


def test_data_that_is_not_base64_is_refused_at_its_part():
    encoded = base64.b64encode(PHOTO).decode()
    for spoiled in (encoded[:70_000] + "&amp;" + encoded[70_000:], encoded[:-2] + "#", encoded + "A"):
        records, error = read_until_refused(xml(SMS.format(date=1), _mms(f'data="{spoiled}"')))
        assert len(records) == 1 and "not base64" in error.problem and (error.line, error.record) == (4, 2)


def test_a_file_cut_inside_an_attachment_keeps_the_records_before():
    encoded = base64.b64encode(PHOTO).decode()
    document = xml(SMS.format(date=1), _mms(f'data="{encoded}"'))
    records, error = read_until_refused(document[:document.index(b"data=") + 100_000])
    assert len(records) == 1 and "cut short" in error.problem and error.record == 2


def test_parts_the_lifter_leaves_alone_are_read_as_before():
    in_a_comment = '<!-- <part seq="0" ct="image/jpeg" data="QUJD" /> -->\n'
    single_quoted = "<part seq='0' ct='image/jpeg' data='QUJD' />"
    mms = f'<mms date="2000" msg_box="1"><parts>{single_quoted}</parts></mms>\n'
    assert _photos(xml(in_a_comment, mms, _mms('data="REVG"', 3))) == [b"ABC", b"DEF"]


def test_a_placeholder_written_into_a_file_names_nothing():
    # The forged part comes first, while the real one after it (in the same piece) is already lifted and
    # waiting: were placeholders guessable, the forged part would take the real part's bytes.
    sneaky = "<part seq='0' ct='image/jpeg' data='phonecloud-lifted-0' />"
    document = xml(f'<mms date="1000" msg_box="1"><parts>{sneaky}</parts></mms>\n', _mms('data="QUJD"'))
    records, error = read_until_refused(document)
    assert records == [] and "not base64" in error.problem and error.record == 1


def test_a_value_that_only_looks_like_a_cut_reference_is_refused_at_once():
    endless = "&" + "A" * 300_000  # no ';' ever: not a reference, and never held whole
    records, error = read_until_refused(Trickle(xml(SMS.format(date=1), _mms(f'data="{endless}"')), step=997))
    assert len(records) == 1 and "not base64" in error.problem
