"""What the Contacts page tests share: an address book file as phones write them (a photo, iOS's labels, a
quoted-printable name, a hostile name), CardDAV requests as a phone makes them (Basic auth with the email and
an app password), and screenshots kept in the test's own folder."""

from __future__ import annotations

import base64
import io
from pathlib import Path

import httpx
from PIL import Image, ImageDraw

PHONE_375 = {"width": 375, "height": 812}
DESKTOP = {"width": 1280, "height": 860}


def _portrait(size: int = 96) -> bytes:
    """A small JPEG that looks like a profile photo (a head and shoulders on a gradient), as phones keep them."""
    image = Image.new("RGB", (size, size))
    draw = ImageDraw.Draw(image)
    for row in range(size):
        draw.line([(0, row), (size, row)], fill=(40 + row, 90 + row // 2, 160 - row // 3))
    draw.ellipse([size * 0.3, size * 0.18, size * 0.7, size * 0.6], fill=(236, 196, 164))
    draw.ellipse([size * 0.12, size * 0.62, size * 0.88, size * 1.3], fill=(70, 60, 110))
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=85)
    return buffer.getvalue()


PHOTO = _portrait()
# A name made to run as HTML if any page forgot to escape it, with a right-to-left override to reorder text.
HOSTILE_NAME = '<img src=x onerror=alert(1)>"Mallory\u202e'
SVG_PHOTO = base64.b64encode(b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>').decode()


def _folded_base64(data: bytes) -> str:
    text = base64.b64encode(data).decode()
    return "\r\n ".join(text[start:start + 74] for start in range(0, len(text), 74))


def ada() -> str:
    """A 3.0 card with a photo, two numbers, an email, an address, a birthday and a note (iOS-like)."""
    return ("BEGIN:VCARD\r\nVERSION:3.0\r\nPRODID:-//Apple Inc.//iPhone OS 17.1//EN\r\nUID:ada-lovelace-0001\r\n"
            "N:Lovelace;Ada;;;\r\nFN:Ada Lovelace\r\nORG:Analytical Engines Ltd;\r\n"
            "TEL;type=CELL;type=VOICE;type=pref:+44 20 7946 0018\r\nTEL;type=WORK;type=VOICE:+44 20 7946 0999\r\n"
            "EMAIL;type=INTERNET;type=HOME;type=pref:ada@example.org\r\n"
            "item1.ADR;type=HOME:;;12 St James's Square;London;;SW1Y 4JH;United Kingdom\r\n"
            "item1.X-ABADR:gb\r\nBDAY:1815-12-10\r\nNOTE:First programmer.\\nWrote notes on the engine.\r\n"
            "item2.URL:https://example.org/ada\r\nitem2.X-ABLabel:_$!<HomePage>!$_\r\n"
            f"PHOTO;ENCODING=b;TYPE=JPEG:{_folded_base64(PHOTO)}\r\nEND:VCARD\r\n")


def grace() -> str:
    """A 2.1 card as Android writes it: a quoted-printable name in UTF-8, no UID."""
    return ("BEGIN:VCARD\r\nVERSION:2.1\r\nN:Hopper;Grace;;;\r\nFN:Grace Hopper\r\n"
            "TEL;CELL:+1 202 555 0143\r\nTEL;HOME:+1 202 555 0100\r\nEMAIL;WORK:grace@navy.example\r\n"
            "ORG;CHARSET=UTF-8;ENCODING=QUOTED-PRINTABLE:R=C3=A9serve Navale\r\nEND:VCARD\r\n")


def hostile() -> str:
    """A card written to attack the page: HTML in every field, a javascript: URL, an SVG photo with a script."""
    return ("BEGIN:VCARD\r\nVERSION:3.0\r\nUID:mallory-0001\r\nN:Mallory;;;;\r\n"
            f"FN:{HOSTILE_NAME}\r\nORG:<script>alert(2)</script>\r\n"
            "TEL;TYPE=CELL:javascript:alert(3)\r\nEMAIL:x@example.org?cc=victim@example.org&body=<b>\r\n"
            "URL:javascript:alert(4)\r\nNOTE:</dd><script>alert(5)</script>\r\n"
            f"PHOTO;ENCODING=b;TYPE=SVG:{SVG_PHOTO}\r\nEND:VCARD\r\n")


def li() -> str:
    return ("BEGIN:VCARD\r\nVERSION:4.0\r\nUID:urn:uuid:5d2a7b0e-1111-4c1a-9a51-2f1f1c0d0e01\r\nFN:李小龍\r\n"
            "N:李;小龍;;;\r\nTEL;VALUE=uri;TYPE=cell:tel:+852-2345-6789\r\nEND:VCARD\r\n")


def address_book() -> bytes:
    return (ada() + grace() + hostile() + li()).encode("utf-8")


def broken_file() -> bytes:
    """Two whole cards, then one that never ends: the reader stops at its BEGIN (line 10), where another card
    begins (line 13) before it ends."""
    whole = ("BEGIN:VCARD\r\nVERSION:3.0\r\nUID:broken-1\r\nFN:Whole One\r\nEND:VCARD\r\n"
             "BEGIN:VCARD\r\nVERSION:3.0\r\nFN:Whole Two\r\nEND:VCARD\r\n")
    return (whole + "BEGIN:VCARD\r\nVERSION:3.0\r\nFN:Cut Off\r\nBEGIN:VCARD\r\n").encode()


def dav(server, email: str, secret: str) -> httpx.Client:
    """A CardDAV client as a phone is one: Basic auth with the email and an app password."""
    return server.client(base="", auth=(email, secret), follow_redirects=False)


def contact_path(email: str, uid: str, book: str = "contacts") -> str:
    from phonecloud.contacts.service import href_for

    return f"/dav/{email}/{book}/{href_for(uid)}"


def contact_id(user, name: str) -> int:
    """The id of the user's contact of this name (through the API, with the user's key)."""
    found = user.http.get("/contacts", params={"q": name}).json()["contacts"]
    assert len(found) == 1, found
    return found[0]["id"]


def import_through_api(user, body: bytes) -> dict:
    answer = user.http.post("/contacts/imports", content=body, headers={"Content-Type": "text/vcard"})
    assert answer.status_code == 201, answer.text
    return answer.json()


class Shots:
    """Screenshots in the test's own folder, named after the page and the width they were taken at."""

    def __init__(self, folder: Path, page, width: int):
        self.folder, self.page, self.width = folder, page, width
        self.taken: list[Path] = []

    def __call__(self, name: str, full_page: bool = False) -> Path:
        path = self.folder / f"contacts-{name}-{self.width}.png"
        self.page.screenshot(path=str(path), full_page=full_page)
        self.taken.append(path)
        return path
