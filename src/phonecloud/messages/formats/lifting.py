"""MMS attachments lifted out of an SMS Backup & Restore file's bytes before the XML parser sees them.

An attachment is base64 in the `data` attribute of its `<part>`, and attachments are most of a backup's
bytes. Expat scans every byte of an attribute one at a time, and keeps the whole attribute (and Python a
string of it) before it reports the tag: for a backup that is mostly photos, the parser's time went to
base64, and an attachment of 64 MiB cost several times its size in memory. So checked_xml hands each
`<part ... data="` value to binascii as it streams by, a slice at a time, into a Blob (formats/blobs.py:
in memory up to 1 MiB, in a temporary file beyond), and the parser sees a short placeholder naming it,
followed by as many line breaks as the value held, so that the parser's line numbers stay the file's.

- Only a `<part` start tag whose attributes before `data` are quoted as XML quotes them is lifted; anything
  else reaches the parser as it was, and is read as before (sms_backup_restore._decoded).
- The value must be base64, line breaks allowed (as blanks or as the references `&#10;` and `&#13;` that
  Android's serializer writes); anything else in it is "not base64", as it always was. A value cut by the
  end of the file lifts nothing: the parser then reports the cut.
- A placeholder names its attachment by a number and a random token of the read, so a file cannot name
  another's bytes, nor one of its own it did not lift. What the parser never claims (a `<part` in a
  comment) is dropped once the parser has passed it (Lifted.settle), so nothing accumulates.
"""

from __future__ import annotations

import binascii
import re
import secrets
from collections import deque
from typing import NoReturn

from phonecloud.messages.formats.blobs import Blob, BlobWriter
from phonecloud.messages.formats.errors import FormatError

_PLACEHOLDER = "phonecloud-lifted-"
# A <part start tag up to its data value's opening quote: the attributes before it each quoted as XML
# quotes them (no '<' inside), and none of them named data.
_PART_DATA = re.compile(rb"<part(?:\s+(?!data\s*=)[A-Za-z_:][-\w.:]*\s*=\s*(?:\"[^\"<]*\"|'[^'<]*'))*"
                        rb"\s+data\s*=\s*\"")
# What base64 in an attribute may hold besides its characters: blanks, and blanks as references.
_BLANKS = b" \t\r\n"
_BLANK_REFERENCES = re.compile(rb"&#(?:9|10|13|32|[xX](?:9|[aAdD]|20));")
_LONGEST_BLANK_REFERENCE = 6  # "&#x20;"; a longer run after a '&' is no reference cut short
# A part's attributes before its data are a few short ones: a start this long is left to the parser.
_LONGEST_TAG_START = 1 << 16


class Base64Decoder:
    """Base64 decoded a piece at a time into a Blob: pieces of any length, without blanks, the characters
    past a multiple of 4 carried to the next. Anything else is "not base64" (a FormatError), as is an
    attachment over its size limit; either drops what was written. Also what decodes a value the parser
    saw whole (sms_backup_restore._decoded)."""

    def __init__(self):
        self._writer = BlobWriter()
        self._carry = b""

    def feed(self, text: bytes) -> None:
        text = self._carry + text
        aligned = len(text) - len(text) % 4
        try:
            self._writer.write(binascii.a2b_base64(text[:aligned], strict_mode=True))
        except binascii.Error as error:
            self.fail(str(error))
        self._carry = text[aligned:]

    def finish(self) -> Blob:
        if self._carry:
            self.fail(f"{len(self._carry)} characters left over")
        return self._writer.finish()

    def fail(self, reason: str) -> NoReturn:
        self.discard()
        raise FormatError(f"an MMS part's data is not base64: {reason}")

    def discard(self) -> None:
        self._writer.discard()


class Lifted:
    """The attachments lifted from one file, until the parser claims them by their placeholders."""

    def __init__(self):
        self._prefix = f"{_PLACEHOLDER}{secrets.token_hex(8)}-"
        self._waiting: deque[tuple[int, Blob]] = deque()
        self._made = 0

    def add(self, blob: Blob) -> bytes:
        """The placeholder the parser will see in the blob's place."""
        number = self._made
        self._made += 1
        self._waiting.append((number, blob))
        return f"{self._prefix}{number}".encode()

    def take(self, value: str) -> Blob | None:
        """The blob a data attribute's value names; None when the value is no placeholder of this read (it
        is then the attribute's own text)."""
        text = value.strip()
        if not text.startswith(self._prefix) or not text[len(self._prefix):].isdigit():
            return None
        number = int(text[len(self._prefix):])
        while self._waiting and self._waiting[0][0] < number:
            self._waiting.popleft()  # passed by the parser unclaimed
        if self._waiting and self._waiting[0][0] == number:
            return self._waiting.popleft()[1]
        return None

    def settle(self) -> None:
        """After the parser has taken what it was given: it has reported every whole tag of it, so only the
        last attachment lifted (whose tag may be unfinished) can still be claimed."""
        while self._waiting and self._waiting[0][0] != self._made - 1:
            self._waiting.popleft()


class Lifter:
    """The byte stream with each `<part>`'s data value replaced by its placeholder (see the module's
    docstring); feed() takes the stream's pieces in order and returns what is ready to parse. A value that
    cannot be lifted (not base64, too large) ends the stream: feed() returns the bytes before it, so that the
    records they hold are read, and `damage` says what is wrong and where."""

    def __init__(self, lifted: Lifted):
        self.lifted = lifted
        self.line = 1  # the line the parser is at after what was returned so far
        self._tail = b""  # the end of the last piece: the start of a tag, perhaps a <part cut short
        self._decoder: Base64Decoder | None = None  # the attachment being decoded, inside a data value
        self._cut = b""  # a blank's reference cut short by the piece's end, completed by the next
        self._breaks = 0  # line breaks inside the value, which the placeholder repeats
        self._value_line = 0  # where the value began, for errors
        self.damage: FormatError | None = None

    def feed(self, piece: bytes, final: bool) -> bytes:
        data, self._tail = self._tail + piece, b""
        out: list[bytes] = []
        at = 0
        while at < len(data):
            if self._decoder is not None:
                end = data.find(b'"', at)
                try:
                    self._decode(data[at:len(data) if end == -1 else end], whole=end != -1)
                    blob = self._decoder.finish() if end != -1 else None
                except FormatError as damage:
                    self.damage = FormatError(damage.problem, line=self._value_line)
                    self._decoder = None
                    break
                if blob is None:
                    break
                self._decoder = None
                self._put(out, self.lifted.add(blob) + b"\n" * self._breaks)
                at = end  # the closing quote is the parser's
                continue
            found = _PART_DATA.search(data, at)
            if found is None:
                start = data.rfind(b"<", at)
                if not final and start != -1 and len(data) - start <= _LONGEST_TAG_START \
                        and b">" not in data[start:]:
                    self._put(out, data[at:start])
                    self._tail = data[start:]
                else:
                    self._put(out, data[at:])
                break
            self._put(out, data[at:found.end()])
            at = found.end()
            self._decoder, self._cut, self._breaks, self._value_line = Base64Decoder(), b"", 0, self.line
        if final and self._decoder is not None:  # cut inside a value: nothing is lifted, the parser says why
            self._decoder.discard()
            self._decoder = None
        return b"".join(out)

    def _put(self, out: list[bytes], ready: bytes) -> None:
        out.append(ready)
        self.line += ready.count(b"\n")

    def _decode(self, text: bytes, whole: bool) -> None:
        """Decode what of the value is here, without its blanks; `whole` when its end is."""
        self._breaks += text.count(b"\n")
        text = (self._cut + text).translate(None, _BLANKS)
        if b"&" in text:
            text = _BLANK_REFERENCES.sub(b"", text)
        reference = text.rfind(b"&")
        if not whole and reference != -1 and len(text) - reference < _LONGEST_BLANK_REFERENCE \
                and b";" not in text[reference:]:
            text, self._cut = text[:reference], text[reference:]
        else:
            self._cut = b""
        self._decoder.feed(text)
