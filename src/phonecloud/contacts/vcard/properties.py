"""One property (content line): its name, group, parameters and value; read from a line's head, written
back as a folded content line (RFC 2425 §5.8.1: lines of at most 75 octets, never splitting a character)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from phonecloud.contacts.vcard.errors import VCardError
from phonecloud.contacts.vcard.limits import MAX_PARAMETERS

Params = list[tuple[str, list[str]]]
_SEMICOLON_OUTSIDE_QUOTES = re.compile(r'"[^"]*"?|;')
_COMMA_OUTSIDE_QUOTES = re.compile(r'"[^"]*"?|,')
_NEEDS_QUOTES = re.compile(r"[;:,]")
_NOT_IN_A_NAME = re.compile(r"[^A-Za-z0-9_-]")
_LINE_BREAK = re.compile(r"\r\n|\r|\n")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_CONTROL_OR_BREAK = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")


@dataclass(slots=True)
class Property:
    name: str                                   # upper case
    value: str                                  # as written in vCard 3.0 (or 4.0): escaped, on one line
    params: Params = field(default_factory=list)  # upper-case names, in the order written
    group: str = ""                             # Apple's and Google's item1. (kept as written)
    line: int = 0                               # where it starts in the source
    data: bytes | None = None                   # a binary value (ENCODING=b), decoded

    def param(self, name: str) -> list[str]:
        return [value for key, values in self.params if key == name for value in values]

    def drop(self, *names: str) -> None:
        self.params = [(key, values) for key, values in self.params if key not in names]


def parse_head(head: str, line: int) -> tuple[str, str, list[tuple[str | None, list[str]]]]:
    """group, NAME and the parameters of a content line's head; a bare vCard 2.1 parameter (TEL;CELL) has
    no name (None) here."""
    if ";" not in head and "." not in head:
        return "", head.strip().upper(), []  # most lines: FN:, N:, NOTE:, END:
    if head.count(";") > MAX_PARAMETERS:
        raise VCardError(line, f"a property with more than {MAX_PARAMETERS} parameters")
    segments = _split(head, _SEMICOLON_OUTSIDE_QUOTES, ";") if '"' in head else head.split(";")
    group, _, name = segments[0].strip().rpartition(".")
    params: list[tuple[str | None, list[str]]] = []
    for segment in segments[1:]:
        key, equals, value = segment.strip().partition("=")
        if not equals:
            if key:
                params.append((None, [_unquoted(key)]))
            continue
        key = _NOT_IN_A_NAME.sub("", key).upper()  # a name is a token: junk around one cannot be written back
        if not key:
            continue
        values = _split(value, _COMMA_OUTSIDE_QUOTES, ",") if key != "TYPE" else value.replace('"', "").split(",")
        params.append((key, [_unquoted(item.strip()) for item in values]))
    return group, name.strip().upper(), params


def _split(text: str, pattern: re.Pattern, separator: str) -> list[str]:
    parts, start = [], 0
    for found in pattern.finditer(text):
        if found.group() == separator:
            parts.append(text[start:found.start()])
            start = found.end()
    parts.append(text[start:])
    return parts


def _unquoted(value: str) -> str:
    return value[1:-1] if len(value) >= 2 and value[0] == value[-1] == '"' else value.strip('"')


def content_line(prop: Property) -> str:
    """The property as one unfolded content line; nothing in a value or parameter can break the line."""
    head = f"{prop.group}.{prop.name}" if prop.group else prop.name
    for key, values in prop.params:
        head += f";{key}=" + ",".join(_param_value(value) for value in values)
    return f"{head}:{one_line(prop.value)}"


def one_line(value: str) -> str:
    """A value with its line breaks escaped and control characters (invalid in vCard text) removed."""
    if not _CONTROL_OR_BREAK.search(value):
        return value
    return _CONTROL.sub("", _LINE_BREAK.sub(r"\\n", value))


def _param_value(value: str) -> str:
    # A double quote cannot be written inside a parameter value but as RFC 6868's ^'.
    value = _CONTROL.sub("", _LINE_BREAK.sub(" ", value)).replace('"', "^'")
    return f'"{value}"' if _NEEDS_QUOTES.search(value) else value


def fold(line: str, width: int = 75) -> str:
    """The line folded with CRLF and a space so that no line exceeds width octets of UTF-8."""
    if len(line) <= width // 4 or len(line.encode("utf-8")) <= width:
        return line
    if line.isascii():
        pieces = [line[:width]] + [line[at:at + width - 1] for at in range(width, len(line), width - 1)]
        return "\r\n ".join(pieces)
    encoded = line.encode("utf-8")
    pieces, start, room = [], 0, width
    while start < len(encoded):
        end = min(start + room, len(encoded))
        while end < len(encoded) and encoded[end] & 0xC0 == 0x80:
            end -= 1  # never split a character's bytes
        pieces.append(encoded[start:end].decode("utf-8"))
        start, room = end, width - 1
    return "\r\n ".join(pieces)


def serialise(props: list[Property], version: str) -> str:
    lines = ["BEGIN:VCARD", f"VERSION:{version}"] + [fold(content_line(prop)) for prop in props] + ["END:VCARD"]
    return "\r\n".join(lines) + "\r\n"
