"""The messages kind's tables: conversations, messages (SMS and MMS) with their parts, the attachments' bytes
(blobs, once per owner and content), calls, the imports that brought them, and the phone's own numbers.

Every column a record of messages.formats carries is a column here, and what a record keeps in `extras`
(attributes or keys the records do not name) is kept as JSON, in file order, so that an export writes back
what was imported. Full-text search has each engine's own index, made by the kind's migrations: an FTS5
table on SQLite, which the import fills a batch at a time (repository.index_new_messages) and triggers keep
in step when messages are deleted, a generated `tsvector` column with a GIN index on PostgreSQL.
"""

from __future__ import annotations

import datetime as dt
import re
import uuid

from sqlalchemy import (BigInteger, Boolean, ForeignKey, Index, Integer, String, Text, UniqueConstraint, Uuid)
from sqlalchemy.orm import Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

from phonecloud.core.db import BIG_ROW_ID, Base, UTCDateTime, utcnow

RowId = BIG_ROW_ID

# Import states.
QUEUED, RUNNING, DONE, FAILED = "queued", "running", "done", "failed"

_ESCAPED = "\ufdd0"  # a noncharacter: starts a value stored escaped (one with a NUL, or starting with it)
_ESCAPE = re.compile(r"\\(.)", re.DOTALL)


class KeptText(TypeDecorator):
    """Text kept exactly, NUL characters included, which PostgreSQL's text cannot hold: such a value (rare,
    and only from a hostile or damaged file) is stored escaped behind a marker; any other as it is."""

    impl = Text
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None or ("\x00" not in value and not value.startswith(_ESCAPED)):
            return value
        return _ESCAPED + value.replace("\\", "\\\\").replace("\x00", "\\0")

    def process_result_value(self, value, dialect):
        if value is None or not value.startswith(_ESCAPED):
            return value
        return _ESCAPE.sub(lambda match: "\x00" if match.group(1) == "0" else match.group(1), value[1:])


class Conversation(Base):
    """The messages exchanged with one set of other people, told apart by their normalised addresses."""

    __tablename__ = "message_conversations"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    owner_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    participants_key: Mapped[str] = mapped_column(String(64))  # SHA-256 of the sorted normalised addresses
    participants: Mapped[str] = mapped_column(Text)  # JSON: [{"address", "name"}], as first seen
    title: Mapped[str] = mapped_column(KeptText)  # the names (or addresses), for lists
    message_count: Mapped[int] = mapped_column(BigInteger, default=0)
    last_message_ms: Mapped[int] = mapped_column(BigInteger)
    snippet: Mapped[str] = mapped_column(KeptText, default="")  # the start of the newest message's text
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    __table_args__ = (
        UniqueConstraint("owner_id", "participants_key", name="uq_message_conversations_owner_participants"),
        Index("ix_message_conversations_recent", "owner_id", "last_message_ms", "id"),
    )


class StoredMessage(Base):
    """An SMS or an MMS as imported: every field of formats.records.Message."""

    __tablename__ = "messages"

    id: Mapped[int] = mapped_column(RowId, primary_key=True, autoincrement=True)
    owner_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    conversation_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("message_conversations.id", ondelete="CASCADE"))
    import_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("message_imports.id", ondelete="SET NULL"))
    identity: Mapped[str] = mapped_column(String(64))  # formats.identity.message_identity
    kind: Mapped[str] = mapped_column(String(3))  # sms | mms
    box: Mapped[int] = mapped_column(BigInteger)
    date_ms: Mapped[int] = mapped_column(BigInteger)
    date_sent_ms: Mapped[int | None] = mapped_column(BigInteger)
    read: Mapped[bool | None] = mapped_column(Boolean)
    locked: Mapped[bool | None] = mapped_column(Boolean)
    status: Mapped[int | None] = mapped_column(BigInteger)
    subject: Mapped[str | None] = mapped_column(KeptText)
    body: Mapped[str | None] = mapped_column(KeptText)
    sub_id: Mapped[int | None] = mapped_column(BigInteger)
    service_center: Mapped[str | None] = mapped_column(KeptText)
    contact_name: Mapped[str | None] = mapped_column(KeptText)
    mms_type: Mapped[int | None] = mapped_column(BigInteger)
    mms_message_id: Mapped[str | None] = mapped_column(KeptText)
    mms_transaction_id: Mapped[str | None] = mapped_column(KeptText)
    content_type: Mapped[str | None] = mapped_column(KeptText)
    addresses: Mapped[str] = mapped_column(Text)  # JSON: [{"address", "type", "charset", "contact_name", "extras"}]
    extras: Mapped[str] = mapped_column(Text)  # JSON object, in file order
    search_text: Mapped[str] = mapped_column(Text)  # subject and text, without NUL: what search indexes
    imported_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    __table_args__ = (
        UniqueConstraint("owner_id", "identity", name="uq_messages_owner_identity"),
        Index("ix_messages_thread", "conversation_id", "date_ms", "id"),
        Index("ix_messages_owner_date", "owner_id", "date_ms", "id"),
    )


class Attachment(Base):
    """The bytes of an MMS part, once per owner and content (the same photo sent twice is stored once)."""

    __tablename__ = "message_attachments"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    owner_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    sha256: Mapped[str] = mapped_column(String(64))
    sha1: Mapped[str] = mapped_column(String(40))  # what the scrub and storage moves check
    crc32: Mapped[int] = mapped_column(BigInteger)
    size_bytes: Mapped[int] = mapped_column(BigInteger)
    blob_key: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    __table_args__ = (UniqueConstraint("owner_id", "sha256", name="uq_message_attachments_owner_sha256"),)


class MessagePart(Base):
    """One part of an MMS (the SMIL layout, a text, an attachment), in the message's order."""

    __tablename__ = "message_parts"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    message_id: Mapped[int] = mapped_column(ForeignKey("messages.id", ondelete="CASCADE"))
    owner_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    position: Mapped[int] = mapped_column(Integer)
    seq: Mapped[int] = mapped_column(BigInteger)
    content_type: Mapped[str] = mapped_column(KeptText)
    name: Mapped[str | None] = mapped_column(KeptText)
    charset: Mapped[str | None] = mapped_column(KeptText)
    content_disposition: Mapped[str | None] = mapped_column(KeptText)
    filename: Mapped[str | None] = mapped_column(KeptText)
    content_id: Mapped[str | None] = mapped_column(KeptText)
    content_location: Mapped[str | None] = mapped_column(KeptText)
    text: Mapped[str | None] = mapped_column(KeptText)
    extras: Mapped[str] = mapped_column(Text)  # JSON object
    attachment_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("message_attachments.id"))

    __table_args__ = (Index("ix_message_parts_message", "message_id", "position"),
                      Index("ix_message_parts_attachment", "attachment_id"))


class StoredCall(Base):
    """One entry of the call log: every field of formats.records.Call."""

    __tablename__ = "message_calls"

    id: Mapped[int] = mapped_column(RowId, primary_key=True, autoincrement=True)
    owner_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    import_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("message_imports.id", ondelete="SET NULL"))
    identity: Mapped[str] = mapped_column(String(64))  # formats.identity.call_identity
    number: Mapped[str | None] = mapped_column(KeptText)
    date_ms: Mapped[int] = mapped_column(BigInteger)
    duration_s: Mapped[int] = mapped_column(BigInteger)
    type: Mapped[int] = mapped_column(BigInteger)
    presentation: Mapped[int | None] = mapped_column(BigInteger)
    subscription_id: Mapped[str | None] = mapped_column(KeptText)
    contact_name: Mapped[str | None] = mapped_column(KeptText)
    extras: Mapped[str] = mapped_column(Text)  # JSON object
    imported_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    __table_args__ = (
        UniqueConstraint("owner_id", "identity", name="uq_message_calls_owner_identity"),
        Index("ix_message_calls_owner_date", "owner_id", "date_ms", "id"),
    )


class MessageImport(Base):
    """One uploaded backup file and what importing it did. The file is kept (blob_key, charged to the quota)
    until every record of it is stored: removed when the import is done, kept when it failed."""

    __tablename__ = "message_imports"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    owner_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    filename: Mapped[str] = mapped_column(Text)  # as the client sent it
    format: Mapped[str] = mapped_column(String(40))  # messages.detect's names
    state: Mapped[str] = mapped_column(String(16), default=QUEUED)
    size_bytes: Mapped[int] = mapped_column(BigInteger)
    sha1: Mapped[str] = mapped_column(String(40))
    blob_key: Mapped[str | None] = mapped_column(String(200))  # the uploaded file while it is kept
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    # Progress, committed with each batch of records: a run that stops resumes after records_read.
    records_read: Mapped[int] = mapped_column(BigInteger, default=0)
    bytes_read: Mapped[int] = mapped_column(BigInteger, default=0)
    imported: Mapped[int] = mapped_column(BigInteger, default=0)
    duplicates: Mapped[int] = mapped_column(BigInteger, default=0)
    skipped: Mapped[int] = mapped_column(BigInteger, default=0)
    skipped_reasons: Mapped[str] = mapped_column(Text, default="{}")  # JSON: reason -> count
    attachments: Mapped[int] = mapped_column(BigInteger, default=0)
    error: Mapped[str | None] = mapped_column(Text)
    error_line: Mapped[int | None] = mapped_column(BigInteger)
    error_record: Mapped[int | None] = mapped_column(BigInteger)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    started_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    finished_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)

    __table_args__ = (Index("ix_message_imports_owner", "owner_id", "created_at", "id"),)


class OwnAddress(Base):
    """A number (normalised) the phone itself has: left out of a conversation's participants."""

    __tablename__ = "message_own_addresses"

    owner_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    address: Mapped[str] = mapped_column(String(200), primary_key=True)
