"""Conversions are lossless: 3.0 -> 4.0 -> 3.0 gives the same text, a card's own text reads back as the same
card (export -> import), and what phonecloud writes is well-formed (CRLF, 75-octet lines, UTF-8)."""

from __future__ import annotations

import dataclasses
import io

import pytest

from phonecloud.contacts.vcard import VCardError, parse_card, read_cards, to_version

from .vcard_samples import all_dialects

CARDS = [(f"{dialect}[{index}]", card) for dialect, data in sorted(all_dialects().items())
         for index, card in enumerate(read_cards(io.BytesIO(data)))]


def unfolded_lines(text: str) -> list[str]:
    return text.replace("\r\n ", "").split("\r\n")[:-1]


@pytest.mark.parametrize("card", [card for _, card in CARDS], ids=[label for label, _ in CARDS])
def test_3_0_to_4_0_and_back_is_lossless(card):
    as_40 = to_version(card.text, "4.0")
    assert as_40.startswith("BEGIN:VCARD\r\nVERSION:4.0\r\n")
    assert to_version(as_40, "3.0") == card.text
    assert to_version(card.text, "3.0") == card.text
    assert to_version(as_40, "4.0") == as_40


@pytest.mark.parametrize("card", [card for _, card in CARDS], ids=[label for label, _ in CARDS])
def test_export_then_import_gives_the_same_card(card):
    (again,) = read_cards(io.BytesIO(card.text.encode("utf-8")))
    assert again == dataclasses.replace(card, line=1)
    assert parse_card(card.text) == dataclasses.replace(card, line=1)
    (from_40,) = read_cards(io.BytesIO(to_version(card.text, "4.0").encode("utf-8")))
    assert from_40 == dataclasses.replace(card, line=1)


def test_a_whole_exported_address_book_imports_as_it_was():
    cards = [card for _, card in CARDS]
    exported = "".join(card.text for card in cards).encode("utf-8")
    again = list(read_cards(io.BytesIO(exported)))
    assert [dataclasses.replace(card, line=0) for card in again] == \
           [dataclasses.replace(card, line=0) for card in cards]


@pytest.mark.parametrize("version", ["3.0", "4.0"])
def test_output_is_crlf_folded_at_75_octets(version):
    for _, card in CARDS:
        text = to_version(card.text, version)
        assert text.endswith("\r\n") and "\n" not in text.replace("\r\n", "") and "\r" not in text.replace("\r\n", "")
        for line in text.split("\r\n"):
            assert len(line.encode("utf-8")) <= 75
        assert all(":" in line for line in unfolded_lines(text))


def test_4_0_spellings():
    by_label = dict(CARDS)
    simon = to_version(by_label["plain_40[0]"].text, "4.0")
    lines = unfolded_lines(simon)
    assert "BDAY:--0203" in lines and "ANNIVERSARY:20090808T1430-0500" in lines
    assert "TEL;TYPE=work,voice;PREF=1:+1-418-656-9254;ext=102" in lines
    assert "GEO;TYPE=work:geo:46.772673,-71.282945" in lines
    lena = unfolded_lines(to_version(by_label["thunderbird_40[0]"].text, "4.0"))
    assert any(line.startswith("PHOTO:data:image/jpeg;base64,/9j/") for line in lena)
    assert "EMAIL;PREF=1:lena@example.net" in lena and "BDAY;VALUE=date:19870315" in lena
    john = unfolded_lines(to_version(by_label["iphone_30[0]"].text, "4.0"))
    assert "TEL;TYPE=cell,voice;PREF=1:+1 (408) 555-0100" in john
    crop = "X-ABCROP-RECTANGLE=ABClipRect_1&0&0&64&64&AAECAwQFBgcICQoLDA0ODw=="
    assert any(line.startswith(f"PHOTO;{crop}:data:image/jpeg;base64,/9j/") for line in john)
    bob = unfolded_lines(to_version(by_label["iphone_30[2]"].text, "4.0"))
    assert "BDAY;VALUE=date:--0315" in bob


def test_any_version_converts():
    card_21 = "BEGIN:VCARD\r\nVERSION:2.1\r\nN:Doe;John\r\nTEL;CELL;PREF:+1 555\r\nEND:VCARD\r\n"
    as_30 = to_version(card_21, "3.0")
    assert "TEL;TYPE=CELL,PREF:+1 555" in as_30 and "FN:John Doe" in as_30
    assert "TEL;TYPE=cell;PREF=1:+1 555" in to_version(card_21, "4.0")
    with pytest.raises(ValueError):
        to_version(card_21, "2.1")


def test_parse_card_text_is_unicode_whatever_charset_says():
    # Text is already decoded: only quoted-printable bytes still follow CHARSET.
    card = parse_card("BEGIN:VCARD\nVERSION:2.1\nN;CHARSET=SHIFT_JIS:山田;太郎\n"
                      "NOTE;CHARSET=SHIFT_JIS;ENCODING=QUOTED-PRINTABLE:=82=A0\nEND:VCARD\n")
    assert card.name == "山田 太郎"  # FN built from N, family name first for Japanese
    assert "N:山田;太郎" in card.text and "NOTE:あ" in card.text


def test_parse_card_wants_exactly_one_card():
    with pytest.raises(VCardError, match="no vCard"):
        parse_card("")
    two = "BEGIN:VCARD\r\nFN:a\r\nEND:VCARD\r\nBEGIN:VCARD\r\nFN:b\r\nEND:VCARD\r\n"
    with pytest.raises(VCardError) as raised:
        parse_card(two)
    assert raised.value.line == 4


def test_values_with_runs_of_spaces_survive_folding():
    # A fold can leave a continuation line of nothing but spaces: it is still a fold, not a blank line.
    card = parse_card("BEGIN:VCARD\r\nVERSION:3.0\r\nFN:x\r\nNOTE:a" + " " * 200 + "b \r\nEND:VCARD\r\n")
    assert "NOTE:a" + " " * 200 + "b " in card.text.replace("\r\n ", "")
    assert parse_card(card.text) == card and to_version(to_version(card.text, "4.0"), "3.0") == card.text
