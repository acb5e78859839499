"""Bytes to physical lines, streamed: every line end real files use, byte order marks, UTF-16.

A line ends at LF, CRLF, any run of CRs before an LF (CR CR LF is what iPhone files relayed through
Windows tools have), or a lone CR (classic Mac OS). Lines are numbered from 1 as an editor would.
A UTF-8 byte order mark is dropped where it opens a line: it opens the file, and each file of several
concatenated (copy /b *.vcf all.vcf).
"""

from __future__ import annotations

import codecs
import re
from collections.abc import Iterator
from typing import BinaryIO

from phonecloud.contacts.vcard.limits import CHUNK_BYTES

UTF8_BOM = codecs.BOM_UTF8
_CR_RUN = re.compile(rb"\r+")


class Budget:
    """How long the line being read may grow: what is left of its card's limit (the reader sets it)."""

    def __init__(self, limit: int):
        self.limit = self.left = limit


class LineTooLong(Exception):
    """A physical line grew past the limit; the caller knows whether a card's limit is what it broke."""

    def __init__(self, line: int):
        super().__init__(line)
        self.line = line


def chunks_of(source: BinaryIO) -> Iterator[bytes]:
    """The file's bytes as UTF-8 chunks: a UTF-16 file (old Apple Address Book, Windows tools) is transcoded
    on the fly, so everything after this sees one encoding of the structure."""
    first = source.read(CHUNK_BYTES)
    if first[:2] in (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE) and first[:4] != codecs.BOM_UTF32_LE:
        yield from _transcoded_utf16(first, source)
        return
    while first:
        yield first
        first = source.read(CHUNK_BYTES)


def _transcoded_utf16(first: bytes, source: BinaryIO) -> Iterator[bytes]:
    decoder = codecs.getincrementaldecoder("utf-16")(errors="replace")
    chunk = first
    while chunk:
        yield decoder.decode(chunk).encode("utf-8")
        chunk = source.read(CHUNK_BYTES)
    yield decoder.decode(b"", final=True).encode("utf-8")


def physical_lines(chunks: Iterator[bytes], budget: Budget) -> Iterator[tuple[int, bytes]]:
    """(line number, line without its end) for each line; a line over the budget raises LineTooLong before
    it is held whole. Splitting is bytes.split (C speed): this runs once for every line of every file."""
    number = 1
    pieces: list[bytes] = []  # the line the chunk ended in, unfinished
    held = 0
    for chunk in chunks:
        lines = chunk.split(b"\n")
        unfinished = lines.pop()
        if lines and pieces:
            pieces.append(lines[0])
            lines[0], pieces, held = b"".join(pieces), [], 0
        for line in lines:
            if line.endswith(b"\r"):
                line = line.rstrip(b"\r")
            if b"\r" in line or line.startswith(UTF8_BOM):
                for part in _lone_cr_lines(line):
                    yield number, part
                    number += 1
            else:
                yield number, line
                number += 1
        if not unfinished:
            continue
        pieces.append(unfinished)
        held += len(unfinished)
        if b"\r" in unfinished.rstrip(b"\r"):
            # Lone CRs (classic Mac OS) end lines without any LF: the lines they end are done. CRs at the very
            # end stay: an LF in the next chunk may follow them (CR CR | LF is one line end).
            text = b"".join(pieces)
            body = text.rstrip(b"\r")
            cut = body.rfind(b"\r") + 1
            for part in _lone_cr_lines(body[:cut].rstrip(b"\r")):
                yield number, part
                number += 1
            pieces, held = [text[cut:]], len(text) - cut
        if held > budget.left:
            raise LineTooLong(number)
    if pieces:
        for part in _lone_cr_lines(b"".join(pieces).rstrip(b"\r")):
            yield number, part
            number += 1


def _lone_cr_lines(line: bytes) -> list[bytes]:
    """A line split at lone CRs (a run of them is one line end), each without a leading BOM."""
    parts = _CR_RUN.split(line) if b"\r" in line else [line]
    return [part[3:] if part.startswith(UTF8_BOM) else part for part in parts]
