"""What the messages pages show, shaped for their templates: bubbles grouped by day, parts sorted into what
is shown inline (a photo, as its thumbnail, opening the original) and what is offered as a download."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from phonecloud.core.dates import DateOutOfRange, from_unix_seconds
from phonecloud.messages.models import Attachment, MessagePart, StoredMessage
from phonecloud.messages.schemas import API, CALL_TYPES, thumbnail_url
from phonecloud.messages.formats.records import INBOX

_HIDDEN_PARTS = ("application/smil",)  # the MMS's layout, not content a person reads


@dataclass(frozen=True)
class Attached:
    name: str
    url: str
    size: int
    content_type: str
    thumbnail: str | None  # a photo's: shown inline (the page offers the download instead if it fails)


@dataclass
class Bubble:
    incoming: bool
    moment: dt.datetime | None
    sender: str | None  # in a group conversation: who wrote it
    subject: str | None
    text: str
    attachments: list[Attached] = field(default_factory=list)


@dataclass
class Day:
    day: dt.date | None
    bubbles: list[Bubble]


def moment_of(date_ms: int) -> dt.datetime | None:
    """The record's time in UTC (the page shows it in the reader's own zone), None outside 1900-2200."""
    try:
        return from_unix_seconds(date_ms / 1000)
    except DateOutOfRange:
        return None


def _attached(part: MessagePart, attachment: Attachment) -> Attached:
    name = part.filename or part.name or part.content_location or f"part {part.seq}"
    return Attached(name, f"{API}/parts/{part.id}/data", attachment.size_bytes, part.content_type,
                    thumbnail_url(part, attachment))


def bubble(message: StoredMessage, parts: list[tuple[MessagePart, Attachment | None]], sender: str | None) -> Bubble:
    texts, attached = [], []
    for part, attachment in parts:
        kind = part.content_type.lower()
        if kind in _HIDDEN_PARTS:
            continue
        if kind == "text/plain" and part.text:
            texts.append(part.text)
        elif attachment is not None:
            attached.append(_attached(part, attachment))
    text = (message.body or "") if message.kind == "sms" else "\n".join(texts)
    return Bubble(message.box == INBOX, moment_of(message.date_ms), sender, message.subject, text, attached)


def days(bubbles: list[Bubble]) -> list[Day]:
    """Oldest first, as a phone shows a conversation, with a heading for each day."""
    grouped: list[Day] = []
    for one in bubbles:
        day = one.moment.date() if one.moment else None
        if not grouped or grouped[-1].day != day:
            grouped.append(Day(day, []))
        grouped[-1].bubbles.append(one)
    return grouped


def duration(seconds: int) -> str:
    minutes, seconds = divmod(max(seconds, 0), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{seconds:02d}" if hours else f"{minutes}:{seconds:02d}"


def known(name: str | None) -> str | None:
    """A contact's name, or None where the backup app wrote its placeholder for a number with no contact."""
    return None if not name or name.strip() in ("(Unknown)", "null") else name


def call_type(code: int) -> str:
    return CALL_TYPES.get(code, f"type {code}")


FILTERS = {"duration": duration, "call_type": call_type, "known": known}
