"""Hostile and broken files: each is refused with a VCardError naming the right line, in bounded time and
memory, and no damage to a file makes the reader fail any other way."""

from __future__ import annotations

import io
import random
import time
import tracemalloc
from pathlib import Path

import pytest

from phonecloud.contacts.vcard import VCardError, parse_card, read_cards, to_version

from .vcard_samples import all_dialects, b64, fold_75, lines, photo_jpeg

GOOD = lines("BEGIN:VCARD", "VERSION:3.0", "FN:Anna", "TEL:+49 1", "END:VCARD")  # 5 lines


def refused(data: bytes, tmp_path: Path, **limits) -> VCardError:
    path = tmp_path / "hostile.vcf"
    path.write_bytes(data)
    with path.open("rb") as source, pytest.raises(VCardError) as raised:
        for _ in read_cards(source, **limits):
            pass
    error = raised.value
    assert isinstance(error, ValueError) and str(error).startswith(f"line {error.line}: ")
    return error


def test_random_bytes_are_not_a_vcard(tmp_path):
    noise = bytes(byte for byte in random.Random(7).randbytes(200_000) if byte not in b"\r\n")
    assert refused(noise, tmp_path).line == 1
    assert refused(GOOD + GOOD + noise, tmp_path).line == 11


def test_a_jpeg_passed_as_a_vcard(tmp_path):
    error = refused(photo_jpeg(), tmp_path)
    assert error.line == 1 and ("NUL" in error.problem or "not a vCard" in error.problem)


def test_a_calendar_is_not_a_vcard(tmp_path):
    error = refused(lines("BEGIN:VCALENDAR", "VERSION:2.0", "END:VCALENDAR"), tmp_path)
    assert error.line == 1 and "BEGIN:VCALENDAR" in error.problem


def test_begin_without_end(tmp_path):
    error = refused(GOOD + lines("BEGIN:VCARD", "VERSION:3.0", "FN:Cut off"), tmp_path)
    assert error.line == 6 and "without END:VCARD" in error.problem
    # A card left open and a new one begun: the open one is named, and where the next begins.
    error = refused(lines("BEGIN:VCARD", "FN:Open") + GOOD, tmp_path)
    assert error.line == 1 and "line 3" in error.problem


def test_end_without_begin(tmp_path):
    assert refused(GOOD + lines("END:VCARD"), tmp_path).line == 6


def test_a_20_mb_card_is_refused_without_holding_it(tmp_path):
    chunk = b64(photo_jpeg()) * 4
    photo = fold_75("PHOTO;ENCODING=b;TYPE=JPEG:" + chunk * (20_000_000 // len(chunk)))
    data = GOOD + lines("BEGIN:VCARD", "VERSION:3.0", "FN:Big", *photo, "END:VCARD")
    assert len(data) > 20_000_000
    tracemalloc.start()
    try:
        error = refused(data, tmp_path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert error.line == 6 and "larger than 8388608 bytes" in error.problem
    assert peak < 12 << 20  # the card's first 8 MiB and some change, not the file


def test_one_huge_line(tmp_path):
    assert refused(GOOD + b"X" * (9 << 20), tmp_path).line == 6
    error = refused(lines("BEGIN:VCARD", "FN:" + "x" * 2000, "END:VCARD"), tmp_path, max_card_bytes=1000)
    assert error.line == 1 and "larger than 1000 bytes" in error.problem


def test_a_photo_that_is_not_base64(tmp_path):
    data = GOOD + lines("BEGIN:VCARD", "VERSION:3.0", "FN:Bad photo", "PHOTO;ENCODING=b;TYPE=JPEG:/9j/4AAQ",
                        " Sk$$not*base64", "END:VCARD")
    error = refused(data, tmp_path)
    assert error.line == 9 and "PHOTO" in error.problem and "base64" in error.problem
    android = lines("BEGIN:VCARD", "VERSION:2.1", "FN:x", "PHOTO;ENCODING=BASE64;JPEG:/9j/4AAQ", "  SkZJ!Rg", "",
                    "END:VCARD")
    assert refused(android, tmp_path).line == 4
    data_uri = lines("BEGIN:VCARD", "VERSION:4.0", "FN:x", "PHOTO:data:image/jpeg;base64,%%%%", "END:VCARD")
    assert refused(data_uri, tmp_path).line == 4


def test_nul_bytes(tmp_path):
    data = lines("BEGIN:VCARD", "VERSION:3.0", b"FN:An\x00na", "END:VCARD")
    error = refused(data, tmp_path)
    assert error.line == 3 and "NUL" in error.problem


def test_ten_thousand_nested_begins(tmp_path):
    error = refused(b"BEGIN:VCARD\r\n" * 10_000, tmp_path)
    assert error.line == 1 and "without END:VCARD" in error.problem
    # The one way 2.1 nests a card (after an empty AGENT) is allowed 3 deep: the fourth BEGIN is refused.
    error = refused(b"BEGIN:VCARD\r\nAGENT:\r\n" * 10_000, tmp_path)
    assert error.line == 7 and "nested" in error.problem


def test_more_cards_than_allowed(tmp_path):
    assert refused(GOOD * 4, tmp_path, max_cards=3).line == 16
    assert len(list(read_cards(io.BytesIO(GOOD * 3), max_cards=3))) == 3


def test_too_many_parameters_and_huge_heads(tmp_path):
    many = lines("BEGIN:VCARD", "FN;" + ";".join(["TYPE=A"] * 200) + ":x", "END:VCARD")
    assert refused(many, tmp_path).line == 2
    quotes = lines("BEGIN:VCARD", b'FN;X="' + b'"' * (1 << 20) + b":x", "END:VCARD")
    assert refused(quotes, tmp_path).line == 2


@pytest.mark.parametrize("filler", [b";", b"\\", b"=", b",", b'"', b"\\;", b"=\r\n", b"\r\n ", b"\r\r"])
def test_no_quadratic_time_on_huge_values(tmp_path, filler):
    value = filler * ((1 << 20) // len(filler))  # 1 MiB: a quadratic reader would take hours
    data = lines("BEGIN:VCARD", "VERSION:2.1", b"NOTE;ENCODING=QUOTED-PRINTABLE:" + value, "FN:x", "END:VCARD")
    started = time.process_time()
    try:
        list(read_cards(io.BytesIO(data)))
    except VCardError:
        pass
    assert time.process_time() - started < 10


def test_empty_and_blank_files_hold_no_cards():
    assert list(read_cards(io.BytesIO(b""))) == []
    assert list(read_cards(io.BytesIO(b"\r\n\r\n  \n\x1a"))) == []


def test_damaged_files_never_fail_any_other_way():
    """Every sample with bytes flipped, cut or duplicated: cards or a VCardError, nothing else; and whatever
    is read is a fixed point (read again, and through 4.0 and back, it is the same text)."""
    samples = list(all_dialects().values())
    rng = random.Random(2024)
    for _ in range(400):
        data = bytearray(rng.choice(samples))
        for _ in range(rng.randint(1, 8)):
            at = rng.randrange(len(data))
            choice = rng.random()
            if choice < 0.5:
                data[at] = rng.choice(b"\r\n;:=,\\\" \t\x80\xff\xc3\x00ABZ")
            elif choice < 0.75:
                del data[at:at + rng.randint(1, 40)]
            else:
                data[at:at] = data[at:at + rng.randint(1, 40)]
        try:
            for card in read_cards(io.BytesIO(bytes(data))):
                assert card.text.startswith("BEGIN:VCARD\r\nVERSION:3.0\r\n")
                assert parse_card(card.text).text == card.text
                assert to_version(to_version(card.text, "4.0"), "3.0") == card.text
        except VCardError:
            pass
