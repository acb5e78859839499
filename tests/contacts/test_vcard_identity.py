"""identity(): a card's own UID when its source had one, else a key of name, numbers and emails that the same
person gets however the numbers are ordered or formatted; the UID derived from it is stable across imports."""

from __future__ import annotations

import io
import re

from phonecloud.contacts.vcard import identity, parse_card, read_cards

from .vcard_samples import all_dialects

KEY = re.compile(r"key:[0-9a-f]{64}")


def cards_of(data: bytes):
    return list(read_cards(io.BytesIO(data)))


def test_identity_and_uid_are_stable_across_re_reads(tmp_path):
    for dialect, data in all_dialects().items():
        path = tmp_path / f"{dialect}.vcf"
        path.write_bytes(data)
        with path.open("rb") as first, path.open("rb") as second:
            one, two = list(read_cards(first)), list(read_cards(second))
        assert [identity(card) for card in one] == [identity(card) for card in two]
        assert [card.uid for card in one] == [card.uid for card in two]
        assert len({identity(card) for card in one}) == len(one)


def test_source_uid_is_the_identity_else_a_key():
    (lena,) = cards_of(all_dialects()["thunderbird_40"])
    assert identity(lena) == "uid:7f3c9d4e-1b2a-4c5d-8e9f-0a1b2c3d4e5f"
    for card in cards_of(all_dialects()["android_21"]):
        assert KEY.fullmatch(identity(card))


def test_a_re_imported_export_keeps_its_identity():
    for card in cards_of(all_dialects()["iphone_30"]) + cards_of(all_dialects()["thunderbird_40"]):
        again = parse_card(card.text)
        assert identity(again) == identity(card) and again.uid == card.uid


def test_same_person_whatever_the_order_and_formatting_of_numbers():
    first = ("BEGIN:VCARD\r\nVERSION:3.0\r\nFN:Anna  Schmidt\r\nTEL:+49 170 1234567\r\nTEL:(089) 765-4321\r\n"
             "EMAIL:Anna@Example.org\r\nEND:VCARD\r\n")
    second = ("BEGIN:VCARD\r\nVERSION:2.1\r\nN:Schmidt;Anna\r\nTEL;HOME:089 7654321\r\nTEL;CELL:+491701234567\r\n"
              "EMAIL;INTERNET:anna@example.org\r\nEMAIL:anna@example.org\r\nEND:VCARD\r\n")
    one, two = parse_card(first), parse_card(second)
    assert identity(one) == identity(two) and KEY.fullmatch(identity(one))
    assert one.uid == two.uid  # the derived UID follows the identity


def test_different_people_differ():
    base = "BEGIN:VCARD\r\nVERSION:3.0\r\nFN:{}\r\nTEL:{}\r\nEND:VCARD\r\n"
    keys = {identity(parse_card(base.format(name, tel))) for name, tel in
            [("Anna", "+49 1"), ("Anna", "+49 2"), ("Ben", "+49 1"), ("Anna", "49 1")]}
    assert len(keys) == 4


def test_full_width_digits_are_the_same_number():
    half = parse_card("BEGIN:VCARD\r\nFN:山田\r\nTEL:090-1234-5678\r\nEND:VCARD\r\n")
    full = parse_card("BEGIN:VCARD\r\nFN:山田\r\nTEL:０９０−１２３４−５６７８\r\nEND:VCARD\r\n")
    assert identity(half) == identity(full)


def test_an_edited_card_keeps_its_uid_and_becomes_known_by_it():
    card = parse_card("BEGIN:VCARD\r\nFN:Anna\r\nTEL:+49 1\r\nEND:VCARD\r\n")
    edited = parse_card(card.text.replace("TEL:+49 1", "TEL:+49 2"))
    assert edited.uid == card.uid and identity(edited) == f"uid:{card.uid}"
