"""Contacts on the server, the one way `phonecloud contacts` and `phonecloud import-export` reach them: a .vcf
file streamed as the raw body of `POST /contacts/imports` (any size, in constant memory; the server reads
every dialect and answers what it did), the address books listed, and an export streamed into a file whole
or not at all. Importing the same file again is safe: the server knows each contact by its UID, else by its
name, numbers and emails, and counts it as already there. Pure Python, like the rest of the client."""

from __future__ import annotations

import codecs
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx

from phonecloud.client.api import Api
from phonecloud.client.config import Connection
from phonecloud.client.download import attachment_name, download_whole
from phonecloud.client.errors import NetworkError

IMPORTS = "/contacts/imports"
EXPORT = "/contacts/export"
BOOKS = "/contacts/books"
VERSIONS = ("4.0", "3.0")
SNIFF_BYTES = 64 << 10
# The server answers an import once it has stored every contact of the file: a large address book takes a
# while, and nothing comes meanwhile. Waiting for it is all there is to do: sending the file again would only
# race the import still running on the server (whatever it has stored, a later run counts as already there).
_IMPORT_TIMEOUT = httpx.Timeout(60.0, connect=15.0, read=3600.0)
_BEGIN = b"begin:vcard"
_END = b"end:vcard"


def said(result: dict) -> str:
    """What an import did, for a person: `12 contacts: imported 10, updated 1, already there 1`."""
    cards = result["cards"]
    return (f"{cards} contact{'' if cards == 1 else 's'}: imported {result['imported']}, updated {result['updated']}, "
            f"already there {result['duplicates']}")


class NotAVCard(Exception):
    """A file that is plainly no vCard file: nothing of it is sent."""


def looks_like_vcard(head: bytes) -> bool:
    """Whether the start of a file has a card's BEGIN:VCARD (in UTF-8 or any 8-bit encoding, or UTF-16 with
    its byte order mark, or even without: the server then says what is wrong with it). A cheap look before
    an upload, so that a photo or a video named by mistake is not sent; what the file holds is the server's
    reader's to tell."""
    for bom, encoding in ((codecs.BOM_UTF16_LE, "utf-16-le"), (codecs.BOM_UTF16_BE, "utf-16-be")):
        if head.startswith(bom):
            head = head[len(bom):].decode(encoding, "ignore").encode()
            break
    return _BEGIN in head.replace(b"\0", b"").lower()


def sniff_file(path: Path) -> None:
    """Raises NotAVCard (or OSError) for a file that is no vCard file at all."""
    with open(path, "rb") as file:
        head = file.read(SNIFF_BYTES)
    if not head:
        raise NotAVCard("an empty file, not a vCard file")
    if not looks_like_vcard(head):
        raise NotAVCard(f"not a vCard file (no BEGIN:VCARD in its first {len(head)} bytes)")


def books(api: Api) -> list[dict]:
    """The caller's address books: id, slug, name, contacts (how many) and carddav_url; the first is the
    default one (the server makes it on first use)."""
    return api._request("GET", BOOKS).json()


class UnknownBook(Exception):
    pass


def book_id(api: Api, wanted: str | None) -> int | None:
    """The id of the book named by its id, slug or name; None (the server's default book) when none is named."""
    if wanted is None:
        return None
    listed = books(api)
    for book in listed:
        if wanted in (str(book["id"]), book["slug"]):
            return book["id"]
    named = [book for book in listed if book["name"].casefold() == wanted.casefold()]
    if len(named) == 1:
        return named[0]["id"]
    shown = ", ".join(f"{book['id']} ({book['slug']}: {book['name']})" for book in listed)
    raise UnknownBook(f"no address book {wanted!r}" + (" (several are called so: give its id)" if named else "")
                      + f"; yours: {shown}")


def import_api(connection: Connection) -> Api:
    """The API for import_vcards: one that sends a file once. A failure after its bytes went (a timeout, a
    proxy's 504 while the server still imports) is not worth a second send racing the first; what was not
    imported comes with the next run, which counts the rest as already there."""
    return Api(connection, transfers=1, retries=0)


def import_vcards(api: Api, make_chunks: Callable[[], Iterator[bytes]], size: int, book: int | None = None) -> dict:
    """Send a .vcf file's bytes into the book (the default one when None), through an import_api; the
    server's answer: book_id, cards, imported, updated, duplicates. A file the server cannot read is refused
    (ServerError, status 415) with the line where reading stopped in its message."""
    headers = {"Content-Type": "text/vcard", "Content-Length": str(size)}
    params = {"book": book} if book is not None else {}
    return api._request("POST", IMPORTS, make_content=make_chunks, params=params, headers=headers,
                        timeout=_IMPORT_TIMEOUT).json()


class CardCounter:
    """Counts the cards of a .vcf stream as it passes (fed as a hasher is, by download.receive_into): the
    lines that are BEGIN:VCARD, wherever the chunks are cut; and tells whether the stream ends as a whole
    file does, with a card's END:VCARD (or holds nothing)."""

    def __init__(self):
        self.cards = 0
        self._tail = b"\n"  # the start of the stream is a line start
        self._end = b""

    def update(self, chunk) -> None:
        lowered = bytes(chunk).lower()
        text = self._tail + lowered
        self.cards += text.count(b"\n" + _BEGIN) + text.count(b"\r" + _BEGIN)  # after LF or CRLF, or a lone CR
        self._tail = text[-len(_BEGIN):]  # too short to hold a whole BEGIN:VCARD line start: none is counted twice
        self._end = (self._end + lowered)[-64:]

    def check(self) -> None:
        """Raises NetworkError when the stream stopped inside a card."""
        if self.cards and not self._end.rstrip().endswith(_END):
            raise NetworkError("the contacts ended in the middle of a card: the connection was cut")


def export_vcards(api: Api, out: Path, book: int | None = None, version: str = "4.0") -> tuple[Path, int, int]:
    """The contacts (of one book, else all) as one .vcf file in that vCard version, written to out (or into
    out, under the server's name for it, when out is a folder), whole or not at all. (file, size, contacts)."""
    if version not in VERSIONS:
        raise ValueError(f"vCard version {version}: only {' and '.join(VERSIONS)} are written")
    query = f"?version={version}" + (f"&book={book}" if book is not None else "")
    counter = CardCounter()

    def target(answer) -> Path:
        final = out / (attachment_name(answer) or "contacts.vcf") if out.is_dir() else out
        final.parent.mkdir(parents=True, exist_ok=True)  # only once the server has said yes
        return final

    final, size = download_whole(api, EXPORT + query, target, counter, counter.check)
    return final, size, counter.cards
