"""SMS Backup & Restore (SyncTech), the most used Android backup app: its XML files, read and written.

Messages: `<smses>` holding `<sms .../>` and `<mms ...><parts><part .../></parts><addrs><addr .../></addrs>
</mms>`; calls: `<calls>` holding `<call .../>`. Every value is an attribute, copied from Android's columns
as a string; the literal `null` is an absent value. `count` and `readable_date` are written for people and
progress bars, and never trusted. An MMS's `date` is in milliseconds (the app converts it), its `date_sent`
in seconds (as Android keeps it); attachments are base64 in `data`. Files from before the app wrote
`<addrs>` name an MMS's parties in its `address` attribute, joined by '~'.

Reading streams in bounded memory whatever the file's size: the bytes are checked and repaired on the way
(xml_bytes: emoji written as surrogate references, invalid UTF-8, overlong tags), then parsed by expat
through defusedxml, which refuses any DTD (so no entity expansion and no external entity), one record at a
time, keeping nothing but the record being read. A damaged or cut file yields every whole record before
the damage, then raises FormatError saying where and why it stopped. See docs/formats/messages.md.
"""

from __future__ import annotations

import base64
import datetime as dt
import re
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import BinaryIO
from xml.parsers.expat import ErrorString, ExpatError

from defusedxml import DefusedXmlException

from phonecloud.messages.formats.blobs import Blob
from phonecloud.messages.formats.columns import (ADDRESS_COLUMNS, CALL_COLUMNS, MILLIS, MMS_COLUMNS,
                                                 PART_COLUMNS, SMS_COLUMNS, Column, sms_address, sms_addresses)
from phonecloud.messages.formats.errors import FormatError
from phonecloud.messages.formats.limits import MAX_XML_DEPTH
from phonecloud.messages.formats.records import (ADDRESS_FROM, ADDRESS_TO, INBOX, MMS, OWN_NUMBER_TOKEN, SMS,
                                                 Address, Call, Message, Part)
from phonecloud.messages.formats.sources import Source, opened, source_name
from phonecloud.messages.formats.lifting import Base64Decoder, Lifted
from phonecloud.messages.formats.xml_bytes import checked_xml, defused_expat

_CONTACT_NAME = Column("contact_name", "contact_name")
_SMS = SMS_COLUMNS.extended(_CONTACT_NAME)
_MMS = MMS_COLUMNS.extended(Column("date", "date_ms", MILLIS, required=True), _CONTACT_NAME)
_CALL = CALL_COLUMNS.extended(_CONTACT_NAME)
NULL = "null"  # how the app writes an absent value
_BASE64_SLICE = 1 << 20  # characters of an attachment's base64 decoded at a time


# --- reading -------------------------------------------------------------------------------------------------

def read_messages(source: Source) -> Iterator[Message]:
    """Every SMS and MMS of a messages file (`sms-*.xml`), in file order."""
    return _read(source, "smses")


def read_calls(source: Source) -> Iterator[Call]:
    """Every call of a call-log file (`calls-*.xml`), in file order."""
    return _read(source, "calls")


def _read(source: Source, root: str) -> Iterator:
    with opened(source) as stream:
        lifted = Lifted()
        handler = _Handler(root, lifted)
        parser = defused_expat(handler.start, handler.end)
        handler.parser = parser
        try:
            for piece in checked_xml(stream, lifted):
                parser.Parse(piece, False)
                lifted.settle()
                yield from handler.take()
            if handler.open_elements:
                record = handler.open_elements[1 if len(handler.open_elements) > 1 else 0]
                raise FormatError(f"the file ends inside <{record}>: it was cut short", line=parser.CurrentLineNumber)
            parser.Parse(b"", True)
        except FormatError as error:
            stopped = error
        except ExpatError as error:
            stopped = FormatError(f"not well-formed XML: {ErrorString(error.code)}", line=error.lineno)
        except DefusedXmlException:
            stopped = FormatError("a document type declaration (<!DOCTYPE>) is not accepted: entity expansion "
                                  "and external entities start there, and no backup has one",
                                  line=parser.CurrentLineNumber)
        else:
            yield from handler.take()
            return
        yield from handler.take()  # the records that were whole before the damage
        raise stopped.located(source=source_name(source), line=None, record=handler.completed + 1)


class _Handler:
    """Turns the parser's events into records, each one once it is whole; take() hands them out. Absent
    values (the literal `null`) are left out where the records are built (columns.Table.decode)."""

    def __init__(self, root: str, lifted: Lifted):
        self._root = root
        self._lifted = lifted
        self.parser = None
        self.open_elements: list[str] = []
        self.completed = 0  # records made whole so far
        self._ready: list = []
        self._values: dict[str, str] = {}  # the attributes of the record being read
        self._parts: list[Part] = []
        self._addresses: list[Address] | None = None  # None while the MMS has shown no <addrs>
        self._record_ends = {"calls": {"call": _call}, "smses": {"sms": _sms, "mms": self._mms}}[root]

    def take(self) -> list:
        ready, self._ready = self._ready, []
        return ready

    def start(self, name: str, attributes: dict[str, str]) -> None:
        where = self.open_elements
        depth = len(where)
        if depth == 1:
            self._values, self._parts, self._addresses = attributes, [], None
        elif depth == 0:
            if name != self._root:
                kind = "messages" if self._root == "smses" else "call-log"
                raise self._here(FormatError(f"the document is <{name}>, not <{self._root}>: not an SMS Backup & "
                                             f"Restore {kind} file"))
        elif depth >= MAX_XML_DEPTH:
            raise self._here(FormatError(f"elements are nested more than {MAX_XML_DEPTH} deep"))
        elif where[1] == "mms" and self._root == "smses":
            if depth == 2 and name == "addrs":
                self._addresses = []
            elif depth == 3 and name == "part" and where[2] == "parts":
                self._parts.append(self._built(self._part, attributes))
            elif depth == 3 and name == "addr" and where[2] == "addrs" and self._addresses is not None:
                self._addresses.append(self._built(_address, attributes))
        where.append(name)

    def end(self, name: str) -> None:
        where = self.open_elements
        where.pop()
        if len(where) != 1:
            return
        build = self._record_ends.get(name)
        if build is None:
            return  # an element the app does not write: skipped
        self._ready.append(self._built(build, self._values))
        self.completed += 1

    def _mms(self, values: dict[str, str]) -> Message:
        return _mms(values, self._parts, self._addresses)

    def _part(self, values: dict[str, str]) -> Part:
        data = _present(values, "data")
        fields, extras = PART_COLUMNS.decode(values, "an MMS part", null=NULL)
        if data is not None:
            data = self._lifted.take(data) or _decoded(data)
        return Part(**fields, data=data, extras=extras)

    def _built(self, build, *arguments):
        try:
            return build(*arguments)
        except FormatError as error:
            raise self._here(error) from None

    def _here(self, error: FormatError) -> FormatError:
        return FormatError(error.problem, line=self.parser.CurrentLineNumber)


def _without_derived_date(extras: dict[str, str], date_ms: int) -> dict[str, str]:
    """The extras less a `readable_date` that says nothing the date does not: one the writer would write
    anyway. One that says more (the phone's time zone and language) is kept. So writing a record read
    without one, and reading it again, changes nothing."""
    if extras.get("readable_date") == _readable_date(date_ms):
        del extras["readable_date"]
    return extras


def _present(values: dict[str, str], name: str) -> str | None:
    """The attribute taken out of `values`; None when it is absent or null."""
    value = values.pop(name, None)
    return None if value == NULL else value


def _sms(values: dict[str, str]) -> Message:
    address = _present(values, "address")
    fields, extras = _SMS.decode(values, "<sms>", null=NULL)
    extras = _without_derived_date(extras, fields["date_ms"])
    return Message(kind=SMS, addresses=sms_addresses(address, fields["box"]), **fields, extras=extras)


def _mms(values: dict[str, str], parts: list[Part], addresses: list[Address] | None) -> Message:
    fields, extras = _MMS.decode(values, "<mms>", null=NULL)
    extras = _without_derived_date(extras, fields["date_ms"])
    if addresses is None:
        addresses = _parties(extras.get("address"), fields["box"])
    if "address" in extras and extras["address"] == _parties_attribute(addresses):
        del extras["address"]  # the writer makes it of the addresses anyway; one that differs is kept
    return Message(kind=MMS, addresses=tuple(addresses), parts=tuple(parts), **fields, extras=extras)


def _parties(address: str | None, box: int) -> list[Address]:
    """An old file's MMS parties, from `address`: the sender first when it was received, else recipients."""
    numbers = address.split("~") if address else []
    return [Address(address=number, type=ADDRESS_FROM if box == INBOX and index == 0 else ADDRESS_TO)
            for index, number in enumerate(numbers)]


def _parties_attribute(addresses: Iterable[Address]) -> str | None:
    """What the writer puts in an MMS's `address` when the record has none: its parties joined by '~'."""
    return "~".join(address.address for address in addresses if address.address != OWN_NUMBER_TOKEN) or None


def _decoded(text: str) -> Blob:
    """Base64 (Android may break its lines) decoded a slice at a time into a Blob: a value the parser saw
    whole, as one not lifted (formats/lifting.py) is."""
    decoder = Base64Decoder()
    for start in range(0, len(text), _BASE64_SLICE):
        piece = "".join(text[start:start + _BASE64_SLICE].split())
        if not piece.isascii():
            decoder.fail("it holds characters other than ASCII")
        decoder.feed(piece.encode("ascii"))
    return decoder.finish()


def _address(values: dict[str, str]) -> Address:
    fields, extras = ADDRESS_COLUMNS.decode(values, "an MMS address", null=NULL)
    return Address(**fields, extras=extras)


def _call(values: dict[str, str]) -> Call:
    fields, extras = _CALL.decode(values, "<call>", null=NULL)
    return Call(**fields, extras=_without_derived_date(extras, fields["date_ms"]))


# --- writing -------------------------------------------------------------------------------------------------

# Attributes in the order the app writes them. Those missing from a record are written as the literal null,
# as the app writes a null column, except the OPTIONAL ones that older versions leave out.
_SMS_ORDER = ("protocol", "address", "date", "type", "subject", "body", "toa", "sc_toa", "service_center",
              "read", "status", "locked", "date_sent", "sub_id")
_MMS_ORDER = ("date", "rr", "sub", "ct_t", "read_status", "seen", "msg_box", "address", "sub_cs", "resp_st",
              "retr_st", "d_tm", "text_only", "exp", "locked", "m_id", "st", "retr_txt_cs", "retr_txt",
              "creator", "date_sent", "read", "m_size", "rpt_a", "ct_cls", "pri", "sub_id", "tr_id", "resp_txt",
              "ct_l", "m_cls", "d_rpt", "v", "m_type")
_PART_ORDER = ("seq", "ct", "name", "chset", "cd", "fn", "cid", "cl", "ctt_s", "ctt_t", "text")
_ADDRESS_ORDER = ("address", "type", "charset")
_CALL_ORDER = ("number", "duration", "date", "type", "presentation", "subscription_id", "post_dial_digits",
               "subscription_component_name")
_OPTIONAL = {"date_sent", "sub_id", "subscription_id", "post_dial_digits", "subscription_component_name"}
_COUNT_DIGITS = 20  # room kept for `count` when it is written last, over the placeholder
_FLUSH_CHARS = 1 << 20
_ESCAPES = {"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "\n": "&#10;", "\r": "&#13;", "\t": "&#9;",
            "\ufffe": "\ufffd", "\uffff": "\ufffd"}  # two noncharacters XML cannot hold at all
_TO_ESCAPE = re.compile('[&<>"\x00-\x1f\ufffe\uffff]')
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def write_messages(messages: Iterable[Message], out: BinaryIO, *, count: int | None = None,
                   backup: BackupStamp | None = None) -> int:
    """Writes a messages file as the app does; returns how many messages it holds. `count` is written first
    in the file, as the app writes it: without it, `out` must be seekable, and the count is written over a
    placeholder at the end; with it, a different number of messages is a ValueError (after writing).
    `backup`: the file's backup_set and backup_date (default: a new set, now)."""
    return _write(out, "smses", count, map(_message_xml, messages), backup)


def write_calls(calls: Iterable[Call], out: BinaryIO, *, count: int | None = None,
                backup: BackupStamp | None = None) -> int:
    """Writes a call-log file as the app does; `count` and `backup` as for write_messages."""
    return _write(out, "calls", count, map(_call_xml, calls), backup)


@dataclass(frozen=True)
class BackupStamp:
    """What names one backup in the app's files: its set (a UUID the app makes per backup run) and its time
    in milliseconds. Given, the same records make the same bytes."""
    backup_set: str
    backup_date_ms: int


class _Output:
    """Text written to a binary stream in large UTF-8 pieces."""

    def __init__(self, stream: BinaryIO):
        self.stream = stream
        self._pending: list[str] = []
        self._chars = 0

    def write(self, text: str) -> None:
        self._pending.append(text)
        self._chars += len(text)
        if self._chars >= _FLUSH_CHARS:
            self.flush()

    def flush(self) -> None:
        # A lone surrogate becomes a reference, as Android writes it; readers turn it into U+FFFD.
        self.stream.write("".join(self._pending).encode("utf-8", "xmlcharrefreplace"))
        self._pending, self._chars = [], 0


def _write(stream: BinaryIO, root: str, count: int | None, records: Iterable[Iterator[str]],
           backup: BackupStamp | None) -> int:
    if count is None and not stream.seekable():
        raise ValueError("give the count, or an output that can seek back to write it")
    out = _Output(stream)
    out.write("<?xml version='1.0' encoding='UTF-8' standalone='yes' ?>\n<!--File Created By phonecloud-->\n"
              f"<{root} ")
    out.flush()
    count_at = stream.tell() if count is None else None
    out.write(f'count="{count}"' if count is not None else 'count="0"' + " " * (_COUNT_DIGITS - 1))
    backup = backup or BackupStamp(str(uuid.uuid4()), int(dt.datetime.now(dt.UTC).timestamp() * 1000))
    out.write(f' backup_set="{_escaped(backup.backup_set)}" backup_date="{backup.backup_date_ms}" type="full">\n')
    written = 0
    for pieces in records:
        for piece in pieces:
            out.write(piece)
        written += 1
    out.write(f"</{root}>\n")
    out.flush()
    if count_at is not None:
        end = stream.tell()
        stream.seek(count_at)
        stream.write(f'count="{written}"'.ljust(len('count=""') + _COUNT_DIGITS).encode())
        stream.seek(end)
    elif written != count:
        raise ValueError(f"count={count} was given, but {written} records were written")
    return written


def _message_xml(message: Message) -> Iterator[str]:
    if message.kind == SMS:
        values = {**_SMS.encode(message), "address": sms_address(message), **message.extras}
        yield f"  <sms{_attributes(_people_last(values, message.date_ms), _SMS_ORDER)} />\n"
        return
    values = {**_MMS.encode(message), **message.extras}
    values.setdefault("address", _parties_attribute(message.addresses))
    yield f"  <mms{_attributes(_people_last(values, message.date_ms), _MMS_ORDER)}>\n    <parts>\n"
    for part in message.parts:
        yield from _part_xml(part)
    yield "    </parts>\n    <addrs>\n"
    for address in message.addresses:
        values = {**ADDRESS_COLUMNS.encode(address), **address.extras}
        yield f"      <addr{_attributes(values, _ADDRESS_ORDER)} />\n"
    yield "    </addrs>\n  </mms>\n"


def _part_xml(part: Part) -> Iterator[str]:
    attributes = _attributes({**PART_COLUMNS.encode(part), **part.extras}, _PART_ORDER)
    if part.data is None:
        yield f"      <part{attributes} />\n"
        return
    yield f'      <part{attributes} data="'
    for chunk in part.data.chunks(3 * (1 << 18)):  # a multiple of 3 bytes: the pieces join into one base64
        yield base64.b64encode(chunk).decode("ascii")
    yield '" />\n'


def _call_xml(call: Call) -> Iterator[str]:
    values = {**_CALL.encode(call), **call.extras}
    yield f"  <call{_attributes(_people_last(values, call.date_ms), _CALL_ORDER)} />\n"


def _people_last(values: dict[str, str | None], date_ms: int) -> dict[str, str | None]:
    """`values` ending with readable_date (the one read, else made from the date) and contact_name, as the
    app ends every record."""
    readable = values.pop("readable_date", None) or _readable_date(date_ms)
    values["readable_date"] = readable
    values["contact_name"] = values.pop("contact_name", None)
    return values


def _readable_date(date_ms: int) -> str:
    """The app's English default, in UTC: the phone's time zone is not in the file."""
    try:
        when = dt.datetime.fromtimestamp(date_ms / 1000, dt.UTC)
    except (OverflowError, ValueError, OSError):
        return "null"
    hour = when.hour % 12 or 12
    return (f"{_MONTHS[when.month - 1]} {when.day}, {when.year} {hour}:{when.minute:02}:{when.second:02} "
            f"{'AM' if when.hour < 12 else 'PM'}")


def _attributes(values: dict[str, str | None], order: tuple[str, ...]) -> str:
    """`order` first (a missing value as null, an OPTIONAL one left out), then the others in their order."""
    ordered = [(name, values.get(name)) for name in order]
    ordered += [(name, value) for name, value in values.items() if name not in order]
    return "".join(f' {name}="{"null" if value is None else _escaped(value)}"' for name, value in ordered
                   if value is not None or (name in order and name not in _OPTIONAL))


def _escaped(value: str) -> str:
    return _TO_ESCAPE.sub(lambda match: _ESCAPES.get(match.group(), f"&#{ord(match.group())};"), value)
