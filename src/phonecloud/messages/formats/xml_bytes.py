"""The bytes of an SMS Backup & Restore file on their way to the XML parser, checked and repaired in one
streaming pass, in constant memory, before the parser sees them:

- Emoji that Android's XML serializer wrote as two UTF-16 surrogate references (`&#55357;&#56832;`), which
  XML forbids and strict parsers reject, become the one reference XML allows (`&#x1F600;`). A lone half,
  and a reference to a control character that XML 1.0 cannot carry (`&#27;`), become U+FFFD.
- Invalid UTF-8, or a declared encoding other than UTF-8 (the app writes UTF-8 only), stops reading.
- No tag (nor the text between two) may be longer than MAX_MARKUP_BYTES: the parser keeps a whole tag in
  memory before it reports it.
- MMS attachments are lifted out on the way (formats/lifting.py): decoded as they stream by, while the
  parser sees a short placeholder.

The parser they go to is pyexpat itself, with defusedxml's guards (defused_expat): Python's SAX layer over
it costs more per record than the parsing does.
"""

from __future__ import annotations

import codecs
import re
from collections.abc import Callable, Iterator
from typing import BinaryIO
from xml.parsers import expat

from defusedxml import DTDForbidden, EntitiesForbidden, ExternalReferenceForbidden

from phonecloud.core.sizes import format_size
from phonecloud.messages.formats.errors import FormatError
from phonecloud.messages.formats.lifting import Lifted, Lifter
from phonecloud.messages.formats.limits import MAX_MARKUP_BYTES, MAX_PART_BYTES

_CHUNK_BYTES = 1 << 16  # far below MAX_MARKUP_BYTES, so only a gap that spans chunks can exceed it
# Numeric references XML refuses: surrogates (55296-57343, D800-DFFF) and control characters other than
# tab, line feed and carriage return. The patterns are wider at the edges; the code checks the number.
_DECIMAL = rb"[0-8]|1[124-9]|2[0-9]|3[01]|5[5-7][0-9]{3}"
_HEX = rb"0*(?:[0-8bcefBCEF]|1[0-9a-fA-F])|[dD][89a-fA-F][0-9a-fA-F]{2}"
_REFUSED_REFERENCE = re.compile(rb"&#(?:(" + _DECIMAL + rb")|[xX](" + _HEX + rb"));")
_LONGEST_REFERENCE = 8  # "&#55357;" and "&#xD83D;": a reference that may still be cut is shorter
_REPLACEMENT = b"&#xFFFD;"
_PROLOG_BYTES = 256  # an XML declaration, which must open the file, is shorter
_DECLARED_ENCODING = re.compile(rb"\A(?:\xef\xbb\xbf)?\s*<\?xml[^>]*?\sencoding\s*=\s*[\"']([A-Za-z0-9._-]+)[\"']")


def _number(match: re.Match) -> int:
    decimal, hexadecimal = match.groups()
    return int(decimal) if decimal is not None else int(hexadecimal, 16)


def _is_high(value: int) -> bool:
    return 0xD800 <= value <= 0xDBFF


def _repaired_references(data: bytes) -> bytes:
    """`data` with surrogate pairs joined and refused references replaced (see the module's docstring)."""
    if b"&#" not in data:
        return data
    pieces = []
    done = 0  # data[:done] is in pieces
    high = None  # a high surrogate's match and number, waiting for its low half
    for match in _REFUSED_REFERENCE.finditer(data):
        value = _number(match)
        if high is not None:
            high_match, high_value = high
            high = None
            if 0xDC00 <= value <= 0xDFFF and high_match.end() == match.start():
                joined = 0x10000 + ((high_value - 0xD800) << 10) + (value - 0xDC00)
                pieces += [data[done:high_match.start()], b"&#x%X;" % joined]
                done = match.end()
                continue
            pieces += [data[done:high_match.start()], _REPLACEMENT]
            done = high_match.end()
        if _is_high(value):
            high = (match, value)
        elif value < 0x20 or 0xDC00 <= value <= 0xDFFF:
            pieces += [data[done:match.start()], _REPLACEMENT]
            done = match.end()
    if high is not None:
        pieces += [data[done:high[0].start()], _REPLACEMENT]
        done = high[0].end()
    pieces.append(data[done:])
    return b"".join(pieces)


def _settled(data: bytes) -> int:
    """How much of `data` the next chunk cannot change: not a reference that may be cut short, nor a high
    surrogate whose low half may follow."""
    cut = data.find(b"&", max(0, len(data) - _LONGEST_REFERENCE + 1))
    cut = len(data) if cut == -1 else cut
    start = max(0, cut - _LONGEST_REFERENCE)
    high = _REFUSED_REFERENCE.fullmatch(data, start, cut)
    return start if high and _is_high(_number(high)) else cut


def _check_declaration(first: bytes) -> None:
    match = _DECLARED_ENCODING.match(first)
    if match and match.group(1).lower() not in (b"utf-8", b"utf8"):
        raise FormatError(f"the file declares the encoding {match.group(1).decode()!r}; SMS Backup & Restore "
                          "writes UTF-8, and only UTF-8 is read", line=1)


class _TagLength:
    """The bytes since the last '<', which only a tag (or a comment) can make long."""

    def __init__(self):
        self.length = 0
        self.line = 1  # where the last '<' was

    def check(self, chunk: bytes, line: int) -> None:
        first = chunk.find(b"<")
        if self.length + (len(chunk) if first == -1 else first) > MAX_MARKUP_BYTES:
            raise FormatError(f"more than {format_size(MAX_MARKUP_BYTES)} in one tag, or between two, from here "
                              f"(an attachment over the {format_size(MAX_PART_BYTES)} limit, or not a backup)",
                              line=self.line)
        if first == -1:
            self.length += len(chunk)
            return
        last = chunk.rfind(b"<")
        self.length = len(chunk) - last - 1
        self.line = line + chunk.count(b"\n", 0, last)


def checked_xml(stream: BinaryIO, lifted: Lifted) -> Iterator[bytes]:
    """The stream's bytes, checked and repaired, in pieces. At invalid UTF-8 it first yields the valid bytes
    before it, so that the records they hold are read, then raises a FormatError. The MMS attachments go
    to `lifted` instead, and the bytes name them (formats/lifting.py).

    Expat (before 2.6) scans an unfinished tag again from its start on every piece it is given, so a long
    tag (a photo's base64 not lifted) given in equal pieces costs its length squared. Within a long tag the
    pieces therefore grow: one is yielded when it is at least as long as what of the tag was already given."""
    utf8 = codecs.getincrementaldecoder("utf-8")()
    tags = _TagLength()
    lifter = Lifter(lifted)
    held = b""  # the end of the previous chunk, which the next one may still change
    waiting: list[bytes] = []  # checked and repaired, not yet yielded: the growing piece of a long tag
    waiting_bytes = 0
    line = 1  # the line that `chunk` starts on
    given_line = 1  # the line the parser is at after the bytes given to it so far
    prolog = b""  # the first bytes, until they hold the XML declaration (or cannot)
    while True:
        chunk = stream.read(_CHUNK_BYTES)
        if prolog is not None:
            prolog += chunk
            if b"?>" in prolog or len(prolog) >= _PROLOG_BYTES or not chunk:
                _check_declaration(prolog)
                prolog = None
        damage = None
        buffered = len(utf8.getstate()[0])
        try:
            utf8.decode(chunk, final=not chunk)
        except UnicodeDecodeError as error:
            valid = max(0, error.start - buffered)
            damage = FormatError(f"invalid UTF-8 (byte 0x{error.object[error.start]:02x})",
                                 line=line + chunk.count(b"\n", 0, valid))
            chunk = chunk[:valid]
        line += chunk.count(b"\n")
        data = held + chunk
        end = len(data) if damage or not chunk else _settled(data)
        held = data[end:]
        piece = lifter.feed(_repaired_references(data[:end]), final=damage is not None or not chunk)
        damage = lifter.damage or damage  # the lifter's is the earlier in the file
        tags.check(piece, given_line)
        given_line += piece.count(b"\n")
        waiting.append(piece)
        waiting_bytes += len(piece)
        if damage or not chunk or waiting_bytes >= tags.length - waiting_bytes:
            yield b"".join(waiting)
            waiting, waiting_bytes = [], 0
        if damage:
            raise damage
        if not chunk:
            return


def _refuse_doctype(name, system_id, public_id, has_internal_subset):
    raise DTDForbidden(name, system_id, public_id)


def _refuse_entity(name, is_parameter_entity, value, base, system_id, public_id, notation_name):
    raise EntitiesForbidden(name, value, base, system_id, public_id, notation_name)


def _refuse_unparsed_entity(name, base, system_id, public_id, notation_name):
    raise EntitiesForbidden(name, None, base, system_id, public_id, notation_name)


def _refuse_external_reference(context, base, system_id, public_id):
    raise ExternalReferenceForbidden(context, base, system_id, public_id)


def defused_expat(start: Callable[[str, dict[str, str]], None], end: Callable[[str], None]):
    """A pyexpat parser that calls start(name, attributes) and end(name), guarded as defusedxml's expat
    reader is with forbid_dtd: a document type declaration (where entity expansion and external entities
    begin), an entity declaration and an external reference each raise defusedxml's exception."""
    parser = expat.ParserCreate()
    parser.StartElementHandler, parser.EndElementHandler = start, end
    parser.StartDoctypeDeclHandler = _refuse_doctype
    parser.EntityDeclHandler = _refuse_entity
    parser.UnparsedEntityDeclHandler = _refuse_unparsed_entity
    parser.ExternalEntityRefHandler = _refuse_external_reference
    return parser
