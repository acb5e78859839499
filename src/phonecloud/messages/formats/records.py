"""The neutral records every messages format reads into and writes from. Pure Python.

Names follow Android's own message and call-log providers, whose columns both backup apps copy: times are
milliseconds since the Unix epoch (UTC), boxes and types are Android's numbers. A value that was absent (or
the literal `null`) is None. Each record keeps, in `extras`, every other attribute it was read with, as
strings in file order, and writers write them back: reading, writing and reading again loses nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from phonecloud.messages.formats.blobs import Blob

SMS = "sms"
MMS = "mms"

# Message boxes: an SMS's `type`, an MMS's `msg_box` (MMS has no 6).
INBOX, SENT, DRAFT, OUTBOX, FAILED, QUEUED = 1, 2, 3, 4, 5, 6
# An MMS address's role (the MMS encapsulation's header numbers).
ADDRESS_FROM, ADDRESS_TO, ADDRESS_CC, ADDRESS_BCC = 137, 151, 130, 129
# Android's stand-in for the phone's own number among a sent MMS's addresses.
OWN_NUMBER_TOKEN = "insert-address-token"
# A call's `type`.
INCOMING, OUTGOING, MISSED, VOICEMAIL, REJECTED, BLOCKED, ANSWERED_EXTERNALLY = 1, 2, 3, 4, 5, 6, 7
# A call's `presentation`: whether the caller's number was shown.
PRESENTATION_ALLOWED, PRESENTATION_RESTRICTED, PRESENTATION_UNKNOWN, PRESENTATION_PAYPHONE = 1, 2, 3, 4


@dataclass(frozen=True, kw_only=True)
class Address:
    """One party of an MMS (an SMS's single party is one too)."""
    address: str
    type: int  # ADDRESS_FROM, _TO, _CC or _BCC
    charset: str | None = None  # a MIBenum, "106" for UTF-8
    contact_name: str | None = None  # the phone's contact name for it, when the app looked it up
    extras: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True, kw_only=True)
class Part:
    """One part of an MMS: the SMIL layout, a text, or an attachment whose bytes are in `data`."""
    seq: int
    content_type: str
    name: str | None = None
    charset: str | None = None
    content_disposition: str | None = None
    filename: str | None = None
    content_id: str | None = None
    content_location: str | None = None
    text: str | None = None
    data: Blob | None = None
    extras: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True, kw_only=True)
class Message:
    """An SMS or an MMS. An SMS has one address (its sender when received, else its recipient), its text in
    `body` and no parts; an MMS has its parties in `addresses` and its content in `parts`."""
    kind: str  # SMS or MMS
    box: int  # INBOX, SENT, DRAFT, OUTBOX, FAILED or QUEUED
    date_ms: int  # received, or sent
    addresses: tuple[Address, ...] = ()
    date_sent_ms: int | None = None  # the sender's time of a received message (0 when unknown)
    read: bool | None = None
    locked: bool | None = None
    status: int | None = None  # an SMS's delivery status: -1 none, 0 complete, 32 pending, 64 failed
    subject: str | None = None
    body: str | None = None
    sub_id: int | None = None  # the SIM subscription; negative when unknown
    service_center: str | None = None
    contact_name: str | None = None  # the contact name(s) the backup app looked up
    mms_type: int | None = None  # m_type: 128 sent, 132 received, 130 not yet downloaded
    mms_message_id: str | None = None  # m_id, the MMS centre's Message-ID
    mms_transaction_id: str | None = None  # tr_id
    content_type: str | None = None  # ct_t, the MMS's own type (multipart/related)
    parts: tuple[Part, ...] = ()
    extras: dict[str, str] = field(default_factory=dict)

    @property
    def incoming(self) -> bool:
        return self.box == INBOX

    @property
    def text(self) -> str:
        """What the message says: an SMS's body, or an MMS's plain-text parts in order."""
        if self.kind == SMS:
            return self.body or ""
        return "\n".join(part.text for part in self.parts if part.content_type == "text/plain" and part.text)


@dataclass(frozen=True, kw_only=True)
class Call:
    """One entry of the call log."""
    number: str | None  # None or empty for a withheld number
    date_ms: int
    duration_s: int
    type: int  # INCOMING, OUTGOING, MISSED, VOICEMAIL, REJECTED, BLOCKED or ANSWERED_EXTERNALLY
    presentation: int | None = None
    subscription_id: str | None = None  # the phone account (SIM) it went through
    contact_name: str | None = None
    extras: dict[str, str] = field(default_factory=dict)
