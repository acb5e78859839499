"""SMS Import / Export (github.com/tmo1/sms-ie), format version 2 (app 2.0.0 and later): read and written.

Messages are a zip (`messages-YYYY-MM-DD.zip`) whose first entry, `messages.ndjson`, holds one JSON object
per line: an SMS's or MMS's own Android columns as strings (null columns left out), SMS first. The app's
additions start with `__`: an SMS's `__display_name`; an MMS's `__sender_address` (its first address of type
137) and `__recipient_addresses` (all the others), each an object of Android's address columns plus
`__display_name`, and `__parts`, Android's part columns. A line with `m_type` is an MMS. An MMS's `date` and
`date_sent` are in seconds (as Android keeps them), an SMS's in milliseconds. Part files follow as
`data/<name>`, `name` being the last segment of the part's `_data` (its path on the phone); the app may
leave them out. The call log is not zipped: `calls-YYYY-MM-DD.json`, a JSON array of objects of Android's
call-log columns as strings, plus `display_name`. An encrypted export (`.ssef`) must be decrypted first.

Reading streams: the archive's directory is checked first (zip-slip names, encrypted or oddly compressed
entries, oversize entries, bombs: core/zipsafety.py's checks, as every archive reader's), then
messages.ndjson is read as a stream one bounded line at a time, and each attachment is copied from its
entry into a Blob when its message is read. A damaged line or entry yields every whole message before it,
then raises FormatError with its line. See docs/formats/messages.md.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import shutil
import tempfile
import zipfile
import zlib
from collections.abc import Iterable, Iterator
from typing import Any, BinaryIO

from phonecloud.core.sizes import format_size
from phonecloud.core.zipsafety import overlapping, refusal
from phonecloud.messages.formats.blobs import CHUNK_BYTES, Blob, spool
from phonecloud.messages.formats.columns import (ADDRESS_COLUMNS, CALL_COLUMNS, MMS_COLUMNS, PART_COLUMNS,
                                                 SMS_COLUMNS, Column, sms_address, sms_addresses)
from phonecloud.messages.formats.errors import FormatError
from phonecloud.messages.formats.json_array import flat_objects
from phonecloud.messages.formats.limits import (MAX_CALL_RECORD_BYTES, MAX_JSON_LINE_BYTES, MAX_NDJSON_BYTES,
                                                MAX_PART_BYTES, MAX_ZIP_MEMBERS)
from phonecloud.messages.formats.records import ADDRESS_FROM, INBOX, MMS, SMS, Address, Call, Message, Part
from phonecloud.messages.formats.sources import Source, opened, source_name

MESSAGES = "messages.ndjson"
DATA = "data/"
ENCRYPTED = b"SSEF\x00\xff"  # the app's encrypted files start so (ENCRYPTION.md in its repository)
_DISPLAY_NAME = Column("__display_name", "contact_name")
_SMS = SMS_COLUMNS.extended(_DISPLAY_NAME)
_MMS = MMS_COLUMNS.extended(_DISPLAY_NAME)
_ADDRESS = ADDRESS_COLUMNS.extended(_DISPLAY_NAME)
_CALL = CALL_COLUMNS.extended(Column("display_name", "contact_name"))
_SENDER, _RECIPIENTS, _PARTS = "__sender_address", "__recipient_addresses", "__parts"
_SAFE_NAME = re.compile(r"(?!\.)[\w.+()\- ]{1,200}")  # an attachment's file name as the writer keeps it
_FLUSH_BYTES = 1 << 20


# --- reading -------------------------------------------------------------------------------------------------

def read_messages(source: Source) -> Iterator[Message]:
    """Every SMS and MMS of a messages archive, in file order. A file object must be seekable (a zip's
    directory is at its end)."""
    with opened(source) as stream:
        name = source_name(source)
        _refuse_encrypted(stream, name)
        try:
            archive = zipfile.ZipFile(stream)
        except (zipfile.BadZipFile, OSError) as error:
            raise FormatError(f"not a zip archive, or cut short (its directory at the end is missing): {error}",
                              source=name) from None
        with archive:
            entries = _checked_entries(archive, name)
            if MESSAGES not in entries:
                raise FormatError(f"no {MESSAGES} in the archive: not an SMS Import / Export messages export "
                                  "(version 2)", source=name)
            yield from _messages(archive, entries, f"{name}: {MESSAGES}")


def _refuse_encrypted(stream: BinaryIO, name: str) -> None:
    start = stream.tell()
    magic = stream.read(len(ENCRYPTED))
    stream.seek(start)
    if magic == ENCRYPTED:
        raise FormatError("the export is encrypted (SSEF): decrypt it first, with the app or its "
                          "tools/ssef-decrypt.py", source=name)


def _checked_entries(archive: zipfile.ZipFile, source: str) -> dict[str, zipfile.ZipInfo]:
    """The archive's entries by name, once none of them could hurt a reader, or a FormatError naming one."""
    infos = archive.infolist()
    if len(infos) > MAX_ZIP_MEMBERS:
        raise FormatError(f"{len(infos)} entries, more than the {MAX_ZIP_MEMBERS} accepted", source=source)
    entries = {}
    for info in infos:
        limit = MAX_NDJSON_BYTES if info.filename == MESSAGES else MAX_PART_BYTES
        why = refusal(info, limit)
        if why is None and info.filename in entries:
            why = "a second entry of that name"
        if why:
            raise FormatError(f"entry {info.filename[:200]!r} is refused: {why}", source=source)
        entries[info.filename] = info
    _refuse_overlaps(infos, source)
    return entries


def _refuse_overlaps(infos: list[zipfile.ZipInfo], source: str) -> None:
    if overlap := overlapping(infos):
        first, second = overlap
        raise FormatError(f"entries {first.filename[:200]!r} and {second.filename[:200]!r} overlap (a zip bomb?)",
                          source=source)


def _messages(archive: zipfile.ZipFile, entries: dict[str, zipfile.ZipInfo], source: str) -> Iterator[Message]:
    line_number = 0
    record = 1
    with archive.open(entries[MESSAGES]) as lines:
        while True:
            line_number += 1
            try:
                line = _read_line(lines)
                if not line:
                    return
                if not line.strip():
                    continue
                message = _message(_json(line), archive, entries)
            except FormatError as error:
                raise error.located(source=source, line=line_number, record=record) from None
            yield message
            record += 1


def _read_line(lines) -> bytes:
    try:
        line = lines.readline(MAX_JSON_LINE_BYTES + 1)
    except (zipfile.BadZipFile, zlib.error, EOFError) as error:
        raise FormatError(f"the archive is damaged here: {error}") from None
    if len(line) > MAX_JSON_LINE_BYTES:
        raise FormatError(f"a line longer than {format_size(MAX_JSON_LINE_BYTES)}")
    return line


def _json(line: bytes) -> dict[str, Any]:
    try:
        value = json.loads(line)
    except UnicodeDecodeError as error:
        raise FormatError(f"invalid UTF-8: {error.reason}") from None
    except json.JSONDecodeError as error:
        raise FormatError(f"invalid JSON: {error.msg} (column {error.colno})") from None
    except RecursionError:
        raise FormatError("JSON nested too deeply") from None
    if not isinstance(value, dict):
        raise FormatError("a line that is not a JSON object")
    return value


def _strings(value: Any, label: str, structured: tuple[str, ...] = ()) -> dict[str, str]:
    """The string values of a JSON object (nulls left out), refusing anything else but `structured`."""
    if not isinstance(value, dict):
        raise FormatError(f"{label} is not a JSON object")
    strings = {}
    for key, item in value.items():
        if isinstance(item, str) and key not in structured:
            strings[key] = item
        elif item is not None and key not in structured:
            raise FormatError(f"{label} has {key!r} as {type(item).__name__}, where the app writes strings")
    return strings


def _items(line: dict[str, Any], key: str) -> list:
    """The array under `key` (none: empty)."""
    value = line.get(key)
    if value is not None and not isinstance(value, list):
        raise FormatError(f"{key} is not a JSON array")
    return value or []


def _message(line: dict[str, Any], archive: zipfile.ZipFile, entries: dict[str, zipfile.ZipInfo]) -> Message:
    if "m_type" not in line:
        values = _strings(line, "an SMS")
        address = values.pop("address", None)
        fields, extras = _SMS.decode(values, "an SMS")
        return Message(kind=SMS, addresses=sms_addresses(address, fields["box"]), **fields, extras=extras)
    fields, extras = _MMS.decode(_strings(line, "an MMS", (_SENDER, _RECIPIENTS, _PARTS)), "an MMS")
    addresses = [line[_SENDER]] if line.get(_SENDER) is not None else []
    addresses += _items(line, _RECIPIENTS)
    parts = [_part(part, archive, entries) for part in _items(line, _PARTS)]
    return Message(kind=MMS, addresses=tuple(map(_address, addresses)), parts=tuple(parts), **fields,
                   extras=extras)


def _address(value: Any) -> Address:
    fields, extras = _ADDRESS.decode(_strings(value, "an MMS address"), "an MMS address")
    return Address(**fields, extras=extras)


def _part(value: Any, archive: zipfile.ZipFile, entries: dict[str, zipfile.ZipInfo]) -> Part:
    fields, extras = PART_COLUMNS.decode(_strings(value, "an MMS part"), "an MMS part")
    phone_path = extras.get("_data")  # kept in extras: the part's path on the phone, named in the zip
    name = phone_path.rsplit("/", 1)[-1] if phone_path else ""
    entry = entries.get(DATA + name) if name else None
    return Part(**fields, data=None if entry is None else _attachment(archive, entry), extras=extras)


def _attachment(archive: zipfile.ZipFile, entry: zipfile.ZipInfo) -> Blob:
    try:
        with archive.open(entry) as stream:
            return spool(stream, MAX_PART_BYTES)
    except (zipfile.BadZipFile, zlib.error, EOFError) as error:
        raise FormatError(f"the attachment {entry.filename[:200]!r} is damaged: {error}") from None


def read_calls(source: Source) -> Iterator[Call]:
    """Every call of a call-log file (`calls-*.json`), in file order. A file object must be seekable."""
    with opened(source) as stream:
        name = source_name(source)
        _refuse_encrypted(stream, name)
        record = 1
        try:
            for value, line in flat_objects(stream, MAX_CALL_RECORD_BYTES):
                try:
                    fields, extras = _CALL.decode(_strings(value, "a call"), "a call")
                except FormatError as error:
                    raise FormatError(error.problem, line=line) from None
                yield Call(**fields, extras=extras)
                record += 1
        except FormatError as error:
            raise error.located(source=name, line=None, record=record) from None


# --- writing -------------------------------------------------------------------------------------------------

def write_messages(messages: Iterable[Message], out: BinaryIO, *, modified: dt.datetime | None = None) -> int:
    """Writes a messages archive as the app does (messages.ndjson, then the attachments in data/); returns
    how many messages it holds. Attachments wait in a temporary folder until messages.ndjson is complete,
    since the app reads them after it (those kept elsewhere, Blob.kept_elsewhere, are read from there).
    `out` need not seek. `modified`: the entries' time (default now), so the same messages can make the
    same bytes."""
    stamp = (modified or dt.datetime.now(dt.UTC)).timetuple()[:6]
    with tempfile.TemporaryDirectory(prefix="phonecloud-sms-ie-") as waiting, \
            zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        attachments = _Attachments(waiting)
        count = 0
        with archive.open(_entry(MESSAGES, stamp), "w", force_zip64=True) as ndjson:
            pending = bytearray()
            for message in messages:
                pending += json.dumps(_message_json(message, attachments), ensure_ascii=False,
                                      separators=(",", ":")).encode("utf-8", "replace") + b"\n"
                count += 1
                if len(pending) >= _FLUSH_BYTES:
                    ndjson.write(pending)
                    pending = bytearray()
            ndjson.write(pending)
        for name, blob in attachments.files:
            with archive.open(_entry(DATA + name, stamp), "w", force_zip64=True) as entry, blob.open() as data:
                shutil.copyfileobj(data, entry, CHUNK_BYTES)
    return count


def _entry(name: str, stamp: tuple[int, ...]) -> zipfile.ZipInfo:
    entry = zipfile.ZipInfo(name, max(stamp, (1980, 1, 1, 0, 0, 0)))  # a zip's clock starts in 1980
    entry.compress_type = zipfile.ZIP_DEFLATED
    return entry


class _Attachments:
    """The attachments to write after messages.ndjson, each under a name of its own, kept on disk."""

    def __init__(self, folder: str):
        self.folder = folder
        self.files: list[tuple[str, Blob]] = []
        self._names: set[str] = set()

    def add(self, part: Part) -> str | None:
        """The name the part's data is written under, when it differs from its `_data`'s last segment."""
        phone_path = part.extras.get("_data")
        name = phone_path.rsplit("/", 1)[-1] if phone_path else ""
        renamed = not _SAFE_NAME.fullmatch(name) or name in self._names
        if renamed:
            hint = next((text for text in (part.content_location, part.filename, part.name)
                         if text and _SAFE_NAME.fullmatch(text)), "data")
            name = f"PART_{len(self.files)}_{hint}"
            while name in self._names:
                name = "_" + name
        self._names.add(name)
        self.files.append((name, part.data.on_disk(self.folder)))
        return name if renamed else None


def _present(values: dict[str, str | None]) -> dict[str, str]:
    return {key: value for key, value in values.items() if value is not None}


def _message_json(message: Message, attachments: _Attachments) -> dict[str, Any]:
    if message.kind == SMS:
        columns = _present({"address": sms_address(message), **_SMS.encode(message)})
        return _app_fields_last(columns, message.extras)
    line = _app_fields_last(_present(_MMS.encode(message)), message.extras)
    # The app tells an MMS by its m_type: one the record lacks is the usual one for its box.
    line.setdefault("m_type", "132" if message.box == INBOX else "128")
    sender = next((index for index, address in enumerate(message.addresses) if address.type == ADDRESS_FROM),
                  None)
    if sender is not None:
        line[_SENDER] = _address_json(message.addresses[sender])
    if message.addresses:
        line[_RECIPIENTS] = [_address_json(address) for index, address in enumerate(message.addresses)
                             if index != sender]
    if message.parts:
        line[_PARTS] = [_part_json(part, attachments) for part in message.parts]
    return line


def _app_fields_last(columns: dict[str, str], extras: dict[str, str]) -> dict[str, str]:
    """Android's columns, then the extras, then the app's `__display_name`, as the app orders them."""
    display_name = columns.pop("__display_name", None)
    line = {**columns, **extras}
    if display_name is not None:
        line["__display_name"] = display_name
    return line


def _address_json(address: Address) -> dict[str, str]:
    return _app_fields_last(_present(_ADDRESS.encode(address)), address.extras)


def _part_json(part: Part, attachments: _Attachments) -> dict[str, str]:
    line = {**_present(PART_COLUMNS.encode(part)), **part.extras}
    if part.data is not None and (name := attachments.add(part)) is not None:
        line["_data"] = name  # the app finds a part's file by the last segment of `_data`
    return line


def write_calls(calls: Iterable[Call], out: BinaryIO) -> int:
    """Writes a call-log file as the app does (a JSON array indented by two spaces); returns the count."""
    count = 0
    for call in calls:
        line = {**_present(_CALL.encode(call)), **call.extras}
        contact_name = line.pop("display_name", None)
        if contact_name is not None:
            line["display_name"] = contact_name
        fields = ",\n".join(f"    {json.dumps(key, ensure_ascii=False)}: {json.dumps(value, ensure_ascii=False)}"
                            for key, value in line.items())
        out.write(("[\n" if count == 0 else ",\n").encode() + f"  {{\n{fields}\n  }}".encode("utf-8", "replace"))
        count += 1
    out.write(b"\n]" if count else b"[]")
    return count
