"""Speaking CardDAV to a test server as a client does: Basic auth with the email and an app password, raw
WebDAV requests, and their multistatus answers read with the standard library's XML parser (the server's
own answers, so no untrusted input)."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from urllib.parse import unquote
from contextlib import contextmanager

import httpx

DAV, CARDDAV = "DAV:", "urn:ietf:params:xml:ns:carddav"
XML = {"Content-Type": "application/xml; charset=utf-8"}


@contextmanager
def dav_client(server, email: str, secret: str):
    with server.client(base="", auth=(email, secret), follow_redirects=False) as client:
        yield client


def book_path(email: str, book: str = "contacts") -> str:
    return f"/dav/{email}/{book}/"


def vcard(uid: str, name: str, phone: str = "+4930123456", extra: str = "") -> str:
    family, _, given = name.partition(" ")
    return (f"BEGIN:VCARD\r\nVERSION:3.0\r\nUID:{uid}\r\nFN:{name}\r\nN:{given};{family};;;\r\n"
            f"TEL;TYPE=CELL:{phone}\r\n{extra}END:VCARD\r\n")


def propfind(client: httpx.Client, path: str, props: str, depth: str = "0") -> httpx.Response:
    body = f'<?xml version="1.0"?><d:propfind xmlns:d="DAV:" xmlns:c="{CARDDAV}"><d:prop>{props}</d:prop></d:propfind>'
    return client.request("PROPFIND", path, content=body, headers={**XML, "Depth": depth})


def responses(answer: httpx.Response) -> dict[str, ET.Element]:
    """href -> its <response> element, of a 207 Multi-Status."""
    assert answer.status_code == 207, (answer.status_code, answer.text)
    root = ET.fromstring(answer.content)
    return {unquote(element.findtext(f"{{{DAV}}}href")): element for element in root.findall(f"{{{DAV}}}response")}


def href_text(element: ET.Element, prop: str) -> str | None:
    """The href inside a property such as current-user-principal."""
    for namespace in (DAV, CARDDAV):  # (an element without children is false: compare with None)
        found = element.find(f".//{{{namespace}}}{prop}/{{{DAV}}}href")
        if found is not None:
            return unquote(found.text)
    return None


def sync_collection(client: httpx.Client, path: str, token: str = "") -> tuple[str, dict[str, ET.Element]]:
    body = (f'<?xml version="1.0"?><d:sync-collection xmlns:d="DAV:"><d:sync-token>{token}</d:sync-token>'
            '<d:sync-level>1</d:sync-level><d:prop><d:getetag/></d:prop></d:sync-collection>')
    answer = client.request("REPORT", path, content=body, headers=XML)
    assert answer.status_code == 207, answer.text
    root = ET.fromstring(answer.content)
    return root.findtext(f"{{{DAV}}}sync-token"), responses(answer)


def status_of(element: ET.Element) -> str:
    return element.findtext(f"{{{DAV}}}status") or element.findtext(f".//{{{DAV}}}status") or ""
