"""vCard files as the programs people export from write them, byte for byte, for the vCard tests and any
other test that needs real-looking address books. Each builder returns the file's bytes; `EXPECTED` says
what each card of it holds (name, numbers, emails, organisation, whether it has the sample photo).

Sources for the layouts are in docs/formats/vcard.md; where a detail is reconstructed rather than copied from
an exporter's code or a real file, the builder says so.
"""

from __future__ import annotations

import base64
import functools
import io
from dataclasses import dataclass

CRLF = b"\r\n"


@functools.cache
def photo_jpeg(seed: int = 0) -> bytes:
    """A small real JPEG (a gradient, so its base64 spans many lines), the same bytes on every call."""
    from PIL import Image

    image = Image.new("RGB", (64, 64))
    image.putdata([((x * 4 + seed) % 256, (y * 4) % 256, (x * y + seed * 7) % 256)
                   for y in range(64) for x in range(64)])
    out = io.BytesIO()
    image.save(out, format="JPEG", quality=90)
    return out.getvalue()


@functools.cache
def photo_png() -> bytes:
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (16, 16), (10, 120, 200)).save(out, format="PNG")
    return out.getvalue()


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def lines(*items: str | bytes, end: bytes = CRLF) -> bytes:
    """Lines joined by `end`; str lines are UTF-8, bytes lines are written as they are."""
    return b"".join((item if isinstance(item, bytes) else item.encode("utf-8")) + end for item in items)


def fold_75(line: str, indent: str = " ") -> list[str]:
    """RFC 2425 folding at 75 characters (ASCII lines), as iOS, Google and Thunderbird fold."""
    first, rest = line[:75], line[75:]
    return [first] + [indent + rest[at:at + 74] for at in range(0, len(rest), 74)]


# -- Android (com.android.vcard VCardBuilder, vCard 2.1) -----------------------------------------------------

def android_qp(text: str, charset: str) -> str:
    """VCardBuilder.encodeQuotedPrintable: every byte as =XX, a soft line break once a line has 69 characters."""
    out, count = [], 0
    for byte in text.encode(charset):
        out.append(f"={byte:02X}")
        count += 3
        if count >= 67:
            out.append("=\r\n")
            count = 0
    return "".join(out)


def android_photo(data: bytes, photo_type: str = "JPEG") -> bytes:
    """VCardBuilder.appendPhotoLine for 2.1: 74 characters on the first line, then a space and 73 each, then
    an empty line after the value."""
    text = f"PHOTO;ENCODING=BASE64;{photo_type}:{b64(data)}"
    pieces, at, room = [], 0, 74
    while at < len(text):
        pieces.append(text[at:at + room])
        at += room
        room = 73
    return ("\r\n ".join(pieces) + "\r\n\r\n").encode("ascii")


def android_21() -> bytes:
    """Android's contacts app, "Export to .vcf": a Japanese phone's card (vCard 2.1 for Japanese phones:
    Shift_JIS in QP, the phonetic name in SOUND;X-IRMC-N, a JPEG photo), a German card in UTF-8 QP with
    Android's X-ANDROID-CUSTOM rows, and an ASCII card with 2.1's escaped semicolon and a year-less birthday."""
    sjis = "SHIFT_JIS"
    qp = functools.partial(android_qp, charset="cp932")  # Android's vendor Shift_JIS is Microsoft's cp932
    utf = functools.partial(android_qp, charset="utf-8")
    japanese = b"".join([
        lines("BEGIN:VCARD", "VERSION:2.1",
              f"N;CHARSET={sjis};ENCODING=QUOTED-PRINTABLE:{qp('山田')};{qp('太郎')};;;",
              f"FN;CHARSET={sjis};ENCODING=QUOTED-PRINTABLE:{qp('山田 太郎')}",
              f"SOUND;X-IRMC-N;CHARSET={sjis};ENCODING=QUOTED-PRINTABLE:{qp('ﾔﾏﾀﾞ')};{qp('ﾀﾛｳ')};;;",
              "TEL;CELL;PREF:090-1234-5678", "TEL;HOME:03-1234-5678", "EMAIL;HOME:taro@example.jp",
              f"ADR;HOME;CHARSET={sjis};ENCODING=QUOTED-PRINTABLE:;;{qp('千代田1-1')};{qp('千代田区')};"
              f"{qp('東京都')};100-0001;{qp('日本')}",
              f"ORG;CHARSET={sjis};ENCODING=QUOTED-PRINTABLE:{qp('株式会社サンプル商事 東京本社')};{qp('営業部')}",
              f"NOTE;CHARSET={sjis};ENCODING=QUOTED-PRINTABLE:{qp('① 打ち合わせは月曜日')}"),
        android_photo(photo_jpeg()),
        lines("END:VCARD")])
    custom = ";".join([utf("vnd.android.cursor.item/nickname"), utf("Jürgi"), utf("1")] + [""] * 13)
    german = lines(
        "BEGIN:VCARD", "VERSION:2.1",
        f"N;CHARSET=UTF-8;ENCODING=QUOTED-PRINTABLE:{utf('Müller')};{utf('Jürgen')};;;",
        f"FN;CHARSET=UTF-8;ENCODING=QUOTED-PRINTABLE:{utf('Jürgen Müller')}",
        f"X-ANDROID-CUSTOM;CHARSET=UTF-8;ENCODING=QUOTED-PRINTABLE:{custom}",
        "TEL;CELL;PREF:+49 151 23456789", "TEL;WORK:+49 30 1234567", "TEL;X-Zweithandy:+49 160 1111111",
        "EMAIL;HOME:juergen@example.de", "EMAIL;WORK:j.mueller@example.com",
        f"ADR;HOME;CHARSET=UTF-8;ENCODING=QUOTED-PRINTABLE:;;{utf('Hauptstraße 5')};{utf('Berlin')};;"
        f"{utf('10115')};{utf('Deutschland')}",
        f"ORG;CHARSET=UTF-8;ENCODING=QUOTED-PRINTABLE:{utf('Müller & Söhne GmbH')}",
        f"NOTE;CHARSET=UTF-8;ENCODING=QUOTED-PRINTABLE:{utf('Erste Zeile' + chr(10) + 'Zweite, mit Komma')}",
        "BDAY:1985-04-12", "X-JABBER:juergen@jabber.example",
        "END:VCARD")
    ascii_card = lines(
        "BEGIN:VCARD", "VERSION:2.1", "N:Smith;Pat;;;", "FN:Pat Smith", "TEL;WORK:(555) 010-2000",
        "ORG:Smith\\; Jones & Co;Sales", "NOTE:Call after 5, not before", "BDAY:--04-12",
        "X-ANDROID-CUSTOM:vnd.android.cursor.item/relation;Sam;1;;;;;;;;;;;;;", "END:VCARD")
    return japanese + german + ascii_card


# -- iPhone (Contacts, "Share Contact" / iCloud export, vCard 3.0) -------------------------------------------

def iphone_30() -> bytes:
    """iOS's vCard 3.0 (PRODID, lower-case type=, item groups with X-ABLabel, X-ABADR, X-ABShowAs, a JPEG
    photo with X-ABCROP-RECTANGLE, a year-less birthday), as it arrives after a trip through a tool that turned
    every LF into CRLF: iOS ends its lines with CRLF but the photo's folded lines with LF (sabre/dav#143), so
    the text lines end CR CR LF and the photo's CR LF."""
    photo = fold_75("PHOTO;ENCODING=b;TYPE=JPEG;X-ABCROP-RECTANGLE=ABClipRect_1&0&0&64&64&AAECAwQFBgcICQoLDA0ODw==:"
                    + b64(photo_jpeg(1)))
    def relayed(*items: str) -> bytes:
        return lines(*items, end=b"\r\r\n")
    return b"".join([
        relayed("BEGIN:VCARD", "VERSION:3.0", "PRODID:-//Apple Inc.//iPhone OS 17.5.1//EN",
                "N:Appleseed;John;;;", "FN:John Appleseed", "ORG:Apple Inc.;", "TITLE:Engineer",
                "EMAIL;type=INTERNET;type=HOME;type=pref:john@example.com",
                "EMAIL;type=INTERNET;type=WORK:j.appleseed@apple.example",
                "TEL;type=CELL;type=VOICE;type=pref:+1 (408) 555-0100",
                "TEL;type=IPHONE;type=CELL;type=VOICE:+1 408 555 0101",
                "item1.TEL:+1 408 555 0199", "item1.X-ABLabel:Partner",
                "item2.ADR;type=HOME;type=pref:;;1 Infinite Loop;Cupertino;CA;95014;United States",
                "item2.X-ABADR:us", "item3.URL;type=pref:https://www.apple.com",
                "item3.X-ABLabel:_$!<HomePage>!$_", "item4.X-ABRELATEDNAMES;type=pref:Jane Appleseed",
                "item4.X-ABLabel:_$!<Spouse>!$_", "BDAY;VALUE=date:1980-06-01",
                "NOTE:First line\\nSecond line\\, with a comma"),
        (photo[0] + "\r\n").encode("ascii") + b"".join((piece + "\r\n").encode("ascii") for piece in photo[1:]),
        relayed("END:VCARD",
                "BEGIN:VCARD", "VERSION:3.0", "PRODID:-//Apple Inc.//iPhone OS 17.5.1//EN", "N:;;;;",
                "FN:Acme Corporation", "ORG:Acme Corporation;", "TEL;type=MAIN:+1 800 555 0000",
                "X-ABShowAs:COMPANY", "END:VCARD",
                "BEGIN:VCARD", "VERSION:3.0", "PRODID:-//Apple Inc.//iPhone OS 17.5.1//EN", "N:Baker;Bob;;;",
                "FN:Bob Baker", "TEL;type=CELL;type=VOICE;type=pref:+44 7700 900123",
                "BDAY;X-APPLE-OMIT-YEAR=1604;VALUE=date:1604-03-15", "END:VCARD")])


# -- Outlook ------------------------------------------------------------------------------------------------

def outlook_base64(data: bytes) -> list[bytes]:
    """Outlook's base64 value: on the lines after the property, each indented by a space, then an empty line."""
    text = b64(data)
    return [b" " + text[at:at + 76].encode("ascii") for at in range(0, len(text), 76)] + [b""]


def outlook_21() -> bytes:
    """Outlook's "Save as vCard" (vCard 2.1): text in the Windows code page with no CHARSET (here cp1252),
    LANGUAGE on N, bare types, LABEL in QP with CRLF soft breaks, X-MS-* properties, the business-card design
    as XML in X-MS-OL-DESIGN (UTF-8, said so), and the photo twice (PHOTO and X-MS-CARDPICTURE)."""
    cp = "cp1252"
    design = ('<card xmlns="http://schemas.microsoft.com/office/outlook/12/electronicbusinesscards" ver="1.0" '
              'layout="left" bgcolor="ffffff"><img xmlns="" align="fit" area="16" use="photo"/><fld xmlns="" '
              'prop="name" align="left" dir="ltr" style="b" color="000000" size="10"/><txt xmlns="">Grüße</txt>'
              '</card>')
    return lines(
        "BEGIN:VCARD", "VERSION:2.1", "N;LANGUAGE=de:Müller;Jürgen".encode(cp), "FN:Jürgen Müller".encode(cp),
        "ORG:Müller & Söhne GmbH;Vertrieb".encode(cp), "TITLE:Geschäftsführer".encode(cp),
        "NOTE;ENCODING=QUOTED-PRINTABLE:Erste Zeile=0D=0AZweite Zeile",
        "TEL;WORK;VOICE:+49 30 1234567", "TEL;CELL;VOICE:+49 151 23456789", "TEL;WORK;FAX:+49 30 1234568",
        "ADR;WORK;PREF:;;Hauptstraße 5;Berlin;;10115;Deutschland".encode(cp),
        "LABEL;WORK;PREF;ENCODING=QUOTED-PRINTABLE:Hauptstra=DFe 5=0D=0A=", "10115 Berlin=0D=0A=", "Deutschland",
        "X-MS-OL-DEFAULT-POSTAL-ADDRESS:2", "URL;WORK:http://www.example.de",
        "EMAIL;PREF;INTERNET:juergen.mueller@example.de",
        "PHOTO;TYPE=JPEG;ENCODING=BASE64:", *outlook_base64(photo_jpeg(2)),
        f"X-MS-OL-DESIGN;CHARSET=utf-8:{design}",
        "X-MS-CARDPICTURE;TYPE=JPEG;ENCODING=BASE64:", *outlook_base64(photo_jpeg(2)),
        "REV:20231114T101010Z", "END:VCARD")


def outlook_30() -> bytes:
    """Outlook's vCard 3.0 (reconstructed from the quirks reported of it, not from a file at hand): QP and
    CHARSET, which 3.0 dropped, on NOTE; ENCODING=BASE64 (2.1's name) for the photo, laid out as in 2.1;
    TYPE lists; the X-MS-* properties for IM, manager, assistant, spouse and anniversary."""
    return lines(
        "BEGIN:VCARD", "VERSION:3.0", "N:Doe;Jane;;;", "FN:Jane Doe", "ORG:Contoso Ltd.;Research",
        "TITLE:Scientist", "TEL;TYPE=WORK,VOICE:+1 425 555 0110", "TEL;TYPE=CELL,VOICE:+1 425 555 0111",
        "EMAIL;TYPE=PREF,INTERNET:jane@contoso.example", "X-MS-IMADDRESS:jane@im.contoso.example",
        "X-MS-MANAGER:John Boss", "X-MS-ASSISTANT:Amy Helper", "X-MS-SPOUSE:Rick Doe",
        "X-MS-ANNIVERSARY:2010-06-05", "NOTE;ENCODING=QUOTED-PRINTABLE;CHARSET=utf-8:Caf=C3=A9 at 10=0D=0A=",
        "Bring slides", "PHOTO;TYPE=JPEG;ENCODING=BASE64:", *outlook_base64(photo_jpeg(3)),
        "REV:2023-11-14T10:10:10Z", "END:VCARD")


# -- Google Contacts (export "vCard (for iOS Contacts)", vCard 3.0) -----------------------------------------

def gmail_30() -> bytes:
    """Google Contacts' vCard 3.0: FN before N, item groups with X-ABLabel for custom labels, TYPE repeated,
    CATEGORIES with myContacts, the photo as an https URL without VALUE=uri, a colon escaped in a URL, and a
    card with no name at all (FN empty)."""
    return lines(
        "BEGIN:VCARD", "VERSION:3.0", "FN:Anna Schmidt", "N:Schmidt;Anna;;;", "NICKNAME:Anni",
        "EMAIL;TYPE=INTERNET;TYPE=HOME:anna@example.org", "EMAIL;TYPE=INTERNET;TYPE=WORK:anna.schmidt@work.example",
        "TEL;TYPE=CELL:+49 170 1234567", "item1.TEL:+49 89 7654321", "item1.X-ABLabel:Landline",
        "ADR;TYPE=HOME:;;Leopoldstraße 5;München;;80802;Germany",
        "item2.EMAIL;TYPE=INTERNET:anna@club.example", "item2.X-ABLabel:Club", "ORG:Example GmbH",
        "TITLE:Product Manager", "BDAY:1990-01-31", "item3.URL:https\\://anna.example.org",
        "item3.X-ABLabel:Blog", "NOTE:Met at FOSDEM\\, 2019", "CATEGORIES:myContacts,Friends",
        "PHOTO:https://lh3.googleusercontent.com/contacts/AAAAexample=s128", "END:VCARD",
        "BEGIN:VCARD", "VERSION:3.0", "FN:", "N:;;;;", "TEL;TYPE=WORK:+39 06 1234567", "ORG:Pizzeria Roma",
        "CATEGORIES:myContacts", "END:VCARD")


# -- Thunderbird --------------------------------------------------------------------------------------------

def thunderbird_40() -> bytes:
    """Thunderbird 102 and later (address books are vCard 4.0): PREF=1, TYPE in lower case, VALUE=TEXT on
    TEL, VALUE=DATE, VALUE=URL (not 4.0's uri) on URL and on the photo, which is a data: URI."""
    photo = fold_75("PHOTO;VALUE=URL:data:image/jpeg;base64," + b64(photo_jpeg(4)))
    return lines(
        "BEGIN:VCARD", "VERSION:4.0", "EMAIL;PREF=1:lena@example.net", "EMAIL;TYPE=work:lena.berg@work.example",
        "FN:Lena Berg", "N:Berg;Lena;;;", "NICKNAME:Lenchen", "NOTE:Line one\\nLine two",
        "ORG:Berg & Partner;IT", "TITLE:Admin", "TEL;TYPE=cell;VALUE=TEXT:+49 160 9876543",
        "TEL;TYPE=work;VALUE=TEXT:+49 40 123456", "ADR:;;Elbchaussee 10;Hamburg;;22763;Germany",
        "BDAY;VALUE=DATE:19870315", "ANNIVERSARY;VALUE=DATE:20150620", "URL;VALUE=URL:https://berg.example",
        "IMPP:xmpp:lena@jabber.example", *photo, "UID:7f3c9d4e-1b2a-4c5d-8e9f-0a1b2c3d4e5f", "END:VCARD")


def thunderbird_legacy_21() -> bytes:
    """Thunderbird up to 91 ("Export" as vCard): lower-case names, VERSION last, bare quoted-printable
    without CHARSET (UTF-8), x-mozilla-html (the layout of a file quoted in blog.beneth.fr)."""
    return lines(
        "begin:vcard", "fn:test 1", "n:1;test", "tel;cell:+33 6 00 00 00 00", "x-mozilla-html:FALSE",
        "version:2.1", "end:vcard", "",
        "begin:vcard", "fn;quoted-printable:test =C3=A9=C3=A0=C3=A9=C3=A7 2",
        "n;quoted-printable:2;test =C3=A9=C3=A0=C3=A9=C3=A7", "tel;cell:+33 7 00 00 00 00",
        "email;internet:test2@example.fr", "adr;dom:;;1 rue de la Paix;Paris;;75002;France",
        "x-mozilla-html:TRUE", "version:2.1", "end:vcard")


# -- BlackBerry ---------------------------------------------------------------------------------------------

def blackberry_21() -> bytes:
    """BlackBerry OS's vCard 2.1 (reconstructed: no BlackBerry export was at hand): LF line ends, ISO-8859-1
    in QP, no FN, TEL;PAGER, and an X- property for the BlackBerry PIN whose name here is a stand-in."""
    return lines(
        "BEGIN:VCARD", "VERSION:2.1", "N;CHARSET=ISO-8859-1;ENCODING=QUOTED-PRINTABLE:Dupont;Fran=E7ois",
        "TEL;WORK:+33 1 23 45 67 89", "TEL;CELL:+33 6 12 34 56 78", "TEL;PAGER:+33 6 99 99 99 99",
        "TEL;FAX:+33 1 23 45 67 00", "EMAIL;INTERNET:francois.dupont@example.fr",
        "ORG;CHARSET=ISO-8859-1;ENCODING=QUOTED-PRINTABLE:Soci=E9t=E9 G=E9n=E9rale d'Exemple",
        "TITLE:Directeur", "ADR;WORK;ENCODING=QUOTED-PRINTABLE;CHARSET=ISO-8859-1:;;12 rue de la Paix;Paris;;"
        "75002;France", "NOTE;ENCODING=QUOTED-PRINTABLE;CHARSET=ISO-8859-1:R=E9union le mardi",
        "X-BB-PIN:2100000A", "END:VCARD", end=b"\n")


# -- The RFCs' own examples and plain 3.0 / 4.0 ----------------------------------------------------------------

def plain_30() -> bytes:
    """RFC 2426's two examples (no N, BEGIN:vCard, a folded ADR), and a full 3.0 card: a base64 photo
    (ENCODING=b), LABEL, GEO, CATEGORIES, an AGENT card as text, an unknown X- property with parameters."""
    photo = fold_75("PHOTO;ENCODING=b;TYPE=JPEG:" + b64(photo_jpeg(5)))
    return lines(
        "BEGIN:vCard", "VERSION:3.0", "FN:Frank Dawson", "ORG:Lotus Development Corporation",
        "ADR;TYPE=WORK,POSTAL,PARCEL:;;6544 Battleford Drive", " ;Raleigh;NC;27613-3502;U.S.A.",
        "TEL;TYPE=VOICE,MSG,WORK:+1-919-676-9515", "TEL;TYPE=FAX,WORK:+1-919-676-9564",
        "EMAIL;TYPE=INTERNET,PREF:Frank_Dawson@Lotus.com", "EMAIL;TYPE=INTERNET:fdawson@earthlink.net",
        "URL:http://home.earthlink.net/~fdawson", "END:vCard", "",
        "BEGIN:vCard", "VERSION:3.0", "FN:Tim Howes", "ORG:Netscape Communications Corp.",
        "ADR;TYPE=WORK:;;501 E. Middlefield Rd.;Mountain View;", " CA; 94043;U.S.A.",
        "TEL;TYPE=VOICE,MSG,WORK:+1-415-937-3419", "TEL;TYPE=FAX,WORK:+1-415-528-4164",
        "EMAIL;TYPE=INTERNET:howes@netscape.com", "END:vCard", "",
        "BEGIN:VCARD", "VERSION:3.0", "N:Stevenson;John;Philip,Paul;Dr.;Jr.,M.D.,A.C.P.",
        "FN:Dr. John Stevenson", "NICKNAME:Jim,Jimmie", "TEL;TYPE=CELL:+1 555 0100",
        "EMAIL;TYPE=INTERNET:john@example.com", "LABEL;TYPE=HOME:123 Main St.\\nSpringfield\\, IL",
        "GEO:37.386013;-122.082932", "CATEGORIES:INTERNET,IETF,INDUSTRY", "CLASS:PUBLIC",
        "AGENT:BEGIN:VCARD\\nFN:Susan Thomas\\nTEL:+1-919-555-1234\\nEND:VCARD",
        "X-CUSTOM;X-PARAM=\"a,b\";TYPE=HOME:custom value\\; kept", *photo,
        "UID:a1b2c3d4-0000-4000-8000-000000000001", "REV:1995-10-31T22:27:10Z", "END:VCARD")


def plain_40() -> bytes:
    """RFC 6350's example (§8: BDAY without a year, tel: URIs, a geo: URI, PREF, TYPE in quotes) and a 4.0
    card with a data: URI photo (PNG), KIND, GENDER, MEMBER-free RELATED and CLIENTPIDMAP."""
    photo = fold_75("PHOTO:data:image/png;base64," + b64(photo_png()))
    return lines(
        "BEGIN:VCARD", "VERSION:4.0", "FN:Simon Perreault", "N:Perreault;Simon;;;ing. jr,M.Sc.",
        "BDAY:--0203", "ANNIVERSARY:20090808T1430-0500", "GENDER:M", "LANG;PREF=1:fr", "LANG;PREF=2:en",
        "ORG;TYPE=work:Viagenie", "ADR;TYPE=work:;Suite D2-630;2875 Laurier;", " Quebec;QC;G1V 2M2;Canada",
        "TEL;VALUE=uri;TYPE=\"work,voice\";PREF=1:tel:+1-418-656-9254;ext=102",
        "TEL;VALUE=uri;TYPE=\"work,cell,voice,video,text\":tel:+1-418-262-6501",
        "EMAIL;TYPE=work:simon.perreault@viagenie.ca", "GEO;TYPE=work:geo:46.772673,-71.282945",
        "KEY;TYPE=work;VALUE=uri:", " http://www.viagenie.ca/simon.perreault/simon.asc", "TZ:-0500",
        "URL;TYPE=home:http://nomis80.org", "END:VCARD",
        "BEGIN:VCARD", "VERSION:4.0", "KIND:individual", "FN:Ada Lovelace", "N:Lovelace;Ada;;;",
        "GENDER:F", "TEL;TYPE=cell:+44 20 7946 0000", "EMAIL:ada@example.org",
        "RELATED;TYPE=friend:urn:uuid:f81d4fae-7dec-11d0-a765-00a0c91e6bf6",
        "CLIENTPIDMAP:1;urn:uuid:3df403f4-5924-4bb7-b077-3c711d9eb34b", "EMAIL;PID=1.1:ada@work.example",
        *photo, "UID:urn:uuid:4fbe8971-0bc3-424c-9c26-36c3e1eff6b1", "END:VCARD")


def versit_21() -> bytes:
    """The versit 2.1 specification's own forms: an AGENT whose card follows on its own lines, LABEL in QP
    with a soft break, folding that keeps its whitespace, GEO as lat,lon."""
    return lines(
        "BEGIN:VCARD", "VERSION:2.1", "N:Martin;Stephen", "FN:Stephen Martin", "TEL;WORK;VOICE:+1-213-555-1234",
        "NOTE:This note is folded", " across two lines", "GEO:37.24,-17.87",
        "LABEL;DOM;POSTAL;ENCODING=QUOTED-PRINTABLE:P. O. Box 456=0D=0A123 Main Street=0D=0AAny Town, CA=",
        " 91921-1234",
        "AGENT:", "BEGIN:VCARD", "VERSION:2.1", "N:Friday;Fred", "TEL;WORK;VOICE:+1-213-555-1234",
        "END:VCARD", "END:VCARD")


def messy_30() -> bytes:
    """What files that went through other hands look like: a UTF-8 BOM, LF, CRLF and lone CR line ends mixed,
    tab folding, empty lines between cards and inside them ("My Contacts Backup" for iOS writes one after
    every line, with CHARSET=UTF-8 on 3.0), ISO-8859-1 bytes under CHARSET=UTF-8, and a DOS end-of-file mark."""
    return b"".join([
        b"\xef\xbb\xbf", lines("BEGIN:VCARD", "VERSION:3.0", "", "N;CHARSET=UTF-8:Ek;Åsa;;;", "",
                               "FN;CHARSET=UTF-8:Åsa Ek", "", "TEL;TYPE=CELL:+46 70 123 45 67", "",
                               "END:VCARD", "", "", end=b"\r\n"),
        lines("BEGIN:VCARD", "VERSION:3.0", "N:Garc\xeda;Jos\xe9;;;".encode("latin-1"),
              "FN;CHARSET=UTF-8:Jos\xe9 Garc\xeda".encode("latin-1"), "EMAIL;TYPE=INTERNET:jose@example.es",
              "NOTE:a note folded", "\twith a tab", "END:VCARD", end=b"\n"),
        lines("BEGIN:VCARD", "VERSION:3.0", "FN:Old Mac", "N:Mac;Old;;;", "TEL:+1 555 0123", "END:VCARD",
              end=b"\r"),
        b"\x1a"])


def all_dialects() -> dict[str, bytes]:
    return {"android_21": android_21(), "iphone_30": iphone_30(), "outlook_21": outlook_21(),
            "outlook_30": outlook_30(), "gmail_30": gmail_30(), "thunderbird_40": thunderbird_40(),
            "thunderbird_legacy_21": thunderbird_legacy_21(), "blackberry_21": blackberry_21(),
            "plain_30": plain_30(), "plain_40": plain_40(), "versit_21": versit_21(), "messy_30": messy_30()}


@dataclass(frozen=True)
class Expected:
    name: str
    phones: tuple[str, ...] = ()
    emails: tuple[str, ...] = ()
    organisation: str = ""
    photo: bytes | None = None      # the exact image bytes the card holds


EXPECTED: dict[str, list[Expected]] = {
    "android_21": [
        Expected("山田 太郎", ("090-1234-5678", "03-1234-5678"), ("taro@example.jp",),
                 "株式会社サンプル商事 東京本社, 営業部", photo_jpeg()),
        Expected("Jürgen Müller", ("+49 151 23456789", "+49 30 1234567", "+49 160 1111111"),
                 ("juergen@example.de", "j.mueller@example.com"), "Müller & Söhne GmbH"),
        Expected("Pat Smith", ("(555) 010-2000",), (), "Smith; Jones & Co, Sales")],
    "iphone_30": [
        Expected("John Appleseed", ("+1 (408) 555-0100", "+1 408 555 0101", "+1 408 555 0199"),
                 ("john@example.com", "j.appleseed@apple.example"), "Apple Inc.", photo_jpeg(1)),
        Expected("Acme Corporation", ("+1 800 555 0000",), (), "Acme Corporation"),
        Expected("Bob Baker", ("+44 7700 900123",))],
    "outlook_21": [
        Expected("Jürgen Müller", ("+49 30 1234567", "+49 151 23456789", "+49 30 1234568"),
                 ("juergen.mueller@example.de",), "Müller & Söhne GmbH, Vertrieb", photo_jpeg(2))],
    "outlook_30": [
        Expected("Jane Doe", ("+1 425 555 0110", "+1 425 555 0111"), ("jane@contoso.example",),
                 "Contoso Ltd., Research", photo_jpeg(3))],
    "gmail_30": [
        Expected("Anna Schmidt", ("+49 170 1234567", "+49 89 7654321"),
                 ("anna@example.org", "anna.schmidt@work.example", "anna@club.example"), "Example GmbH"),
        Expected("Pizzeria Roma", ("+39 06 1234567",), (), "Pizzeria Roma")],
    "thunderbird_40": [
        Expected("Lena Berg", ("+49 160 9876543", "+49 40 123456"), ("lena@example.net", "lena.berg@work.example"),
                 "Berg & Partner, IT", photo_jpeg(4))],
    "thunderbird_legacy_21": [
        Expected("test 1", ("+33 6 00 00 00 00",)),
        Expected("test éàéç 2", ("+33 7 00 00 00 00",), ("test2@example.fr",))],
    "blackberry_21": [
        Expected("François Dupont", ("+33 1 23 45 67 89", "+33 6 12 34 56 78", "+33 6 99 99 99 99",
                                      "+33 1 23 45 67 00"), ("francois.dupont@example.fr",),
                 "Société Générale d'Exemple")],
    "plain_30": [
        Expected("Frank Dawson", ("+1-919-676-9515", "+1-919-676-9564"),
                 ("Frank_Dawson@Lotus.com", "fdawson@earthlink.net"), "Lotus Development Corporation"),
        Expected("Tim Howes", ("+1-415-937-3419", "+1-415-528-4164"), ("howes@netscape.com",),
                 "Netscape Communications Corp."),
        Expected("Dr. John Stevenson", ("+1 555 0100",), ("john@example.com",), "", photo_jpeg(5))],
    "plain_40": [
        Expected("Simon Perreault", ("+1-418-656-9254;ext=102", "+1-418-262-6501"),
                 ("simon.perreault@viagenie.ca",), "Viagenie"),
        Expected("Ada Lovelace", ("+44 20 7946 0000",), ("ada@example.org", "ada@work.example"), "",
                 photo_png())],
    "versit_21": [Expected("Stephen Martin", ("+1-213-555-1234",))],
    "messy_30": [Expected("Åsa Ek", ("+46 70 123 45 67",)), Expected("José García", (), ("jose@example.es",)),
                 Expected("Old Mac", ("+1 555 0123",))],
}
