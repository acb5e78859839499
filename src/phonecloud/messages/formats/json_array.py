"""The flat objects of one large JSON array (SMS Import / Export's call log), read one at a time in bounded
memory: each object's bytes are cut out of the stream by following strings and brackets, then parsed alone.

Flat: an object's values are strings (or other scalars), never objects or arrays; anything deeper, an item
that is not an object, an object over `max_object_bytes` and a cut array are FormatErrors.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any, BinaryIO

from phonecloud.core.sizes import format_size
from phonecloud.messages.formats.errors import FormatError

_CHUNK_BYTES = 1 << 16
_TOKEN = re.compile(rb'["\\{}\[\]]')
_BLANK = b" \t\r\n"
_BOM = b"\xef\xbb\xbf"
_BEFORE, _IN_ARRAY, _IN_OBJECT, _AFTER = range(4)


class _Cutter:
    """The scanner's state between chunks."""

    def __init__(self, max_object_bytes: int):
        self.max_object_bytes = max_object_bytes
        self.state = _BEFORE
        self.in_string = False
        self.skip = 0  # bytes still to skip at the next chunk's start (an escape cut by the chunk's end)
        self.object = bytearray()  # the bytes of the object being cut, before the current chunk
        self.line = 1  # the line the current chunk starts on
        self.object_line = 0

    def cut(self, chunk: bytes, first: bool) -> Iterator[tuple[bytes, int]]:
        """The objects that end in this chunk, with the line each begins on."""
        start = len(_BOM) if first and chunk.startswith(_BOM) else 0  # the gap or the object begins here
        skip_to = self.skip
        for match in _TOKEN.finditer(chunk, self.skip):
            at = match.start()
            if at < skip_to:
                continue
            token = chunk[at:at + 1]
            if self.in_string:
                if token == b"\\":
                    skip_to = at + 2
                elif token == b'"':
                    self.in_string = False
                continue
            if self.state == _IN_OBJECT:
                if token == b'"':
                    self.in_string = True
                elif token == b"}":
                    self._check_size(len(self.object) + at + 1 - start)
                    yield bytes(self.object) + chunk[start:at + 1], self.object_line
                    self.object = bytearray()
                    self.state, start = _IN_ARRAY, at + 1
                else:
                    raise self._error("a call holds an object or array: the call log is flat", chunk, at)
                continue
            self._check_blank(chunk[start:at], chunk, start)
            if self.state == _BEFORE and token == b"[":
                self.state, start = _IN_ARRAY, at + 1
            elif self.state == _IN_ARRAY and token == b"{":
                self.state, start = _IN_OBJECT, at
                self.object_line = self.line + chunk.count(b"\n", 0, at)
            elif self.state == _IN_ARRAY and token == b"]":
                self.state, start = _AFTER, at + 1
            else:
                raise self._error("not a JSON array of objects", chunk, at)
        self.skip = max(0, skip_to - len(chunk))
        if self.state == _IN_OBJECT:
            self.object += chunk[start:]
            self._check_size(len(self.object))
        else:
            self._check_blank(chunk[start:], chunk, start)
        self.line += chunk.count(b"\n")

    def _check_blank(self, gap: bytes, chunk: bytes, at: int) -> None:
        # Between items only blanks and commas (their exact placement is not checked: it carries nothing).
        if gap.strip(_BLANK + (b"," if self.state == _IN_ARRAY else b"")):
            raise self._error("not a JSON array of objects", chunk, at)

    def _check_size(self, size: int) -> None:
        if size > self.max_object_bytes:
            raise FormatError(f"one call takes more than {format_size(self.max_object_bytes)}",
                              line=self.object_line)

    def _error(self, problem: str, chunk: bytes, at: int) -> FormatError:
        return FormatError(problem, line=self.line + chunk.count(b"\n", 0, at))


def flat_objects(stream: BinaryIO, max_object_bytes: int) -> Iterator[tuple[dict[str, Any], int]]:
    """Each object of the array with the line it begins on; a FormatError where the array is damaged."""
    cutter = _Cutter(max_object_bytes)
    first = True
    while chunk := stream.read(_CHUNK_BYTES):
        for text, line in cutter.cut(chunk, first):
            yield _parsed(text, line), line
        first = False
    if cutter.state != _AFTER:
        raise FormatError("the JSON array is cut short" if cutter.state != _BEFORE else "not a JSON array",
                          line=cutter.line)


def _parsed(text: bytes, line: int) -> dict[str, Any]:
    try:
        return json.loads(text)
    except UnicodeDecodeError as error:
        raise FormatError(f"invalid UTF-8: {error.reason}", line=line) from None
    except json.JSONDecodeError as error:
        raise FormatError(f"invalid JSON: {error.msg}", line=line + error.lineno - 1) from None
