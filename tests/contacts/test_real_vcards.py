"""Real vCard files from public packages (fetch_real_vcards.py lists them; `make test` fetches them into
.venv/real-vcards, and each is skipped, saying so, where it was not fetched), imported through the contacts API:
every card's name, numbers, emails, organisation and photos as the file holds them, every property the file
had still in the stored card, the stored card read alike by Radicale's parser (vobject), and an export in 4.0
and in 3.0 imported into another account giving the same contacts with the same cards, photos bit for bit.

What a file holds is read here by a reader of this test's own (unfolding, quoted-printable soft line breaks,
2.1 base64 photos, CHARSET), small and unlike phonecloud's, so that both would have to be wrong alike for a
test to pass wrongly; and every photo must also open as an image."""

from __future__ import annotations

import base64
import codecs
import io
import quopri
import re
import tarfile
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import pytest
import vobject
from PIL import Image

from contacts import fetch_real_vcards
from contacts.test_contacts_api import every_contact, import_file, seen
from contacts.fetch_real_vcards import MARK, Package, RealFile

pytestmark = pytest.mark.in_process  # the app in this process (tests/inprocess.py)

ROOT = Path(__file__).resolve().parents[2] / ".venv" / "real-vcards"


def _fetched() -> set[str]:
    try:
        return set((ROOT / MARK).read_text().splitlines())
    except OSError:
        return set()


def _cases() -> list:
    fetched = _fetched()
    return [pytest.param(package, file, path, id=f"{package.folder}/{file.member}", marks=pytest.mark.skipif(
        f"{package.folder} {package.sha256}" not in fetched,
        reason=f"{package.folder} ({package.registry}) not fetched: `make test` fetches it "
               f"(python tests/contacts/fetch_real_vcards.py {ROOT})"))
            for package, file, path in fetch_real_vcards.paths(ROOT)]


CASES = _cases()


# -- what a file holds, read independently ---------------------------------------------------------------

@dataclass
class Held:
    props: Counter          # (name with any group, upper case; its value as text, unless rewritten: REWRITTEN)
    fn: str                 # "" without one
    n: tuple[str, ...]
    organisation: str
    phones: tuple[str, ...]
    emails: tuple[str, ...]
    photos: tuple[bytes, ...]   # every inline photo, in order

    def name_fits(self, name: str) -> bool:
        """FN as it is; without one, the name is made of N's parts (in whatever order a language puts them)."""
        if self.fn:
            return name == self.fn
        return sorted(name.split()) == sorted(word for part in self.n for word in part.split())


# Properties whose values phonecloud writes in their canonical form (dates, numbers, Google's escaped URLs,
# GEO as lat;lon, photos re-encoded): their presence is compared, the numbers and photos as above.
REWRITTEN = {"BDAY", "ANNIVERSARY", "REV", "GEO", "TEL", "URL", "PHOTO"}


def held_cards(data: bytes) -> list[Held]:
    cards, lines = [], None
    for raw in re.split(rb"\r\n|\r|\n", data.removeprefix(codecs.BOM_UTF8)):
        if raw.strip().upper() == b"BEGIN:VCARD":
            lines = []
        elif raw.strip().upper() == b"END:VCARD" and lines is not None:
            cards.append(_held(lines))
            lines = None
        elif lines is not None:
            lines.append(raw)
    return cards


def _joined(lines: list[bytes]) -> list[bytes]:
    """Physical lines to properties: a QP value ending in '=' goes on, so does a line that starts with a space or
    tab (one dropped), and so does a 2.1 base64 value over bare lines of base64."""
    out: list[bytes] = []
    for raw in lines:
        head = out[-1].partition(b":")[0].upper() if out else b""
        if b"QUOTED-PRINTABLE" in head and out[-1].endswith(b"="):
            out[-1] = out[-1][:-1] + raw
        elif out and raw[:1] in (b" ", b"\t"):
            out[-1] += raw[1:]
        elif b"BASE64" in head and re.fullmatch(rb"[A-Za-z0-9+/=]+", raw):
            out[-1] += raw
        elif raw.strip():
            out.append(raw)
    return out


def _held(lines: list[bytes]) -> Held:
    version_21 = any(b"QUOTED-PRINTABLE" in line.upper() or line.upper().startswith(b"VERSION:2.1")
                     for line in lines)
    props = []  # (name with any group, its parameters, its value as text, escapes still in)
    for line in _joined(lines):
        head, colon, value = line.partition(b":")
        name, *params = head.decode("ascii", "replace").upper().split(";")
        if colon and name.strip() != "VERSION":  # a line without a colon is no property at all
            params = [param.strip() for param in params]
            props.append((name.strip(), params, _text(params, value).replace("\r\n", "\n")))

    def values(name: str) -> list[str]:
        return [_unescape(text, version_21).strip() for full, _, text in props if full.rpartition(".")[2] == name]

    def parts(name: str) -> tuple[str, ...]:
        texts = [text for full, _, text in props if full.rpartition(".")[2] == name][:1]
        return tuple(_unescape(part, version_21).strip() for text in texts for part in re.split(r"(?<!\\);", text))

    return Held(props=Counter((name, None if name.rpartition(".")[2] in REWRITTEN else _unescape(text, version_21))
                              for name, _, text in props),
                fn=(values("FN") or [""])[0], n=parts("N"),
                organisation=", ".join(part for part in parts("ORG") if part),
                phones=tuple(phone[4:] if phone.lower().startswith("tel:") else phone
                             for phone in values("TEL") if phone),
                emails=tuple(email for email in values("EMAIL") if email),
                photos=tuple(photo for full, params, text in props if full.rpartition(".")[2] == "PHOTO"
                             if (photo := _photo(params, text)) is not None))


def _text(params: list[str], value: bytes) -> str:
    charset = next((param.partition("=")[2].strip('"') for param in params if param.startswith("CHARSET=")), "")
    if "QUOTED-PRINTABLE" in params or "ENCODING=QUOTED-PRINTABLE" in params:
        value = quopri.decodestring(value)
    try:
        return value.decode(charset or "utf-8")
    except (LookupError, UnicodeDecodeError):
        return value.decode("latin-1")


def _unescape(text: str, version_21: bool) -> str:
    if version_21:
        return text.replace("\\;", ";")
    return re.sub(r"\\(.)", lambda found: "\n" if found.group(1) in "nN" else found.group(1), text)


def _photo(params: list[str], value: str) -> bytes | None:
    if {"ENCODING=B", "ENCODING=BASE64", "BASE64"} & set(params):
        return base64.b64decode(re.sub(r"\s", "", value))
    if value.startswith("data:"):
        header, _, payload = value.replace("\\,", ",").partition(",")
        return base64.b64decode(payload) if header.endswith(";base64") else None
    return None  # a URL


def fits(contact_view: tuple, held: Held) -> bool:
    name, phones, emails, organisation, photo = contact_view
    return (held.name_fits(name) and (phones, emails, organisation) == (held.phones, held.emails, held.organisation)
            and photo == (held.photos[0] if held.photos else None))


# -- the tests ----------------------------------------------------------------------------------------------

@pytest.mark.parametrize("package, file, path", CASES)
def test_a_real_file_imports_with_names_numbers_emails_and_photos_intact(accounts, package, file, path):
    data = path.read_bytes()
    held = held_cards(data)
    assert held, "the reader of this test found no card"
    for card in held:
        for photo in card.photos:
            Image.open(io.BytesIO(photo)).verify()  # the bytes are an image, not a decoding's accident
    user = accounts.create()
    answer = import_file(user, data)
    assert answer.status_code == 201, answer.text
    assert answer.json()["imported"] == len(held)
    contacts = every_contact(user)
    views = [seen(contact, user) for contact in contacts]
    unmatched = list(held)
    for contact, view in zip(contacts, views):
        match = next((card for card in unmatched if fits(view, card)), None)
        assert match is not None, f"nothing in {file.member} is {view[:4]} (photo {view[4] is not None})"
        unmatched.remove(match)
        stored = held_cards(contact["vcard"].encode("utf-8"))[0]
        assert stored.photos == match.photos  # every photo a card has, bit for bit
        assert match.props - stored.props == Counter(), f"properties lost or changed in {view[0]!r}"
        assert {name for name, _ in stored.props - match.props} <= {"UID", "FN", "N"}
        assert_radicale_reads(contact["vcard"], view)
    assert not unmatched


def assert_radicale_reads(text: str, view: tuple) -> None:
    """The stored card as CardDAV serves it: Radicale's parser sees the same name, numbers, emails and photo."""
    parsed = vobject.readOne(text)
    assert parsed.fn.value.strip() == view[0]
    assert tuple(tel.value for tel in parsed.contents.get("tel", [])) == view[1]
    assert tuple(email.value for email in parsed.contents.get("email", []) if email.value) == view[2]
    if view[4] is not None:
        assert parsed.photo.value == view[4]


def shown(user) -> dict[str, tuple]:
    """uid -> what the account shows of each contact (name, numbers, emails, organisation, the photo's bytes)."""
    listed = user.http.get("/contacts", params={"limit": 1000}).json()
    assert listed["total"] == len(listed["contacts"])
    return {contact["uid"]: seen(contact, user) for contact in listed["contacts"]}


def export(user, version: str) -> bytes:
    answer = user.http.get("/contacts/export", params={"version": version})
    assert answer.status_code == 200, answer.text
    return answer.content


@pytest.mark.parametrize("package, file, path", CASES)
def test_a_real_file_exported_and_imported_again_is_the_same(accounts, package, file, path):
    source = accounts.create()
    assert import_file(source, path.read_bytes()).status_code == 201
    before = shown(source)
    exported = {version: export(source, version) for version in ("4.0", "3.0")}
    for version, data in exported.items():
        target = accounts.create()
        answer = import_file(target, data)
        assert answer.status_code == 201 and answer.json()["imported"] == len(before), answer.text
        assert shown(target) == before, f"through vCard {version}"
        # every card the same, property for property (UIDs and photos included), in both versions
        assert {again: export(target, again) for again in exported} == exported, f"through vCard {version}"


# -- the fetch script's own safety (no network) ----------------------------------------------------------------

def archive(*entries: tarfile.TarInfo, data: bytes = b"BEGIN:VCARD\r\nFN:x\r\nEND:VCARD\r\n") -> bytes:
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w:gz") as tar:
        for entry in entries:
            if entry.isreg():
                entry.size = len(data)
            tar.addfile(entry, io.BytesIO(data) if entry.isreg() else None)
    return out.getvalue()


def a_package(*members: str) -> Package:
    return Package("p", "1", "npm", "MIT", "https://registry.invalid/p.tgz", "0" * 64,
                   tuple(RealFile(member, "", True) for member in members))


def test_fetch_takes_only_the_chosen_regular_files(tmp_path):
    wanted, other = tarfile.TarInfo("package/test/a.vcf"), tarfile.TarInfo("package/test/b.vcf")
    fetch_real_vcards.extract(a_package("test/a.vcf"), archive(wanted, other), tmp_path / "p@1")
    assert [p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*") if p.is_file()] == ["p@1/test/a.vcf"]


@pytest.mark.parametrize("kind", [tarfile.SYMTYPE, tarfile.LNKTYPE])
def test_fetch_refuses_a_link_in_the_place_of_a_chosen_file(tmp_path, kind):
    link = tarfile.TarInfo("package/test/a.vcf")
    link.type, link.linkname = kind, "/etc/passwd"
    with pytest.raises(ValueError, match="not a regular file"):
        fetch_real_vcards.extract(a_package("test/a.vcf"), archive(link), tmp_path / "p@1")
    assert not any(tmp_path.rglob("*"))


@pytest.mark.parametrize("member", ["../escape.vcf", "/etc/escape.vcf", "test/../../escape.vcf", "a\\..\\b.vcf"])
def test_fetch_refuses_a_path_out_of_its_folder(tmp_path, member):
    with pytest.raises(ValueError, match="unsafe path"):
        fetch_real_vcards.extract(a_package(member), archive(tarfile.TarInfo("package/" + member)),
                                  tmp_path / "p@1")
    assert not any(tmp_path.rglob("*"))


def test_fetch_says_which_chosen_file_an_archive_lacks(tmp_path):
    with pytest.raises(ValueError, match="not in the archive: test/a.vcf"):
        fetch_real_vcards.extract(a_package("test/a.vcf"), archive(tarfile.TarInfo("package/x.vcf")), tmp_path)
