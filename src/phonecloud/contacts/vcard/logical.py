"""Physical lines to logical lines (one property each), the way every dialect continues a line:

- folding: a line that starts with a space or tab continues the previous one (RFC 2425 §5.8.1, RFC 6350 §3.2);
  the one whitespace byte is dropped here and its place kept, since vCard 2.1 keeps it (the versit 2.1
  specification) and the version is only known once the whole card is read (old Thunderbird writes VERSION
  last);
- quoted-printable soft line breaks: a QP value line ending in `=` continues on the next line, whatever that
  line starts with (RFC 2045 §6.7; Android, Outlook and BlackBerry write them);
- vCard 2.1 base64: the value continues over lines of base64 until a blank line (the versit 2.1
  specification; Android's and Outlook's photos), indented or not;
- a raw line break inside a value (a line that cannot start a property): kept as a line break of the value.
"""

from __future__ import annotations

import re
from array import array
from collections.abc import Iterator
from dataclasses import dataclass

from phonecloud.contacts.vcard.errors import VCardError
from phonecloud.contacts.vcard.limits import MAX_HEAD_BYTES
from phonecloud.contacts.vcard.physical import Budget, LineTooLong

_PROPERTY_START = re.compile(rb"[ \t]*(?:[A-Za-z0-9_-]+\.)?([A-Za-z0-9_-]+)[ \t]*[;:]")
_BASE64_LINE = re.compile(rb"[A-Za-z0-9+/=\s]+")
_NAME = re.compile(rb"[ \t]*(?:[A-Za-z0-9_-]+\.)?([A-Za-z0-9_-]+)")
_HEAD_SPECIALS = re.compile(rb'[":]')
_QUOTED = re.compile(rb'"[^"]*"?')
_END_VCARD = re.compile(rb"[ \t]*END[ \t]*:[ \t]*VCARD[ \t]*", re.IGNORECASE)
# Lines whose value never spans lines: junk after them is its own (refused or ignored) line, not their value.
_ONE_LINE = {b"BEGIN", b"END", b"VERSION"}
_PLAIN, _QP, _BASE64 = 0, 1, 2


@dataclass(slots=True)  # not frozen: a frozen dataclass's __init__ costs more, and there is one a line
class LogicalLine:
    line: int                               # the 1-based line it starts on
    data: bytes                             # unfolded, soft line breaks removed
    colon: int                              # where the value starts (after it); -1 for a line that has none
    folds: array                            # offset * 2 + (1 for a tab) of each fold's dropped whitespace
    size: int                               # bytes it took in the file
    name: str                               # the property name, upper case, without its group ('' if none)

    @property
    def value(self) -> bytes:
        return self.data[self.colon + 1:] if self.colon >= 0 else b""


class _Pending:
    """A logical line being assembled; every append is amortised O(1), so huge lines cost linear time."""

    def __init__(self, line: int, raw: bytes, budget: Budget):
        self.line, self.budget = line, budget
        self.data = bytearray(raw)
        self.folds = array("q")  # 8 bytes a fold: a photo folded over 100,000 lines stays small
        self.size = len(raw) + 1
        self.mode = _PLAIN
        self.colon = -1
        self.name = b""
        self._scanned = 0
        self._look_for_head()

    def takes(self, raw: bytes) -> bool:
        """Whether raw continues this line (and then it is appended)."""
        if self.mode == _QP and self._soft_break() and not _END_VCARD.fullmatch(raw):
            del self.data[self._blank_from() - 1:]
            self._append(raw)
            return True
        if not raw:
            return False  # only an empty line is blank: one of spaces is a fold (of a value's spaces)
        if raw[0] in b" \t":
            if self.mode != _BASE64:  # whitespace means nothing in base64: no need to remember it
                self.folds.append(len(self.data) * 2 + (raw[0] == 9))
            self._append(raw[1:])
            return True
        if self.mode == _BASE64 and _BASE64_LINE.fullmatch(raw):
            self._append(raw)
            return True
        if self.colon >= 0 and self.name not in _ONE_LINE and not _PROPERTY_START.match(raw):
            self._append(b"\n" + raw)
            return True
        return False

    def done(self) -> LogicalLine:
        return logical_line(self.line, bytes(self.data), self.folds, self.size)

    def _soft_break(self) -> bool:
        end = self._blank_from()
        return self.colon >= 0 and end > self.colon + 1 and self.data[end - 1] == 61  # '='

    def _blank_from(self) -> int:
        """Where the trailing spaces and tabs begin (scanning only them, never the whole line)."""
        end = len(self.data)
        while end and self.data[end - 1] in (32, 9):
            end -= 1
        return end

    def _append(self, raw: bytes) -> None:
        self.data += raw
        self.size += len(raw) + 1
        if len(self.data) > self.budget.left:
            raise LineTooLong(self.line)
        if self.colon < 0:
            self._look_for_head()

    def _look_for_head(self) -> None:
        # Only the mode is decided here (a colon inside a quoted parameter is rare, and done() is exact).
        self.colon = self.data.find(b":", self._scanned)
        self._scanned = len(self.data)
        if self.colon < 0:
            return
        head = bytes(self.data[:self.colon]).upper()
        found = _NAME.match(head)
        self.name = found.group(1) if found else b""
        # A quoted parameter value is no encoding, whatever it says (X-FOO="ENCODING=B").
        params = {part.strip() for part in _QUOTED.sub(b"", head).split(b";")[1:]}
        if params & {b"QUOTED-PRINTABLE", b"ENCODING=QUOTED-PRINTABLE"}:
            self.mode = _QP
        elif params & {b"BASE64", b"ENCODING=BASE64", b"ENCODING=B"}:
            self.mode = _BASE64


def logical_line(line: int, data: bytes, folds: array, size: int, name: bytes | None = None) -> LogicalLine:
    colon = _value_colon(data)
    if name is None:
        found = _NAME.match(data, 0, colon if colon >= 0 else min(len(data), MAX_HEAD_BYTES))
        name = found.group(1) if found else b""
    return LogicalLine(line, data, colon, folds, size, _upper_name(name))


_NAMES: dict[bytes, str] = {}


def _upper_name(name: bytes) -> str:
    """The name as upper-case text; the few dozen names files use are remembered (a bounded number)."""
    text = _NAMES.get(name)
    if text is None:
        text = name.decode("ascii").upper()
        if len(_NAMES) < 4096:
            _NAMES[name] = text
    return text


def _value_colon(data: bytes) -> int:
    """The colon that ends the name and parameters: the first one outside double quotes (RFC 6350 allows
    ':' in a quoted parameter value); with quotes that never close, simply the first one."""
    first = data.find(b":")
    if first < 0 or data.find(b'"', 0, first) < 0:
        return first
    quoted = False
    for special in _HEAD_SPECIALS.finditer(data, 0, MAX_HEAD_BYTES):
        if special.group() == b'"':
            quoted = not quoted
        elif not quoted:
            return special.start()
    return data.find(b":")


def logical_lines(lines: Iterator[tuple[int, bytes]], budget: Budget) -> Iterator[LogicalLine]:
    """The logical lines of the physical ones; blank lines only end a line (a 2.1 base64 value). A line is
    held until the next shows it complete; most are, and they skip the assembling. A line may grow to what
    is left of its card's budget."""
    held_number, held, held_name = 0, b"", b""  # a one-line property (held is b"" when there is none)
    pending: _Pending | None = None
    while True:
        try:
            number, raw = next(lines)
        except StopIteration:
            break
        except LineTooLong:
            # The lines before the long one come first: they may end the card the long line is outside of.
            if held or pending is not None:
                yield logical_line(held_number, held, _NO_FOLDS, len(held) + 1) if held else pending.done()
            raise
        if b"\0" in raw:
            # What came before is reported first: the NUL may be in a file that is not a vCard at all.
            if held or pending is not None:
                yield logical_line(held_number, held, _NO_FOLDS, len(held) + 1) if held else pending.done()
            raise VCardError(number, "a NUL byte: this is not a text file (or UTF-16 without a byte order mark)")
        start = _PROPERTY_START.match(raw) if raw[:1] not in b" \t" else None
        if held:
            if start is not None and not held.rstrip(b" \t").endswith(b"="):
                yield logical_line(held_number, held, _NO_FOLDS, len(held) + 1, held_name)
            else:
                pending = _Pending(held_number, held, budget)
            held = b""
        if pending is not None:
            if pending.takes(raw):
                continue
            yield pending.done()
            pending = None
        if start is not None:
            held_number, held, held_name = number, raw, start.group(1)
        elif raw.strip(b" \t\x1a"):  # \x1a: the end-of-file mark DOS-era tools leave
            held_number, held, held_name = number, raw, None
    if held:
        yield logical_line(held_number, held, _NO_FOLDS, len(held) + 1, held_name)
    elif pending is not None:
        yield pending.done()


_NO_FOLDS = array("q")
