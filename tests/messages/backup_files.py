"""Realistic backup files made in code, written the way each app writes them (not with our writers), and the
phone content they hold, so that tests can check every field.

One phone's messages and calls are rendered as an SMS Backup & Restore v10 file (emoji as surrogate pair
references, as its "store emoji" option writes them), as an SMS Import / Export v2 archive (with one
number written differently, to exercise identity), and an older SMS Backup & Restore v7 file has fewer
attributes and no <addrs>.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import random
import re
import zipfile
from dataclasses import dataclass, field

OWN_NUMBER = "+4917612345678"
ANNA_SBR = "015123456789"  # how SMS Backup & Restore's file writes Anna's number ...
ANNA_IE = "+49 151 23456789"  # ... and how SMS Import / Export's does
BEN = "+4915798765432"


def jpeg(seed: int, size: int) -> bytes:
    """Bytes shaped like a JPEG (markers at both ends), incompressible in between."""
    body = random.Random(seed).randbytes(size - 4)
    return b"\xff\xd8" + body + b"\xff\xd9"


SMALL_PHOTO = jpeg(1, 3000)
LARGE_PHOTO = jpeg(2, 2 * 1024 * 1024 + 77)  # over INLINE_BLOB_BYTES: spooled to a temporary file
SMIL = ('<smil><head><layout><root-layout/><region id="Image" fit="meet" top="0" left="0" height="80%" '
        'width="100%"/></layout></head><body><par dur="5000ms"><img src="image000000.jpg" region="Image"/>'
        '<text src="text_0.txt" region="Text"/></par></body></smil>')


@dataclass
class PartSpec:
    seq: int
    ct: str
    text: str | None = None
    data: bytes | None = None
    name: str | None = None
    cl: str | None = None
    cid: str | None = None
    chset: str | None = None
    phone_file: str | None = None  # the part's file on the phone (SMS Import / Export's `_data`)


@dataclass
class MessageSpec:
    kind: str
    box: int
    date_ms: int
    body: str | None = None
    sbr_address: str | None = None  # an SMS's address, or an MMS's `address` attribute (SMS Backup & Restore)
    ie_address: str | None = None  # an SMS's address as SMS Import / Export writes it
    date_sent: int = 0  # as Android keeps it: milliseconds for an SMS, seconds for an MMS
    read: int = 1
    status: int = -1
    locked: int = 0
    sub_id: int = 1
    service_center: str | None = None
    subject: str | None = None
    contact_name: str = "(Unknown)"
    addresses: list[tuple[str, int]] = field(default_factory=list)  # (address, type) of an MMS
    parts: list[PartSpec] = field(default_factory=list)
    m_type: int = 132
    m_id: str | None = None
    tr_id: str | None = None


MESSAGES = [
    MessageSpec("sms", 1, 1700000000123, "Hallo! 😀 Bist du da?\nZweite Zeile & <Klammern> \"zitiert\"",
                ANNA_SBR, ANNA_IE, date_sent=1700000000000, service_center="+491760000443",
                contact_name="Anna Schmidt"),
    MessageSpec("sms", 2, 1700000060456, "Ja 👍🏽", ANNA_SBR, ANNA_IE, contact_name="Anna Schmidt"),
    MessageSpec("sms", 1, 1700000120789, "Ihr Paket kommt heute zwischen 10 und 14 Uhr.", "DHL", "DHL",
                date_sent=1700000119000, sub_id=2, service_center="+491770610000"),
    MessageSpec("sms", 3, 1700000180000, "Entwurf, noch nicht gesendet", BEN, BEN, read=1),
    MessageSpec("sms", 1, 1700000240000, "Your code is 123456", "72975", "72975", locked=1,
                date_sent=1700000239000, service_center="+491760000443"),
    MessageSpec("mms", 1, 1700000300000, sbr_address=f"{BEN}~{ANNA_SBR}", date_sent=1700000299,
                contact_name="Ben Meyer, Anna Schmidt", m_id="mid-0001@mms.example", tr_id="T18a2b3c",
                addresses=[(BEN, 137), (OWN_NUMBER, 151), (ANNA_SBR, 151)],
                parts=[PartSpec(-1, "application/smil", text=SMIL, cid="<smil>", cl="smil.xml"),
                       PartSpec(0, "image/jpeg", data=SMALL_PHOTO, name="image000000.jpg", cl="image000000.jpg",
                                cid="<image000000>", phone_file="PART_1700000300512_image000000.jpg"),
                       PartSpec(0, "text/plain", text="Schau mal, unser Ausflug 🏔️", cl="text_0.txt",
                                cid="<text_0>", chset="106")]),
    MessageSpec("mms", 2, 1700000400000, sbr_address=ANNA_SBR, subject="Urlaub", m_type=128,
                contact_name="Anna Schmidt", m_id="mid-0002@mms.example", tr_id="T19",
                addresses=[("insert-address-token", 137), (ANNA_SBR, 151)],
                parts=[PartSpec(-1, "application/smil", text=SMIL, cid="<smil>", cl="smil.xml"),
                       PartSpec(0, "image/jpeg", data=LARGE_PHOTO, name="IMG_20231114.jpg",
                                cl="IMG_20231114.jpg", cid="<IMG_20231114>",
                                phone_file="PART_1700000400100_IMG_20231114.jpg"),
                       PartSpec(0, "text/plain", text="Grüße vom Strand", cl="text_0.txt", chset="106")]),
]


_MARKUP = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "\n": "&#10;", "\r": "&#13;"})
_ASTRAL = re.compile("[\U00010000-\U0010FFFF]")


def _surrogate_references(match: re.Match) -> str:
    code = ord(match.group()) - 0x10000
    return f"&#{0xD800 + (code >> 10)};&#{0xDC00 + (code & 0x3FF)};"


def android_escaped(text: str) -> str:
    """An attribute value as Android's XML serializer writes it: characters beyond U+FFFF as two
    surrogate references, line breaks and markup characters as references."""
    return _ASTRAL.sub(_surrogate_references, text.translate(_MARKUP))


def _attributes(pairs: list[tuple[str, object]]) -> str:
    return " ".join(f'{name}="{"null" if value is None else android_escaped(str(value))}"' for name, value in pairs)


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def _sbr_sms(spec: MessageSpec) -> str:
    return "  <sms " + _attributes([
        ("protocol", 0), ("address", spec.sbr_address), ("date", spec.date_ms), ("type", spec.box),
        ("subject", None), ("body", spec.body), ("toa", None), ("sc_toa", None),
        ("service_center", spec.service_center), ("read", spec.read), ("status", spec.status),
        ("locked", spec.locked), ("date_sent", spec.date_sent), ("sub_id", spec.sub_id),
        ("readable_date", "Nov 14, 2023 11:13:20 PM"), ("contact_name", spec.contact_name)]) + " />\n"


def _sbr_part(part: PartSpec) -> str:
    pairs = [("seq", part.seq), ("ct", part.ct), ("name", part.name), ("chset", part.chset), ("cd", None),
             ("fn", None), ("cid", part.cid), ("cl", part.cl), ("ctt_s", None), ("ctt_t", None),
             ("text", part.text), ("sef_type", 0)]
    data = f' data="{_b64(part.data)}"' if part.data is not None else ""
    return "      <part " + _attributes(pairs) + data + " />\n"


def _sbr_mms(spec: MessageSpec) -> str:
    head = _attributes([
        ("date", spec.date_ms), ("rr", 129), ("sub", spec.subject), ("ct_t", "application/vnd.wap.multipart.related"),
        ("read_status", None), ("seen", 1), ("msg_box", spec.box), ("address", spec.sbr_address),
        ("sub_cs", 106 if spec.subject else None), ("resp_st", None), ("retr_st", None), ("d_tm", None),
        ("text_only", 0), ("exp", None), ("locked", spec.locked), ("m_id", spec.m_id), ("st", None),
        ("retr_txt_cs", None), ("retr_txt", None), ("creator", "com.google.android.apps.messaging"),
        ("date_sent", spec.date_sent), ("read", spec.read), ("m_size", 4096), ("rpt_a", None),
        ("ct_cls", None), ("pri", 129), ("sub_id", spec.sub_id), ("tr_id", spec.tr_id), ("resp_txt", None),
        ("ct_l", None), ("m_cls", "personal"), ("d_rpt", 129), ("v", 18), ("_id", 4711), ("m_type", spec.m_type),
        ("readable_date", "Nov 14, 2023 11:18:20 PM"), ("contact_name", spec.contact_name)])
    parts = "".join(map(_sbr_part, spec.parts))
    addrs = "".join(f'      <addr address="{address}" type="{kind}" charset="106" />\n'
                    for address, kind in spec.addresses)
    return f"  <mms {head}>\n    <parts>\n{parts}    </parts>\n    <addrs>\n{addrs}    </addrs>\n  </mms>\n"


def sbr_messages_xml(messages: list[MessageSpec] = MESSAGES) -> bytes:
    """An SMS Backup & Restore 10.x messages file."""
    body = "".join(_sbr_sms(spec) if spec.kind == "sms" else _sbr_mms(spec) for spec in messages)
    return ("<?xml version='1.0' encoding='UTF-8' standalone='yes' ?>\n"
            "<!--File Created By SMS Backup & Restore v10.20.002 on 14/11/2023 23:30:00-->\n"
            "<!--To view this file in a more readable format, visit https://synctech.com.au/view-backup/ -->\n"
            "<?xml-stylesheet type=\"text/xsl\" href=\"sms.xsl\"?>\n"
            f'<smses count="{len(messages)}" backup_set="4f0c6a2e-1b7d-4c55-9a0e-3d2f6c1b8e77" '
            f'backup_date="1700001000000" type="full">\n{body}</smses>\n').encode()


# An SMS Backup & Restore 7.x file (2016): no date_sent nor sub_id, an MMS without <addrs>, with its
# parties in `address`, a count that is wrong, and nulls everywhere.
OLD_SBR = f"""<?xml version='1.0' encoding='UTF-8' standalone='yes' ?>
<?xml-stylesheet type="text/xsl" href="sms.xsl"?>
<!--File Created By SMS Backup & Restore v7.46 on 11/01/2016 23:18:05-->
<smses count="7">
<sms protocol="0" address="+380501112233" date="1451847415771" type="1" subject="null" body="03/01 20:56&#10;Splata za tovar.&#10;Suma: 80.65 UAH" toa="null" sc_toa="null" service_center="+380501000000" read="1" status="-1" locked="0" readable_date="Jan 3, 2016 8:56:55 PM" contact_name="(Unknown)" />
<sms protocol="0" address="null" date="1451847500000" type="3" subject="null" body="null" toa="null" sc_toa="null" service_center="null" read="0" status="-1" locked="0" readable_date="Jan 3, 2016 8:58:20 PM" contact_name="(Unknown)" />
<mms text_only="0" sub="null" retr_st="null" date="1451850000000" ct_cls="null" sub_cs="null" read="1" ct_l="null" tr_id="null" st="null" msg_box="1" address="+380501112233~+380509998877" m_cls="personal" d_tm="null" read_status="null" ct_t="application/vnd.wap.multipart.related" retr_txt_cs="null" d_rpt="129" m_id="null" date_sent="0" seen="1" m_type="132" v="18" exp="null" pri="129" rr="129" resp_txt="null" rpt_a="null" locked="0" retr_txt="null" resp_st="null" m_size="null" readable_date="Jan 3, 2016 9:40:00 PM" contact_name="(Unknown)">
  <parts>
    <part seq="0" ct="text/plain" name="null" chset="106" cd="null" fn="null" cid="&lt;text_0&gt;" cl="text_0.txt" ctt_s="null" ctt_t="null" text="Novyi rik!" />
    <part seq="0" ct="image/gif" name="null" chset="null" cd="null" fn="null" cid="&lt;0&gt;" cl="smile.gif" ctt_s="null" ctt_t="null" text="null" data="{_b64(b'GIF89a' + bytes(20))}" />
  </parts>
</mms>
<mms date="1451860000000" msg_box="2" address="+380501112233" m_type="128" ct_t="application/vnd.wap.multipart.related" read="1" locked="0">
  <parts>
    <part seq="0" ct="text/plain" text="Dyakuyu" />
  </parts>
</mms>
</smses>
""".encode()


@dataclass
class CallSpec:
    number: str
    duration: int
    date_ms: int
    type: int
    presentation: int
    subscription_id: str | None
    contact_name: str
    ie_number: str | None = None  # how SMS Import / Export writes the number, when it differs


CALLS = [
    CallSpec(ANNA_SBR, 185, 1700100000000, 1, 1, "89490200001234567890", "Anna Schmidt", ANNA_IE),
    CallSpec(BEN, 62, 1700100600000, 2, 1, "89490200001234567890", "Ben Meyer"),
    CallSpec(BEN, 0, 1700101200000, 3, 1, "89490200001234567890", "Ben Meyer"),
    CallSpec("+49301234567", 41, 1700101800000, 4, 1, "1", "(Unknown)"),
    CallSpec("+4940987654", 0, 1700102400000, 5, 1, "1", "(Unknown)"),
    CallSpec("+4989111111", 0, 1700103000000, 6, 1, "1", "(Unknown)"),
    CallSpec(ANNA_SBR, 300, 1700103600000, 7, 1, "89490200001234567890", "Anna Schmidt", ANNA_IE),
    CallSpec("", 12, 1700104200000, 1, 2, "1", "(Unknown)"),
    CallSpec("", 0, 1700104800000, 3, 3, "1", "(Unknown)"),
    CallSpec("0800111222", 30, 1700105400000, 1, 4, None, "(Unknown)"),
]


def sbr_calls_xml(calls: list[CallSpec] = CALLS) -> bytes:
    rows = []
    for call in calls:
        pairs = [("number", call.number), ("duration", call.duration), ("date", call.date_ms), ("type", call.type),
                 ("presentation", call.presentation)]
        if call.subscription_id is not None:  # older versions of the app write no subscription columns
            pairs += [("subscription_id", call.subscription_id), ("post_dial_digits", ""),
                      ("subscription_component_name",
                       "com.android.phone/com.android.services.telephony.TelephonyConnectionService")]
        pairs += [("readable_date", "Nov 16, 2023 2:40:00 AM"), ("contact_name", call.contact_name)]
        rows.append("  <call " + _attributes(pairs) + " />\n")
    return ("<?xml version='1.0' encoding='UTF-8' standalone='yes' ?>\n"
            "<!--File Created By SMS Backup & Restore v10.20.002 on 16/11/2023 02:41:00-->\n"
            f'<calls count="{len(calls)}" backup_set="0b9d" backup_date="1700106000000" type="full">\n'
            + "".join(rows) + "</calls>\n").encode()


def _ie_sms(spec: MessageSpec, row: int) -> dict:
    line = {"_id": str(row), "thread_id": str(3 + row % 2), "address": spec.ie_address, "person": None,
            "date": str(spec.date_ms), "date_sent": str(spec.date_sent), "protocol": "0" if spec.box == 1 else None,
            "read": str(spec.read), "status": str(spec.status), "type": str(spec.box), "reply_path_present": "0",
            "subject": None, "body": spec.body, "service_center": spec.service_center, "locked": str(spec.locked),
            "sub_id": str(spec.sub_id), "error_code": "0", "creator": "com.google.android.apps.messaging",
            "seen": "1"}
    line = {key: value for key, value in line.items() if value is not None}  # the app leaves out nulls
    if spec.contact_name != "(Unknown)":
        line["__display_name"] = spec.contact_name
    return line


def _ie_address(address: str, kind: int, row: int, message_id: int, names: dict[str, str]) -> dict:
    ie_address = ANNA_IE if address == ANNA_SBR else address
    entry = {"_id": str(row), "msg_id": str(message_id), "contact_id": None, "address": ie_address,
             "type": str(kind), "charset": "106"}
    entry = {key: value for key, value in entry.items() if value is not None}
    if address in names:
        entry["__display_name"] = names[address]
    return entry


def _ie_mms(spec: MessageSpec, message_id: int) -> dict:
    names = {BEN: "Ben Meyer", ANNA_SBR: "Anna Schmidt"}
    line = {"_id": str(message_id), "thread_id": "7", "date": str(spec.date_ms // 1000),
            "date_sent": str(spec.date_sent), "msg_box": str(spec.box), "read": str(spec.read), "m_id": spec.m_id,
            "sub": spec.subject, "sub_cs": "106" if spec.subject else None,
            "ct_t": "application/vnd.wap.multipart.related", "m_cls": "personal", "m_type": str(spec.m_type),
            "v": "18", "m_size": "4096", "pri": "129", "rr": "129", "tr_id": spec.tr_id, "d_rpt": "129",
            "locked": str(spec.locked), "sub_id": str(spec.sub_id), "seen": "1", "text_only": "0",
            "creator": "com.google.android.apps.messaging", "preview_data__base64__": "AAECAw=="}
    line = {key: value for key, value in line.items() if value is not None}
    addresses = [_ie_address(address, kind, 20 + index, message_id, names)
                 for index, (address, kind) in enumerate(spec.addresses)]
    line["__sender_address"] = next(address for address in addresses if address["type"] == "137")
    line["__recipient_addresses"] = [address for address in addresses if address["type"] != "137"]
    parts = []
    for index, part in enumerate(spec.parts):
        entry = {"_id": str(100 + index), "mid": str(message_id), "seq": str(part.seq), "ct": part.ct,
                 "name": part.name, "chset": part.chset, "cid": part.cid, "cl": part.cl, "text": part.text}
        if part.phone_file:
            entry["_data"] = f"/data/user_de/0/com.android.providers.telephony/app_parts/{part.phone_file}"
        parts.append({key: value for key, value in entry.items() if value is not None})
    line["__parts"] = parts
    return line


def ie_messages_zip(messages: list[MessageSpec] = MESSAGES, *, leave_out_data: bool = False) -> bytes:
    """An SMS Import / Export 2.x messages archive: SMS lines first, then MMS, then the part files."""
    lines = [_ie_sms(spec, row) for row, spec in enumerate(messages, 1) if spec.kind == "sms"]
    lines += [_ie_mms(spec, 40 + row) for row, spec in enumerate(messages) if spec.kind == "mms"]
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("messages.ndjson", "".join(json.dumps(line, ensure_ascii=False, separators=(",", ":"))
                                                    .replace("/", "\\/") + "\n" for line in lines))
        if not leave_out_data:
            for spec in messages:
                for part in spec.parts:
                    if part.phone_file:
                        archive.writestr(f"data/{part.phone_file}", part.data)
    return buffer.getvalue()


def ie_calls_json(calls: list[CallSpec] = CALLS) -> bytes:
    """An SMS Import / Export call log: Android's JsonWriter with a two-space indent, values as strings."""
    objects = []
    for row, call in enumerate(calls, 1):
        number = call.ie_number or call.number
        entry = {"_id": str(row), "number": number, "presentation": str(call.presentation),
                 "date": str(call.date_ms), "duration": str(call.duration), "type": str(call.type),
                 "features": "0", "subscription_component_name":
                     "com.android.phone/com.android.services.telephony.TelephonyConnectionService",
                 "subscription_id": call.subscription_id, "name": None if call.contact_name == "(Unknown)"
                 else call.contact_name, "countryiso": "DE", "is_read": "1", "new": "0",
                 "normalized_number": None, "geocoded_location": "Deutschland", "last_modified": str(call.date_ms),
                 "phone_account_address": OWN_NUMBER}
        entry = {key: value for key, value in entry.items() if value is not None}
        if call.contact_name != "(Unknown)":
            entry["display_name"] = call.contact_name
        fields = ",\n".join(f"    {json.dumps(key)}: {json.dumps(value, ensure_ascii=False)}"
                            for key, value in entry.items())
        objects.append(f"  {{\n{fields}\n  }}")
    return ("[\n" + ",\n".join(objects) + "\n]").encode()


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


class Trickle(io.RawIOBase):
    """A stream that hands out at most `step` bytes per read: every chunk boundary a reader can meet."""

    def __init__(self, data: bytes, step: int):
        self._data = memoryview(data)
        self._step = step
        self._at = 0

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        piece = self._data[self._at:self._at + min(self._step, size if size >= 0 else self._step)]
        self._at += len(piece)
        return bytes(piece)


class Endless(io.RawIOBase):
    """`head`, then `filler` repeated up to `total` bytes, never all in memory: a gigantic file for free.
    `served` tells how much a reader took before it stopped."""

    def __init__(self, head: bytes, filler: bytes, total: int):
        self._head = head
        self._filler = filler
        self._total = total
        self.served = 0

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        size = min(size if size >= 0 else 1 << 20, self._total - self.served)
        if self.served < len(self._head):
            piece = self._head[self.served:self.served + size]
        else:
            offset = (self.served - len(self._head)) % len(self._filler)
            repeats = (offset + size) // len(self._filler) + 1
            piece = (self._filler * repeats)[offset:offset + size]
        self.served += len(piece)
        return piece


def write_large_sbr(path, total_bytes: int) -> int:
    """An SMS Backup & Restore file of about `total_bytes`, written as a stream; returns its record count.
    Mostly SMS of varied text, with an MMS and its photo every 200 records, and a larger photo (kept on disk
    when read) every 2000."""
    words = "hallo morgen treffen wir uns um acht vor dem kino okay bis dann 😀 danke gerne".split()
    rng = random.Random(7)
    count = 0
    with open(path, "wb") as out:
        out.write(b"<?xml version='1.0' encoding='UTF-8' standalone='yes' ?>\n<smses count=\"0\">\n")
        written = out.tell()
        while written < total_bytes:
            count += 1
            if count % 200:
                body = " ".join(rng.choice(words) for _ in range(rng.randint(5, 120)))
                spec = MessageSpec("sms", 1 + count % 2, 1500000000000 + count * 1000, body, f"+4915{count % 997:09d}",
                                   contact_name=f"Kontakt {count % 997}")
                record = _sbr_sms(spec)
            else:
                photo = jpeg(count, 3 * 1024 * 1024 if count % 2000 == 0 else 300 * 1024)
                spec = MessageSpec("mms", 1, 1500000000000 + count * 1000, sbr_address=BEN,
                                   addresses=[(BEN, 137), (OWN_NUMBER, 151)],
                                   parts=[PartSpec(0, "image/jpeg", data=photo, cl="image.jpg"),
                                          PartSpec(0, "text/plain", text=f"Foto {count}")])
                record = _sbr_mms(spec)
            written += out.write(record.encode())
        out.write(b"</smses>\n")
    return count


def write_large_ie(path, total_bytes: int) -> int:
    """An SMS Import / Export archive whose messages.ndjson holds about `total_bytes`, written as a stream;
    returns its message count. Mostly SMS, with an MMS and its photo in data/ every 1000 lines."""
    words = "hallo morgen treffen wir uns um acht vor dem kino okay bis dann 😀 danke gerne".split()
    rng = random.Random(8)
    photos = []
    count = written = 0
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as archive:
        with archive.open("messages.ndjson", "w", force_zip64=True) as ndjson:
            while written < total_bytes:
                count += 1
                if count % 1000:
                    body = " ".join(rng.choice(words) for _ in range(rng.randint(5, 120)))
                    line = _ie_sms(MessageSpec("sms", 1 + count % 2, 1500000000000 + count * 1000, body,
                                               ie_address=f"+4915{count % 997:09d}"), count)
                else:
                    photo = PartSpec(0, "image/jpeg", data=jpeg(count, 300 * 1024), cl="image.jpg",
                                     phone_file=f"PART_{count}_image.jpg")
                    photos.append(photo)
                    line = _ie_mms(MessageSpec("mms", 1, 1500000000000 + count * 1000, addresses=[(BEN, 137)],
                                               parts=[photo]), count)
                written += ndjson.write(json.dumps(line, ensure_ascii=False).encode() + b"\n")
        for photo in photos:
            archive.writestr(f"data/{photo.phone_file}", photo.data)
    return count
