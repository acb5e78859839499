"""Records (messages.formats) as rows, and rows as records again, field for field: what an import stores is
what an export writes back.

Before a record is stored its text is made storable: a lone UTF-16 surrogate (which only a damaged or
hostile SMS Import / Export file can hold; SMS Backup & Restore's reader already replaces them, so its
records skip this) becomes U+FFFD, as neither database can keep one. This happens before the record's
identity is taken, so the record stored, exported and read back has the same identity.
"""

from __future__ import annotations

import dataclasses
import json
import re
import uuid
from collections.abc import Callable
from typing import Any, BinaryIO

from phonecloud.messages.formats.blobs import Blob
from phonecloud.messages.formats.records import MMS, Address, Call, Message, Part

_SURROGATE = re.compile("[\ud800-\udfff]")
_INT64 = (-(1 << 63), (1 << 63) - 1)
SNIPPET_CHARS = 200


def _storable_text(text: str) -> str:
    if text.isascii():
        return text
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return _SURROGATE.sub("\ufffd", text)
    return text


def _storable_value(value: Any) -> Any:
    if isinstance(value, str):
        return _storable_text(value)
    if isinstance(value, dict):
        return {_storable_text(key): _storable_value(item) for key, item in value.items()}
    if isinstance(value, tuple):
        return tuple(_storable_value(item) for item in value)
    if dataclasses.is_dataclass(value):
        return storable(value)
    return value


def storable(record):
    """The record (Message, Call, or a part of one) with text both databases keep (see the module's docstring)."""
    changes = {}
    for field in dataclasses.fields(record):
        value = getattr(record, field.name)
        kept = _storable_value(value)
        if kept is not value and kept != value:
            changes[field.name] = kept
    return dataclasses.replace(record, **changes) if changes else record


def _number_fields(record_type: type) -> tuple[str, ...]:
    """The fields of a record type that hold a whole number (worked out once per type)."""
    names = _NUMBER_FIELDS.get(record_type)
    if names is None:
        names = _NUMBER_FIELDS[record_type] = tuple(
            field.name for field in dataclasses.fields(record_type) if field.type.split(" | ")[0] == "int")
    return names


_NUMBER_FIELDS: dict[type, tuple[str, ...]] = {}


def too_large_number(record) -> str | None:
    """The field of the record (or of its parts and addresses) whose number a 64-bit column cannot hold."""
    low, high = _INT64
    for name in _number_fields(type(record)):
        value = getattr(record, name)
        if value is not None and not low <= value <= high:
            return name
    for item in (*getattr(record, "parts", ()), *getattr(record, "addresses", ())):
        if (inner := too_large_number(item)) is not None:
            return inner
    return None


# Made once: json.dumps with options makes an encoder per call.
_JSON = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))


def _json(value: Any) -> str:
    return _JSON.encode(value)


def search_text(message: Message) -> str:
    """What search finds a message by: its subject and its text (without NUL, which no index takes)."""
    return "\n".join(text for text in (message.subject, message.text) if text).replace("\x00", "")


def snippet(message: Message) -> str:
    text = message.text or message.subject or ""
    return " ".join(text.split())[:SNIPPET_CHARS]


# -- messages ---------------------------------------------------------------------------------------------

def message_row(message: Message, *, owner_id: int, conversation_id: uuid.UUID, identity: str,
                import_id: uuid.UUID | None, imported_at) -> dict[str, Any]:
    return dict(
        owner_id=owner_id, conversation_id=conversation_id, import_id=import_id, identity=identity,
        kind=message.kind, box=message.box, date_ms=message.date_ms, date_sent_ms=message.date_sent_ms,
        read=message.read, locked=message.locked, status=message.status, subject=message.subject,
        body=message.body, sub_id=message.sub_id, service_center=message.service_center,
        contact_name=message.contact_name, mms_type=message.mms_type, mms_message_id=message.mms_message_id,
        mms_transaction_id=message.mms_transaction_id, content_type=message.content_type,
        addresses=_json([_address_json(address) for address in message.addresses]),
        extras=_json(message.extras), search_text=search_text(message), imported_at=imported_at,
    )


def _address_json(address: Address) -> dict[str, Any]:
    return {"address": address.address, "type": address.type, "charset": address.charset,
            "contact_name": address.contact_name, "extras": address.extras}


def addresses_of(stored_json: str) -> tuple[Address, ...]:
    return tuple(Address(address=item["address"], type=item["type"], charset=item["charset"],
                         contact_name=item["contact_name"], extras=item["extras"])
                 for item in json.loads(stored_json))


def part_row(part: Part, *, message_id: int, owner_id: int, position: int,
             attachment_id: uuid.UUID | None) -> dict[str, Any]:
    return dict(
        id=uuid.uuid4(), message_id=message_id, owner_id=owner_id, position=position, seq=part.seq,
        content_type=part.content_type, name=part.name, charset=part.charset,
        content_disposition=part.content_disposition, filename=part.filename, content_id=part.content_id,
        content_location=part.content_location, text=part.text, extras=_json(part.extras),
        attachment_id=attachment_id,
    )


# How an export reads an attachment's bytes: (blob key) -> a binary stream of them.
Opener = Callable[[str], BinaryIO]


def part_record(row, attachment, open_blob: Opener) -> Part:
    """A stored part as a record; its bytes (when it has any) are read from the blob store when written."""
    data = None
    if attachment is not None:
        data = Blob.kept_elsewhere(attachment.size_bytes, attachment.sha256,
                                   lambda key=attachment.blob_key: open_blob(key))
    return Part(seq=row.seq, content_type=row.content_type, name=row.name, charset=row.charset,
                content_disposition=row.content_disposition, filename=row.filename, content_id=row.content_id,
                content_location=row.content_location, text=row.text, data=data, extras=json.loads(row.extras))


def message_record(row, parts: tuple[Part, ...]) -> Message:
    return Message(
        kind=row.kind, box=row.box, date_ms=row.date_ms, addresses=addresses_of(row.addresses),
        date_sent_ms=row.date_sent_ms, read=row.read, locked=row.locked, status=row.status, subject=row.subject,
        body=row.body, sub_id=row.sub_id, service_center=row.service_center, contact_name=row.contact_name,
        mms_type=row.mms_type, mms_message_id=row.mms_message_id, mms_transaction_id=row.mms_transaction_id,
        content_type=row.content_type, parts=parts if row.kind == MMS else (), extras=json.loads(row.extras),
    )


# -- calls ------------------------------------------------------------------------------------------------

def call_row(call: Call, *, owner_id: int, identity: str, import_id: uuid.UUID | None,
             imported_at) -> dict[str, Any]:
    return dict(owner_id=owner_id, import_id=import_id, identity=identity, number=call.number,
                date_ms=call.date_ms, duration_s=call.duration_s, type=call.type, presentation=call.presentation,
                subscription_id=call.subscription_id, contact_name=call.contact_name, extras=_json(call.extras),
                imported_at=imported_at)


def call_record(row) -> Call:
    return Call(number=row.number, date_ms=row.date_ms, duration_s=row.duration_s, type=row.type,
                presentation=row.presentation, subscription_id=row.subscription_id, contact_name=row.contact_name,
                extras=json.loads(row.extras))
