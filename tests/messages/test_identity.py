"""Identity: the same message or call from either app, however its numbers are written, is one; others are not."""

from __future__ import annotations

import dataclasses
import io

import pytest

from messages.backup_files import ie_calls_json, ie_messages_zip, sbr_calls_xml, sbr_messages_xml
from phonecloud.messages.formats import sms_backup_restore, sms_ie
from phonecloud.messages.formats.blobs import Blob
from phonecloud.messages.formats.identity import call_identity, message_identity, normalise_address
from phonecloud.messages.formats.records import OUTBOX, SENT, Address


def from_both_apps():
    return (list(sms_backup_restore.read_messages(io.BytesIO(sbr_messages_xml()))),
            list(sms_ie.read_messages(io.BytesIO(ie_messages_zip()))))


def test_every_message_has_one_identity_in_both_apps():
    from_xml, from_zip = from_both_apps()
    assert from_xml[0].addresses[0].address != from_zip[0].addresses[0].address  # 015… against +49 151 …
    assert [message_identity(m) for m in from_xml] == [message_identity(m) for m in from_zip]


def test_every_call_has_one_identity_in_both_apps():
    from_xml = list(sms_backup_restore.read_calls(io.BytesIO(sbr_calls_xml())))
    from_json = list(sms_ie.read_calls(io.BytesIO(ie_calls_json())))
    assert [call_identity(c) for c in from_xml] == [call_identity(c) for c in from_json]
    assert len({call_identity(c) for c in from_xml}) == len(from_xml)


def test_different_messages_have_different_identities():
    messages = from_both_apps()[0]
    assert len({message_identity(m) for m in messages}) == len(messages)
    sms, mms = messages[0], messages[5]
    photo = mms.parts[1]
    others = [
        dataclasses.replace(sms, body=sms.body + "!"),
        dataclasses.replace(sms, date_ms=sms.date_ms + 1),
        dataclasses.replace(sms, box=SENT),
        dataclasses.replace(sms, addresses=(Address(address="+4915123456780", type=sms.addresses[0].type),)),
        dataclasses.replace(mms, parts=(mms.parts[0], dataclasses.replace(photo, data=Blob.from_bytes(b"other")),
                                        mms.parts[2])),
        dataclasses.replace(mms, parts=mms.parts[:2]),
        dataclasses.replace(mms, addresses=mms.addresses[:2]),
    ]
    identities = {message_identity(m) for m in [sms, mms, *others]}
    assert len(identities) == 2 + len(others)


def test_what_changes_between_backups_of_one_message_does_not_count():
    messages = from_both_apps()[0]
    sms, mms = messages[1], messages[5]
    assert message_identity(dataclasses.replace(sms, box=OUTBOX, read=False, contact_name=None, sub_id=-1,
                                                extras={})) == message_identity(sms)
    shuffled = dataclasses.replace(mms, parts=tuple(reversed(mms.parts)), addresses=tuple(reversed(mms.addresses)))
    assert message_identity(shuffled) == message_identity(mms)


@pytest.mark.parametrize(("written", "normalised"), [
    ("+49 151 23456789", "3456789"),
    ("0049-151-23456789", "3456789"),
    ("(0151) 234 567 89", "3456789"),
    ("015123456789", "3456789"),
    ("+1 (555) 010-9999", "0109999"),
    ("72975", "72975"),
    ("DHL", "text:dhl"),
    ("Deutsche Bahn", "text:deutschebahn"),
    ("Anna@Example.org", "text:anna@example.org"),
    ("", ""),
    (None, ""),
])
def test_addresses_are_compared_on_their_last_seven_digits(written, normalised):
    assert normalise_address(written) == normalised
