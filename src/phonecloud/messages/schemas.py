"""The messages kind's JSON shapes, shared by its routes and the OpenAPI description. Items are plain dicts
(TypedDict): a page carries up to 1,000 of them."""

from __future__ import annotations

import datetime as dt
import json
import uuid
from typing import Annotated

from pydantic import BaseModel, Field
from typing_extensions import TypedDict  # pydantic needs this one before Python 3.12

from phonecloud.core.dates import DateOutOfRange, from_unix_seconds
from phonecloud.messages.models import Attachment, Conversation, MessageImport, MessagePart, StoredCall, StoredMessage
from phonecloud.messages.models import QUEUED, RUNNING
from phonecloud.messages.formats.records import INBOX
from phonecloud.messages.rows import addresses_of

CALL_TYPES = {1: "incoming", 2: "outgoing", 3: "missed", 4: "voicemail", 5: "rejected", 6: "blocked",
              7: "answered elsewhere"}
BOXES = {1: "inbox", 2: "sent", 3: "draft", 4: "outbox", 5: "failed", 6: "queued"}
API = "/api/v1/messages"
# Parts offered a thumbnail: the photo formats the media pipeline renders (what the bytes really are is checked
# when it is made). Some phones write "image/jpg".
THUMBNAIL_TYPES = {"image/jpeg", "image/jpg", "image/png", "image/gif", "image/webp", "image/heic", "image/heif",
                   "image/avif", "image/tiff"}


def moment(date_ms: int) -> str | None:
    """A record's time in ISO 8601, or None when it lies outside what phonecloud represents (date_ms has it)."""
    try:
        return from_unix_seconds(date_ms / 1000).isoformat()
    except DateOutOfRange:
        return None


class ParticipantOut(TypedDict):
    address: str
    name: str | None


class ConversationOut(TypedDict):
    id: uuid.UUID
    title: str
    participants: list[ParticipantOut]
    message_count: int
    last_message_at: Annotated[str | None, Field(description="ISO 8601; null outside years 1900 to 2200")]
    last_message_ms: int
    snippet: Annotated[str, Field(description="The start of the newest message's text")]


def conversation_out(conversation: Conversation) -> ConversationOut:
    return {"id": conversation.id, "title": conversation.title, "participants": json.loads(conversation.participants),
            "message_count": conversation.message_count, "last_message_at": moment(conversation.last_message_ms),
            "last_message_ms": conversation.last_message_ms, "snippet": conversation.snippet}


class AddressOut(TypedDict):
    address: str
    type: Annotated[int, Field(description="137 from, 151 to, 130 cc, 129 bcc")]
    charset: str | None
    contact_name: str | None
    extras: dict[str, str]


class PartOut(TypedDict):
    id: uuid.UUID
    seq: int
    content_type: str
    name: str | None
    filename: str | None
    charset: str | None
    content_disposition: str | None
    content_id: str | None
    content_location: str | None
    text: str | None
    size: Annotated[int | None, Field(description="The attachment's bytes; null for a part without data")]
    sha256: str | None
    data_url: Annotated[str | None, Field(description="Where its bytes are (Range supported)")]
    thumbnail_url: Annotated[str | None, Field(description="A photo's small WebP; it answers 404 (state failed, with "
                                                           "the reason) when the bytes are no image the server reads")]
    extras: dict[str, str]


def thumbnail_url(part: MessagePart, attachment: Attachment | None) -> str | None:
    """Where a photo part's thumbnail is; None for any other part."""
    media_type = part.content_type.split(";")[0].strip().lower()
    return f"{API}/parts/{part.id}/thumbnail" if attachment is not None and media_type in THUMBNAIL_TYPES else None


def part_out(part: MessagePart, attachment: Attachment | None) -> PartOut:
    return {"id": part.id, "seq": part.seq, "content_type": part.content_type, "name": part.name,
            "filename": part.filename, "charset": part.charset, "content_disposition": part.content_disposition,
            "content_id": part.content_id, "content_location": part.content_location, "text": part.text,
            "size": attachment.size_bytes if attachment else None, "sha256": attachment.sha256 if attachment else None,
            "data_url": f"{API}/parts/{part.id}/data" if attachment else None,
            "thumbnail_url": thumbnail_url(part, attachment), "extras": json.loads(part.extras)}


class MessageOut(TypedDict):
    id: int
    conversation_id: uuid.UUID
    conversation_title: str
    kind: Annotated[str, Field(description="sms or mms")]
    box: Annotated[int, Field(description="1 inbox, 2 sent, 3 draft, 4 outbox, 5 failed, 6 queued")]
    direction: Annotated[str, Field(description="in (received) or out")]
    date: Annotated[str | None, Field(description="ISO 8601; null outside years 1900 to 2200 (date_ms has it)")]
    date_ms: int
    date_sent_ms: int | None
    read: bool | None
    locked: bool | None
    status: int | None
    subject: str | None
    body: str | None
    text: Annotated[str, Field(description="What it says: an SMS's body, an MMS's text parts")]
    sub_id: int | None
    service_center: str | None
    contact_name: str | None
    mms_type: int | None
    mms_message_id: str | None
    mms_transaction_id: str | None
    content_type: str | None
    addresses: list[AddressOut]
    parts: list[PartOut]
    extras: dict[str, str]


def message_out(message: StoredMessage, parts: list[tuple[MessagePart, Attachment | None]], title: str) -> MessageOut:
    texts = [part.text for part, _ in parts if part.content_type == "text/plain" and part.text]
    addresses = [{"address": address.address, "type": address.type, "charset": address.charset,
                  "contact_name": address.contact_name, "extras": address.extras}
                 for address in addresses_of(message.addresses)]
    return {"id": message.id, "conversation_id": message.conversation_id, "conversation_title": title,
            "kind": message.kind, "box": message.box, "direction": "in" if message.box == INBOX else "out",
            "date": moment(message.date_ms), "date_ms": message.date_ms, "date_sent_ms": message.date_sent_ms,
            "read": message.read, "locked": message.locked, "status": message.status, "subject": message.subject,
            "body": message.body, "text": (message.body or "") if message.kind == "sms" else "\n".join(texts),
            "sub_id": message.sub_id, "service_center": message.service_center, "contact_name": message.contact_name,
            "mms_type": message.mms_type, "mms_message_id": message.mms_message_id,
            "mms_transaction_id": message.mms_transaction_id, "content_type": message.content_type,
            "addresses": addresses, "parts": [part_out(part, attachment) for part, attachment in parts],
            "extras": json.loads(message.extras)}


class CallOut(TypedDict):
    id: int
    number: str | None
    date: str | None
    date_ms: int
    duration_s: int
    type: Annotated[int, Field(description="1 incoming, 2 outgoing, 3 missed, 4 voicemail, 5 rejected, 6 blocked, "
                                           "7 answered elsewhere")]
    type_name: str | None
    presentation: Annotated[int | None, Field(description="1 allowed, 2 restricted, 3 unknown, 4 payphone")]
    subscription_id: str | None
    contact_name: str | None
    extras: dict[str, str]


def call_out(call: StoredCall) -> CallOut:
    return {"id": call.id, "number": call.number, "date": moment(call.date_ms), "date_ms": call.date_ms,
            "duration_s": call.duration_s, "type": call.type, "type_name": CALL_TYPES.get(call.type),
            "presentation": call.presentation, "subscription_id": call.subscription_id,
            "contact_name": call.contact_name, "extras": json.loads(call.extras)}


class ImportOut(BaseModel):
    id: uuid.UUID
    filename: str
    format: str = Field(description="sms-backup-restore/messages, sms-backup-restore/calls, sms-ie/messages or "
                                    "sms-ie/calls")
    state: str = Field(description="queued, running, done or failed")
    finished: bool
    size: int
    records_read: int = Field(description="Records of the file read so far (messages or calls)")
    bytes_read: int
    imported: int = Field(description="Records stored")
    duplicates: int = Field(description="Records that were stored already (by an earlier import, or twice in the file)")
    skipped: int = Field(description="Records not stored, for the reasons in skipped_reasons")
    skipped_reasons: dict[str, int]
    attachments: int = Field(description="Attachments of the records stored")
    error: str | None = Field(description="Why a failed import stopped")
    error_line: int | None = Field(description="The file's line where reading stopped, where known")
    error_record: int | None = Field(description="The record (1-based) where it stopped; every one before it was read")
    file_kept: bool = Field(description="The uploaded file is still kept (and counted in the quota): until the "
                                        "import is done, and after it failed, until the import is deleted")
    created_at: dt.datetime
    started_at: dt.datetime | None
    finished_at: dt.datetime | None

    @classmethod
    def of(cls, row: MessageImport) -> ImportOut:
        return cls(id=row.id, filename=row.filename, format=row.format, state=row.state,
                   finished=row.state not in (QUEUED, RUNNING), size=row.size_bytes, records_read=row.records_read,
                   bytes_read=row.bytes_read, imported=row.imported, duplicates=row.duplicates, skipped=row.skipped,
                   skipped_reasons=json.loads(row.skipped_reasons), attachments=row.attachments,
                   error=row.error if row.state not in (QUEUED, RUNNING) else None, error_line=row.error_line,
                   error_record=row.error_record, file_kept=row.blob_key is not None, created_at=row.created_at,
                   started_at=row.started_at, finished_at=row.finished_at)


class ConversationPage(BaseModel):
    items: list[ConversationOut]
    next_cursor: str | None


class MessagePage(BaseModel):
    items: list[MessageOut]
    next_cursor: str | None


class CallPage(BaseModel):
    items: list[CallOut]
    next_cursor: str | None


class ImportPage(BaseModel):
    items: list[ImportOut]
    next_cursor: str | None
