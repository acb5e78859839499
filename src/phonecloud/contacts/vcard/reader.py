"""Reading .vcf files card by card, and single cards as text, in bounded memory whatever the file's size."""

from __future__ import annotations

import io
from collections.abc import Iterator
from typing import BinaryIO

from phonecloud.contacts.vcard.card import Card, build_card
from phonecloud.contacts.vcard.errors import VCardError
from phonecloud.contacts.vcard.limits import MAX_CARD_BYTES, MAX_CARDS, MAX_NESTING, MAX_PROPERTIES
from phonecloud.contacts.vcard.logical import LogicalLine, logical_line, logical_lines
from phonecloud.contacts.vcard.normalise import CardSource, properties_of
from phonecloud.contacts.vcard.physical import Budget, LineTooLong, chunks_of, physical_lines
from phonecloud.contacts.vcard.properties import Property, serialise
from phonecloud.contacts.vcard.versions import to_40


def read_cards(source: BinaryIO, *, max_card_bytes: int = MAX_CARD_BYTES,
               max_cards: int = MAX_CARDS) -> Iterator[Card]:
    """Each card of a .vcf file of any dialect, in order; VCardError (naming the line) for what cannot be
    read. Holds one card at a time, and never a line longer than max_card_bytes."""
    for card_source in card_sources(source, max_card_bytes, max_cards):
        yield build_card(properties_of(card_source, from_text=False), card_source.line)[0]


def parse_card(text: str) -> Card:
    """One vCard of any version, as text."""
    return _single(text)[0]


def to_version(text: str, version: str) -> str:
    """A card (of any version) as canonical vCard "3.0" or "4.0" text."""
    if version not in ("3.0", "4.0"):
        raise ValueError(f"vCard version {version!r}: phonecloud writes 3.0 and 4.0")
    card, props = _single(text)
    return card.text if version == "3.0" else serialise(to_40(props), "4.0")


def _single(text: str) -> tuple[Card, list[Property]]:
    sources = card_sources(io.BytesIO(text.encode("utf-8", "replace")), MAX_CARD_BYTES, 2)
    first = next(sources, None)
    if first is None:
        raise VCardError(1, "no vCard (BEGIN:VCARD) in the text")
    second = next(sources, None)
    if second is not None:
        raise VCardError(second.line, "a second vCard where one was expected")
    return build_card(properties_of(first, from_text=True), first.line)


def card_sources(source: BinaryIO, max_card_bytes: int, max_cards: int) -> Iterator[CardSource]:
    """The cards' lines, one card at a time, with every structural limit checked."""
    budget = Budget(max_card_bytes)  # what the line being read may still take: its card's limit, less the card
    lines = _unglued(logical_lines(physical_lines(chunks_of(source), budget), budget))
    open_cards: list[CardSource] = []
    count = 0
    try:
        for line in lines:
            name = line.name
            if name == "BEGIN":
                _check_begin(line, open_cards, count, max_cards)
                count += not open_cards
                open_cards.append(CardSource(line.line, size=line.size))
                budget.left = max_card_bytes - open_cards[0].size
                continue
            if not open_cards:
                raise VCardError(line.line, _not_a_card(line))
            for card in open_cards:
                card.size += line.size
            if open_cards[0].size > max_card_bytes:
                raise VCardError(open_cards[0].line, f"a vCard larger than {max_card_bytes} bytes")
            budget.left = max_card_bytes - open_cards[0].size
            if name == "END" and line.value.strip().upper() == b"VCARD":
                done = open_cards.pop()
                if not open_cards:
                    budget.left = max_card_bytes
                    yield done
                else:
                    open_cards[-1].items.append(done)
                continue
            open_cards[-1].items.append(line)
            if len(open_cards[-1].items) > MAX_PROPERTIES:
                raise VCardError(open_cards[-1].line, f"a vCard with more than {MAX_PROPERTIES} properties")
    except LineTooLong as too_long:
        if open_cards:
            raise VCardError(open_cards[0].line, f"a vCard larger than {max_card_bytes} bytes") from None
        raise VCardError(too_long.line, f"a line longer than {max_card_bytes} bytes") from None
    if open_cards:
        raise VCardError(open_cards[0].line, "BEGIN:VCARD without END:VCARD")


def _unglued(lines: Iterator[LogicalLine]) -> Iterator[LogicalLine]:
    """END:VCARDBEGIN:VCARD (an export that forgot the line end between cards, nextcloud/server#18092) as the
    two lines it means."""
    for line in lines:
        if line.name == "END" and line.value.strip().upper() == b"VCARDBEGIN:VCARD":
            yield logical_line(line.line, b"END:VCARD", line.folds, line.size)
            yield logical_line(line.line, b"BEGIN:VCARD", line.folds, 0)
        else:
            yield line


def _check_begin(line: LogicalLine, open_cards: list[CardSource], count: int, max_cards: int) -> None:
    kind = line.value.strip().upper()
    if kind != b"VCARD":
        where = "inside a vCard" if open_cards else "where a vCard (BEGIN:VCARD) was expected"
        raise VCardError(line.line, f"BEGIN:{_shown(kind)} {where}: not a vCard file")
    if not open_cards:
        if count >= max_cards:
            raise VCardError(line.line, f"more than {max_cards} vCards in one file")
        return
    last = open_cards[-1].items[-1] if open_cards[-1].items else None
    if not (isinstance(last, LogicalLine) and last.name == "AGENT" and not last.value.strip()):
        # Only 2.1's AGENT nests a card (after an empty AGENT:); anything else is a card that was not ended.
        raise VCardError(open_cards[-1].line, f"BEGIN:VCARD without END:VCARD (a new card begins on line {line.line})")
    if len(open_cards) >= MAX_NESTING:
        raise VCardError(line.line, f"vCards nested more than {MAX_NESTING} deep")


def _not_a_card(line: LogicalLine) -> str:
    if line.name == "END":
        return "END:VCARD without BEGIN:VCARD"
    return f"not a vCard file: {_shown(line.data)!r} where BEGIN:VCARD was expected"


def _shown(data: bytes, limit: int = 40) -> str:
    text = data[:limit].decode("utf-8", "replace")
    return text + ("…" if len(data) > limit else "")
