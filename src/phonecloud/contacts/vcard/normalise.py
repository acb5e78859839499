"""A card's logical lines, of any version, to canonical vCard 3.0 properties: decoded (QP with its CHARSET,
base64), re-escaped from 2.1's rules, tidied. Nothing the source had is dropped but VERSION, ENCODING and
CHARSET (which the canonical text makes moot) and lines that are not properties at all."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from phonecloud.contacts.vcard import media
from phonecloud.contacts.vcard.charsets import decode_quoted_printable, decode_text
from phonecloud.contacts.vcard.errors import VCardError
from phonecloud.contacts.vcard.limits import MAX_HEAD_BYTES
from phonecloud.contacts.vcard.logical import LogicalLine
from phonecloud.contacts.vcard.properties import Property, content_line, parse_head
from phonecloud.contacts.vcard.tidy import read_params, tidy
from phonecloud.contacts.vcard.values import escape, from_21

_VALID_NAME = re.compile(r"[A-Za-z0-9_-]+")
_VALID_GROUP = re.compile(r"[A-Za-z0-9_-]*")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_CONTROL_OR_BREAK = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")
_LINE_BREAK = re.compile(r"\r\n|\r|\n")
_SKIPPED = {"BEGIN", "END", "VERSION"}


@dataclass
class CardSource:
    """One card's lines as read, with the cards nested in it (2.1's AGENT) in their place."""
    line: int
    items: list[LogicalLine | CardSource] = field(default_factory=list)
    size: int = 0


def version_of(source: CardSource) -> str:
    """'2.1', '3.0' or '4.0': as declared (anywhere in the card), else 2.1 when it uses 2.1's encodings."""
    lines = [item for item in source.items if isinstance(item, LogicalLine)]
    for item in lines:
        if item.name == "VERSION":
            declared = item.value.strip().decode("ascii", "replace")
            return "4.0" if declared.startswith("4") else "3.0" if declared.startswith("3") else "2.1"
    heads = b";".join(item.data[:item.colon].upper() for item in lines if item.colon > 0)
    return "2.1" if b"QUOTED-PRINTABLE" in heads or b"BASE64" in heads else "3.0"


def properties_of(source: CardSource, from_text: bool) -> list[Property]:
    """from_text: the card came as text (parse_card), so values not in QP are UTF-8 whatever CHARSET says."""
    version = version_of(source)
    props: list[Property] = []
    for item in source.items:
        if isinstance(item, CardSource):
            _attach_agent(props, item, from_text)
            continue
        prop = _property(item, version, from_text)
        if prop is not None:
            props.append(prop)
    return props


def _property(item: LogicalLine, version: str, from_text: bool) -> Property | None:
    if item.colon <= 0:
        return None
    if item.colon > MAX_HEAD_BYTES:
        raise VCardError(item.line, f"a property name and parameters longer than {MAX_HEAD_BYTES} bytes")
    group, name, raw_params = parse_head(decode_text(item.data[:item.colon]), item.line)
    if name in _SKIPPED or not _VALID_NAME.fullmatch(name) or not _VALID_GROUP.fullmatch(group):
        return None
    params, encoding, charset = read_params(raw_params)
    raw = _value_bytes(item, version)
    prop = Property(name, "", params, group, item.line)
    if encoding in ("B", "BASE64"):
        prop.data = media.decode_base64(raw, item.line, name)
        return tidy(prop)
    if encoding == "QUOTED-PRINTABLE":
        text = decode_text(decode_quoted_printable(raw), charset)
    else:
        text = decode_text(raw, None if from_text else charset)
    if _CONTROL_OR_BREAK.search(text):
        text = _CONTROL.sub("", text)
        if version != "2.1":  # a 3.0/4.0 value with real line breaks (QP-decoded, or a raw break in the file)
            text = _LINE_BREAK.sub(r"\\n", text)
    prop.value = from_21(name, text) if version == "2.1" else text
    return tidy(prop)


def _value_bytes(item: LogicalLine, version: str) -> bytes:
    """The value; vCard 2.1 keeps the whitespace of a fold (the versit 2.1 specification); 3.0 and 4.0 drop
    it."""
    start = item.colon + 1
    if version != "2.1" or not item.folds:
        return item.data[start:]
    pieces, at = [], start
    for fold in item.folds:
        offset = fold >> 1
        if offset >= start:
            pieces += [item.data[at:offset], b"\t" if fold & 1 else b" "]
            at = offset
    pieces.append(item.data[at:])
    return b"".join(pieces)


def _attach_agent(props: list[Property], nested: CardSource, from_text: bool) -> None:
    """2.1 writes an AGENT's card as lines after an empty AGENT; 3.0 as the AGENT's escaped text value."""
    inner = ["BEGIN:VCARD", "VERSION:3.0"] + [content_line(prop) for prop in properties_of(nested, from_text)]
    value = escape("\n".join(inner + ["END:VCARD"]))
    if props and props[-1].name == "AGENT" and not props[-1].value:
        props[-1].value = value
    else:
        props.append(Property("AGENT", value, line=nested.line))
