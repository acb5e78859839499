"""Every dialect's file, as its exporter writes it, read into the same contacts: names, numbers, emails and
photos intact, unknown properties kept, and the canonical text what Radicale's own parser (vobject) reads."""

from __future__ import annotations

import codecs
import re
from pathlib import Path

import pytest
import vobject

from phonecloud.contacts.vcard import Card, read_cards

from .vcard_samples import EXPECTED, all_dialects, photo_jpeg, photo_png

DIALECTS = sorted(all_dialects())


def read_file(tmp_path: Path, name: str, data: bytes | None = None) -> list[Card]:
    path = tmp_path / f"{name}.vcf"
    path.write_bytes(all_dialects()[name] if data is None else data)
    with path.open("rb") as source:
        return list(read_cards(source))


def text_of(card: Card, name: str) -> list[str]:
    """The card's unfolded content lines for one property name (with any group)."""
    unfolded = card.text.replace("\r\n ", "")
    return [line for line in unfolded.split("\r\n") if re.match(rf"(?:[\w-]+\.)?{name}[;:]", line)]


@pytest.mark.parametrize("dialect", DIALECTS)
def test_names_numbers_emails_and_photos_come_through(tmp_path, dialect):
    cards = read_file(tmp_path, dialect)
    expected = EXPECTED[dialect]
    assert len(cards) == len(expected)
    for card, want in zip(cards, expected):
        assert (card.name, card.phones, card.emails, card.organisation) == \
               (want.name, want.phones, want.emails, want.organisation)
        assert card.photo == want.photo
        assert card.photo_type == ("" if want.photo is None else "image/png" if want.photo == photo_png()
                                   else "image/jpeg")
        assert card.text.startswith("BEGIN:VCARD\r\nVERSION:3.0\r\n") and card.text.endswith("END:VCARD\r\n")
        assert text_of(card, "FN") and text_of(card, "N") and len(text_of(card, "UID")) == 1


@pytest.mark.parametrize("dialect", DIALECTS)
def test_radicales_parser_reads_the_canonical_text_the_same(tmp_path, dialect):
    for card in read_file(tmp_path, dialect):
        parsed = vobject.readOne(card.text)
        assert parsed.fn.value == card.name
        assert tuple(tel.value for tel in parsed.contents.get("tel", [])) == card.phones
        assert tuple(email.value for email in parsed.contents.get("email", [])) == card.emails
        assert parsed.uid.value == card.uid
        if card.photo is not None:
            assert parsed.photo.value == card.photo


def test_android_shift_jis_quoted_printable_is_decoded(tmp_path):
    japanese = read_file(tmp_path, "android_21")[0]
    assert japanese.name == "山田 太郎"
    assert text_of(japanese, "N") == ["N:山田;太郎;;;"]
    assert text_of(japanese, "NOTE") == ["NOTE:① 打ち合わせは月曜日"]  # ① is in cp932, not in strict Shift_JIS
    assert text_of(japanese, "SOUND") == ["SOUND;TYPE=X-IRMC-N:ﾔﾏﾀﾞ;ﾀﾛｳ;;;"]  # the phonetic name stays text
    assert text_of(japanese, "ADR") == ["ADR;TYPE=HOME:;;千代田1-1;千代田区;東京都;100-0001;日本"]
    assert text_of(japanese, "TEL")[0] == "TEL;TYPE=CELL,PREF:090-1234-5678"
    assert japanese.photo == photo_jpeg() and japanese.photo_type == "image/jpeg"
    assert "CHARSET" not in japanese.text and "QUOTED-PRINTABLE" not in japanese.text


def test_android_utf8_rows_escapes_and_year_less_birthday(tmp_path):
    _, german, ascii_card = read_file(tmp_path, "android_21")
    assert text_of(german, "X-ANDROID-CUSTOM") == [
        "X-ANDROID-CUSTOM:vnd.android.cursor.item/nickname;Jürgi;1;;;;;;;;;;;;;"]
    assert text_of(german, "NOTE") == ["NOTE:Erste Zeile\\nZweite\\, mit Komma"]
    assert text_of(german, "TEL")[2] == "TEL;TYPE=X-Zweithandy:+49 160 1111111"
    assert text_of(ascii_card, "ORG") == ["ORG:Smith\\; Jones & Co;Sales"]  # 2.1's \; is a literal semicolon
    assert text_of(ascii_card, "NOTE") == ["NOTE:Call after 5\\, not before"]
    assert text_of(ascii_card, "BDAY") == ["BDAY;X-APPLE-OMIT-YEAR=1604:1604-04-12"]


def test_each_card_knows_the_line_it_begins_on(tmp_path):
    for dialect in ("android_21", "iphone_30", "gmail_30", "plain_30"):
        data = all_dialects()[dialect]
        begins = [data.count(b"\n", 0, found.start()) + 1 for found in re.finditer(rb"(?im)^BEGIN:VCARD", data)]
        assert [card.line for card in read_file(tmp_path, dialect)] == begins


def test_iphone_groups_labels_and_cr_cr_lf(tmp_path):
    john, company, bob = read_file(tmp_path, "iphone_30")
    assert "item1.X-ABLABEL:Partner" in text_of(john, "X-ABLABEL")
    assert text_of(john, "item2.X-ABADR") == ["item2.X-ABADR:us"]
    assert text_of(john, "PRODID") == ["PRODID:-//Apple Inc.//iPhone OS 17.5.1//EN"]
    assert text_of(john, "PHOTO")[0].startswith(
        "PHOTO;ENCODING=b;TYPE=JPEG;X-ABCROP-RECTANGLE=ABClipRect_1&0&0&64&64&AAECAwQFBgcICQoLDA0ODw==:/9j/")
    assert text_of(company, "X-ABSHOWAS") == ["X-ABSHOWAS:COMPANY"]
    assert text_of(bob, "BDAY") == ["BDAY;X-APPLE-OMIT-YEAR=1604;VALUE=date:1604-03-15"]
    assert "\r\r" not in john.text


def test_outlook_code_page_text_and_quoted_printable_label(tmp_path):
    (card,) = read_file(tmp_path, "outlook_21")
    assert card.name == "Jürgen Müller"  # cp1252 bytes with no CHARSET
    assert text_of(card, "N") == ["N;LANGUAGE=de:Müller;Jürgen"]
    assert text_of(card, "LABEL") == ["LABEL;TYPE=WORK,PREF:Hauptstraße 5\\n10115 Berlin\\nDeutschland"]
    assert text_of(card, "X-MS-OL-DEFAULT-POSTAL-ADDRESS") == ["X-MS-OL-DEFAULT-POSTAL-ADDRESS:2"]
    design = text_of(card, "X-MS-OL-DESIGN")
    assert len(design) == 1 and "<txt xmlns=\"\">Grüße</txt>" in design[0]  # UTF-8, as its CHARSET says
    assert text_of(card, "X-MS-CARDPICTURE")[0].startswith("X-MS-CARDPICTURE;ENCODING=b;TYPE=JPEG:/9j/")
    assert text_of(card, "REV") == ["REV:2023-11-14T10:10:10Z"]


def test_outlook_30_quoted_printable_and_21_style_base64(tmp_path):
    (card,) = read_file(tmp_path, "outlook_30")
    assert text_of(card, "NOTE") == ["NOTE:Café at 10\\nBring slides"]
    for name in ("X-MS-IMADDRESS", "X-MS-MANAGER", "X-MS-ASSISTANT", "X-MS-SPOUSE", "X-MS-ANNIVERSARY"):
        assert len(text_of(card, name)) == 1
    assert card.photo == photo_jpeg(3)


def test_gmail_groups_escaped_url_photo_url_and_nameless_card(tmp_path):
    anna, pizzeria = read_file(tmp_path, "gmail_30")
    assert text_of(anna, "item3.URL") == ["item3.URL:https://anna.example.org"]
    assert text_of(anna, "PHOTO") == ["PHOTO;VALUE=uri:https://lh3.googleusercontent.com/contacts/AAAAexample=s128"]
    assert anna.photo is None and anna.photo_type == ""
    assert text_of(anna, "CATEGORIES") == ["CATEGORIES:myContacts,Friends"]
    assert text_of(anna, "EMAIL")[0] == "EMAIL;TYPE=INTERNET,HOME:anna@example.org"
    assert pizzeria.name == "Pizzeria Roma" and text_of(pizzeria, "FN") == ["FN:Pizzeria Roma"]


def test_thunderbird_40_data_uri_photo_and_value_types(tmp_path):
    (lena,) = read_file(tmp_path, "thunderbird_40")
    assert lena.uid == "7f3c9d4e-1b2a-4c5d-8e9f-0a1b2c3d4e5f"
    assert lena.photo == photo_jpeg(4)
    assert text_of(lena, "EMAIL")[0] == "EMAIL;TYPE=PREF:lena@example.net"
    assert text_of(lena, "TEL")[0] == "TEL;TYPE=CELL:+49 160 9876543"
    assert text_of(lena, "BDAY") == ["BDAY;VALUE=date:1987-03-15"]
    assert text_of(lena, "URL") == ["URL;VALUE=uri:https://berg.example"]


def test_thunderbird_legacy_lower_case_and_version_last(tmp_path):
    first, second = read_file(tmp_path, "thunderbird_legacy_21")
    assert text_of(second, "ADR") == ["ADR;TYPE=DOM:;;1 rue de la Paix;Paris;;75002;France"]
    assert text_of(second, "X-MOZILLA-HTML") == ["X-MOZILLA-HTML:TRUE"]
    assert text_of(first, "N") == ["N:1;test"]


def test_blackberry_latin1_and_missing_fn(tmp_path):
    (card,) = read_file(tmp_path, "blackberry_21")
    assert text_of(card, "FN") == ["FN:François Dupont"]  # built from N
    assert text_of(card, "NOTE") == ["NOTE:Réunion le mardi"]
    assert text_of(card, "X-BB-PIN") == ["X-BB-PIN:2100000A"]
    assert text_of(card, "TEL")[2] == "TEL;TYPE=PAGER:+33 6 99 99 99 99"


def test_rfc_examples_3_0_and_4_0(tmp_path):
    dawson, howes, stevenson = read_file(tmp_path, "plain_30")
    assert text_of(dawson, "N") == ["N:;;;;"]  # RFC 2426's own example has no N; 3.0 needs one
    assert text_of(howes, "ADR") == ["ADR;TYPE=WORK:;;501 E. Middlefield Rd.;Mountain View;CA; 94043;U.S.A."]
    assert text_of(stevenson, "X-CUSTOM") == ['X-CUSTOM;X-PARAM="a,b";TYPE=HOME:custom value\\; kept']
    assert text_of(stevenson, "AGENT") == ["AGENT:BEGIN:VCARD\\nFN:Susan Thomas\\nTEL:+1-919-555-1234\\nEND:VCARD"]
    assert stevenson.uid == "a1b2c3d4-0000-4000-8000-000000000001"
    simon, ada = read_file(tmp_path, "plain_40")
    assert text_of(simon, "TEL")[0] == "TEL;TYPE=WORK,VOICE,PREF:+1-418-656-9254;ext=102"
    assert text_of(simon, "BDAY") == ["BDAY;X-APPLE-OMIT-YEAR=1604:1604-02-03"]
    assert text_of(simon, "GEO") == ["GEO;TYPE=WORK:46.772673;-71.282945"]
    assert text_of(simon, "KEY") == ["KEY;TYPE=WORK;VALUE=uri:http://www.viagenie.ca/simon.perreault/simon.asc"]
    assert text_of(simon, "LANG") == ["LANG;TYPE=PREF:fr", "LANG;PREF=2:en"]
    assert ada.photo == photo_png() and ada.uid == "urn:uuid:4fbe8971-0bc3-424c-9c26-36c3e1eff6b1"
    assert text_of(ada, "CLIENTPIDMAP") and text_of(ada, "RELATED") and text_of(ada, "KIND")


def test_versit_agent_card_folding_and_geo(tmp_path):
    (card,) = read_file(tmp_path, "versit_21")
    assert text_of(card, "NOTE") == ["NOTE:This note is folded across two lines"]  # 2.1 keeps the fold's space
    assert text_of(card, "GEO") == ["GEO:37.24;-17.87"]
    assert text_of(card, "LABEL") == [
        "LABEL;TYPE=DOM,POSTAL:P. O. Box 456\\n123 Main Street\\nAny Town\\, CA 91921-1234"]
    (agent,) = text_of(card, "AGENT")
    assert agent.startswith("AGENT:BEGIN:VCARD\\nVERSION:3.0\\nN:Friday\\;Fred\\n")
    inner = vobject.readOne(card.text).agent.value
    assert "N:Friday;Fred" in inner


def test_messy_file_bom_line_ends_blank_lines_and_latin1_under_utf8(tmp_path):
    asa, jose, old_mac = read_file(tmp_path, "messy_30")
    assert asa.name == "Åsa Ek" and jose.name == "José García" and old_mac.phones == ("+1 555 0123",)
    assert text_of(jose, "NOTE") == ["NOTE:a note foldedwith a tab"]  # 3.0 folding drops the tab
    assert [card.line for card in (asa, jose, old_mac)] == [1, 13, 21]


def test_utf16_files_with_a_byte_order_mark(tmp_path):
    text = all_dialects()["gmail_30"].decode("utf-8")
    for codec in ("utf-16-le", "utf-16-be"):
        data = (codecs.BOM_UTF16_LE if codec.endswith("le") else codecs.BOM_UTF16_BE) + text.encode(codec)
        assert [card.text for card in read_file(tmp_path, "gmail_30", data)] == \
               [card.text for card in read_file(tmp_path, "gmail_30")]


def test_concatenated_files_each_with_a_bom(tmp_path):
    one, two = all_dialects()["gmail_30"], all_dialects()["outlook_30"]
    cards = read_file(tmp_path, "both", codecs.BOM_UTF8 + one + codecs.BOM_UTF8 + two)
    assert [card.name for card in cards] == ["Anna Schmidt", "Pizzeria Roma", "Jane Doe"]


def test_cards_glued_without_a_line_end(tmp_path):
    data = b"BEGIN:VCARD\r\nFN:Anna\r\nEND:VCARDBEGIN:VCARD\r\nFN:Ben\r\nEND:VCARD\r\n"
    assert [(card.name, card.line) for card in read_file(tmp_path, "glued", data)] == [("Anna", 1), ("Ben", 3)]
