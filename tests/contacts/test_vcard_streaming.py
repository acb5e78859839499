"""read_cards streams: a 50,000-card file is read card by card in memory far below the file's size, and a
card is yielded as soon as its bytes are read, never after reading the whole file."""

from __future__ import annotations

import io
import tracemalloc
from pathlib import Path

from phonecloud.contacts.vcard import read_cards

CARDS = 50_000
NOTE = "Met at the conference; talked about backups, photos and leaving clouds behind. " * 3


def write_address_book(path: Path, count: int) -> int:
    with path.open("wb") as out:
        for number in range(count):
            out.write((f"BEGIN:VCARD\r\nVERSION:3.0\r\nFN:Person {number}\r\nN:{number};Person;;;\r\n"
                       f"TEL;TYPE=CELL:+1 555 {number:07d}\r\nNOTE:{NOTE}\r\nEND:VCARD\r\n").encode("ascii"))
    return path.stat().st_size


class CountingReader(io.RawIOBase):
    """A file that counts what is read from it."""

    def __init__(self, path: Path):
        self.file = path.open("rb")
        self.total = self.largest = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        count = self.file.readinto(buffer)
        self.total += count
        self.largest = max(self.largest, count)
        return count

    def close(self) -> None:
        self.file.close()
        super().close()


def test_50000_cards_stream_in_memory_far_below_the_file_size(tmp_path):
    path = tmp_path / "big.vcf"
    size = write_address_book(path, CARDS)
    assert size > 15_000_000
    count = 0
    tracemalloc.start()
    try:
        with path.open("rb") as source:
            for card in read_cards(source):
                count += 1
                assert card.line == 7 * (count - 1) + 1
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert count == CARDS
    assert peak < size / 20, f"peak {peak} bytes for a file of {size}"


def test_the_first_card_comes_before_the_file_is_read(tmp_path):
    path = tmp_path / "big.vcf"
    size = write_address_book(path, 2_000)
    source = CountingReader(path)
    try:
        cards = read_cards(source)
        first = next(cards)
        assert first.name == "Person 0"
        assert source.total <= 128 << 10 < size
        assert sum(1 for _ in cards) == 1_999
        assert source.total == size and source.largest <= 64 << 10
    finally:
        source.close()
