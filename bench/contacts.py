"""Contacts sync: an initial CardDAV sync of an address book of 10,000 contacts with vdirsyncer, and a no-op
re-sync, into phonecloud's CardDAV and into Radicale on its own file storage, in the same run.

The address book is a vdir made once into bench/.cache/ (seeded, so every run reads the same files): one
vCard 3.0 per `.vcf` file, named by its UID, with varied names (Latin with and without accents, Greek,
Cyrillic, Chinese, Japanese, Korean, Arabic), 1-3 phone numbers, 0-2 email addresses, and some with
ORG/TITLE, ADR, NOTE (with escaped commas, semicolons and line breaks), BDAY and NICKNAME; one in 20 has a
PHOTO, a small JPEG (96-160 px, made with Pillow from the bench's sample photos) inline in base64.

Each run starts a fresh server on a fresh folder and writes a vdirsyncer 0.21 config into a fresh folder
(`status_path` there too): one pair of a `filesystem` storage (the vdir, `fileext = ".vcf"`, `read_only =
true` so the cached vdir is never written) and a `carddav` storage (url, username, password),
`collections = null` (the one address book at the url) and `conflict_resolution = "a wins"`. Then
`vdirsyncer discover` (timed, but not part of the figures), `vdirsyncer sync` (the initial sync: it uploads
every contact, one `PUT` with `If-None-Match: *` after the other, as vdirsyncer does) and a second
`vdirsyncer sync` (the no-op: it lists both sides and must transfer nothing). Each is timed as a whole,
process start-up included. After the initial sync a `PROPFIND` (Depth 1) checks that the server lists every
contact as `text/vcard`, and that the etags it lists are the ones its `PUT`s returned (otherwise the no-op
re-sync has to download the contacts whose etag changed); the no-op must log no upload, update or deletion.
The server's VmRSS is sampled every 50 ms and its CPU time read during the initial sync.

phonecloud: a fresh `phonecloud serve` (embedded defaults: SQLite, local disk, embedded workers on), a user
made with `phonecloud admin create-user` and an API key with `phonecloud admin create-key`, as in the other
workloads; vdirsyncer syncs with `http://127.0.0.1:PORT/dav/{email}/contacts/` (the account's default address
book) with the email and the API key as Basic credentials.

Baseline: `python -m radicale` (the Radicale 3.9 that phonecloud itself depends on) with a config file of
its own: `multifilesystem` storage in a fresh folder (fsync on, its default), `auth type = none`, `rights
type = owner_only`, logging at `warning` (as `phonecloud serve`, it logs no line per request); the address
book `/bench/contacts/` is created with an extended MKCOL (RFC 5689) before vdirsyncer runs.

What the two servers do differently: phonecloud serves CardDAV with the same Radicale request handling,
embedded over its own database (a storage plugin) behind its own sign-in, which checks the API key on every
request. It stores each new contact in one SQLite transaction (WAL, synchronous=FULL: one fdatasync per
contact, counted with strace). Radicale's multifilesystem writes each new contact as a file plus an item
cache entry and fsyncs every file it writes (6 fsyncs per contact), and before storing it checks the new
contact's UID against every contact already in the address book (it reads them all through its item cache),
so its PUTs get slower as the address book grows: its initial sync time grows with the square of the count.

The contact count is 10,000 (500 with --quick); BENCH_CONTACTS=N overrides it for quick tries, e.g.
`BENCH_CONTACTS=500 .venv/bin/python bench/run.py --only contacts --results bench/.work/contacts-try.md`.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import random
import shutil
import sqlite3
import statistics
import subprocess
import sys
import time
import unicodedata
import uuid
import xml.etree.ElementTree as ET
from base64 import b64encode
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from urllib.parse import unquote, urlsplit

import httpx
from PIL import Image, ImageOps

import corpus
from corpus import Corpus
from servers import LOG_TAIL_BYTES, LOOPBACK, BenchError, RssSampler, clean_env, free_port, running_server
from sides import BENCH_EMAIL, PhoneCloud, Tools, fresh_dir
from workloads import MB, MIB_PER_KIB, Row, WorkloadResult, alternating

COUNT_VARIABLE = "BENCH_CONTACTS"  # overrides the contact count (run.py's Scale.contacts)
GENERATOR_VERSION = 1  # bump when the vCards' content changes, so the cached vdir is rebuilt
SEED = 20  # the generator's random seed
PHOTO_EVERY = 20  # one contact in this many has a PHOTO
PHOTO_SIDES = (96, 128, 160)
PHOTO_QUALITIES = (70, 80, 85)
RADICALE_USER = "bench"
PAIR = "contacts"
HTTP_TIMEOUT_S = 600
VCARD_TYPES = ("text/vcard", "text/x-vcard")  # what vdirsyncer's carddav storage accepts as an item
UPLOAD_LOG = "Copying (uploading) item"
CHANGE_LOGS = ("Copying (uploading)", "Copying (updating)", "Deleting item", "conflict resolution")

DAV = "{DAV:}"
MKCOL_ADDRESSBOOK = b"""<?xml version="1.0" encoding="utf-8"?>
<D:mkcol xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:carddav">
  <D:set><D:prop>
    <D:resourcetype><D:collection/><C:addressbook/></D:resourcetype>
    <D:displayname>Contacts</D:displayname>
  </D:prop></D:set>
</D:mkcol>
"""
PROPFIND_ETAGS = b"""<?xml version="1.0" encoding="utf-8"?>
<D:propfind xmlns:D="DAV:"><D:prop><D:resourcetype/><D:getcontenttype/><D:getetag/></D:prop></D:propfind>
"""

# --- the address book ------------------------------------------------------------------------------------

# (given name, family name, romanisation of both for the email address when they are not Latin)
LATIN_GIVEN = ("Anna", "Lukas", "Sophie", "Jonas", "Marie", "Felix", "Léa", "Hugo", "Chloé", "Théo", "Zoë",
               "Björn", "Åsa", "Jürgen", "Søren", "Ingrid", "María", "José", "Lucía", "Álvaro", "João", "Inês",
               "Giulia", "Matteo", "Francesca", "Łukasz", "Agnieszka", "Ondřej", "Tereza", "Ömer", "Ayşe",
               "Emily", "James", "Olivia", "Noah", "Ava", "Liam", "Charlotte", "Ethan", "Amelia", "Mohammed",
               "Fatima", "Priya", "Arjun", "Aisha", "Kwame", "Nia", "Siobhán", "Niamh", "Seán", "Ewa",
               "Mateusz", "Yuki", "Hiroshi", "Mei", "Wei", "Minh", "Thảo", "Nguyễn", "Kai", "Finn", "Ida")
LATIN_FAMILY = ("Müller", "Schmidt", "Schneider", "Fischer", "Weber", "Meyer", "Wagner", "Becker", "Hoffmann",
                "Dubois", "Lefèvre", "Moreau", "Laurent", "García", "Fernández", "González", "Rodríguez",
                "Sánchez", "Rossi", "Russo", "Ferrari", "Esposito", "Nowak", "Kowalski", "Wiśniewski",
                "Dvořák", "Novák", "Yılmaz", "Kaya", "Smith", "Johnson", "Williams", "Brown", "Jones",
                "O'Brien", "McCarthy", "Ó Súilleabháin", "Andersson", "Johansson", "Nielsen", "Hansen",
                "Jørgensen", "Virtanen", "Korhonen", "Silva", "Santos", "Oliveira", "Patel", "Sharma",
                "Okafor", "Mensah", "Nakamura", "Tanaka", "Chen", "Wang", "Tran", "Le", "van der Berg",
                "de Vries", "Van Dyke", "Al-Sayed", "Haddad", "Cohen", "Levi", "Papadopoulos", "Ivanova")
OTHER_NAMES = (  # (given, family, ascii given, ascii family)
    ("Γιώργος", "Παπαδόπουλος", "giorgos", "papadopoulos"), ("Ελένη", "Νικολάου", "eleni", "nikolaou"),
    ("Иван", "Петров", "ivan", "petrov"), ("Ольга", "Смирнова", "olga", "smirnova"),
    ("Дмитрий", "Кузнецов", "dmitry", "kuznetsov"), ("伟", "王", "wei", "wang"), ("芳", "李", "fang", "li"),
    ("静", "张", "jing", "zhang"), ("翔太", "佐藤", "shota", "sato"), ("さくら", "鈴木", "sakura", "suzuki"),
    ("محمد", "العلي", "mohammed", "alali"), ("فاطمة", "حسن", "fatima", "hassan"),
    ("민준", "김", "minjun", "kim"), ("서연", "이", "seoyeon", "lee"))
NICKNAMES = ("Annie", "Lu", "Sofi", "Jo", "Max", "Bea", "Chris", "Sam", "Alex", "Kiki", "Tom", "Nico")
COMPANIES = ("Acme GmbH", "Globex Corporation", "Initech", "Müller & Söhne KG", "Boulangerie Dupont",
             "Universität Heidelberg", "Stadtwerke München", "Northwind Traders", "Contoso Ltd.",
             "Hooli, Inc.", "Taller Mecánico García", "Studio Rossi; Architetti", "Charité Berlin",
             "Kowalski i Synowie", "Tanaka Shoji", "Vandelay Industries")
DEPARTMENTS = ("Sales", "Engineering", "Accounting", "HR", "Support", "Marketing", "Facilities")
TITLES = ("Project Manager", "Software Engineer", "Accountant", "Nurse", "Teacher", "Sales Representative",
          "Dentist", "Plumber", "Head of Marketing", "Research Assistant", "Lawyer", "Physiotherapist")
STREETS = ("Hauptstraße", "Bahnhofstraße", "Rue de la Paix", "Calle Mayor", "Via Roma", "High Street",
           "Main Street", "Kastanienallee", "Ulica Długa", "Storgatan", "Rua Augusta", "Elm Street")
CITIES = (("Berlin", "", "10115", "Germany"), ("München", "Bayern", "80331", "Germany"),
          ("Paris", "", "75002", "France"), ("Madrid", "", "28013", "Spain"), ("Roma", "RM", "00184", "Italy"),
          ("London", "", "SW1A 1AA", "United Kingdom"), ("Springfield", "IL", "62701", "USA"),
          ("Wien", "", "1010", "Austria"), ("Gdańsk", "", "80-831", "Poland"), ("Stockholm", "", "111 29", "Sweden"),
          ("Lisboa", "", "1100-053", "Portugal"), ("Zürich", "ZH", "8001", "Switzerland"))
NOTES = ("Met at the conference in Lisbon, 2019.", "Prefers WhatsApp; call after 6 pm.",
         "Neighbour (2nd floor). Has a spare key.", "Kindergarten: Mia's friend's mum",
         "Allergic to nuts; vegetarian", "Old number until March:\n+49 30 1234567",
         "Landlord — rent due on the 1st; IBAN on file", "Plumber; recommended by Jonas",
         "Book club, Thursdays", "Tennis partner 🎾", "Dr. appointment reminders; ask for Frau Weber")
MAIL_DOMAINS = ("gmail.com", "outlook.com", "web.de", "gmx.de", "yahoo.com", "icloud.com", "posteo.de",
                "example.org", "proton.me", "orange.fr")
PHONE_PLANS = (("+49", "151", 8), ("+49", "30", 8), ("+33", "6", 8), ("+34", "6", 8), ("+39", "3", 9),
               ("+44", "7700", 6), ("+1", "415", 7), ("+43", "664", 7), ("+48", "5", 8), ("+46", "70", 7))
PHONE_TYPES = ("CELL", "HOME", "WORK", "CELL", "WORK,FAX", "HOME")
EMAIL_TYPES = ("INTERNET,HOME", "INTERNET,WORK", "INTERNET")
REVISED = datetime(2024, 1, 1, tzinfo=UTC)

_TEXT_ESCAPES = str.maketrans({"\\": "\\\\", ",": "\\,", ";": "\\;", "\n": "\\n"})


def contacts_count(default: int) -> int:
    """The number of contacts to sync: BENCH_CONTACTS when set, else `default` (run.py's scale)."""
    value = os.environ.get(COUNT_VARIABLE, "").strip()
    if not value:
        return default
    try:
        count = int(value)
    except ValueError as error:
        raise SystemExit(f"{COUNT_VARIABLE}={value!r} is not a number") from error
    if count < 1:
        raise SystemExit(f"{COUNT_VARIABLE} must be at least 1")
    return count


def contacts_corpus(cache_dir: Path, count: int, source_dir: Path) -> Corpus:
    """A vdir of `count` vCard 3.0 files, built once and cached; its statistics in stats.json beside it."""
    def build(folder: Path) -> None:
        stats = write_vdir(folder, count, contact_photos(source_dir))
        (folder.parent / "stats.json").write_text(json.dumps(stats))

    return corpus.cached_corpus(cache_dir, f"contacts-{count}",
                                {"generator": GENERATOR_VERSION, "count": count, "seed": SEED,
                                 "sources": str(source_dir)}, build)


def vdir_stats(vdir: Corpus) -> dict:
    return json.loads((vdir.path.parent / "stats.json").read_text())


def describe_contacts(vdir: Corpus) -> str:
    stats = vdir_stats(vdir)
    return (f"contacts: a vdir of {vdir.files:,} vCard 3.0 files, {vdir.bytes / MB:,.1f} MB "
            f"({vdir.bytes / vdir.files:,.0f} bytes on average): {stats['phones']:,} phone numbers, "
            f"{stats['emails']:,} email addresses, {stats['orgs']:,} with ORG, {stats['adrs']:,} with ADR, "
            f"{stats['notes']:,} with NOTE, {stats['bdays']:,} with BDAY, {stats['photos']:,} with a PHOTO "
            f"(JPEG {stats['photo_kb_min']:.1f}-{stats['photo_kb_max']:.1f} kB, base64 inline); "
            f"{stats['non_latin']:,} names in Greek, Cyrillic, Chinese, Japanese, Korean or Arabic script, the others "
            f"Latin with and without accents; seeded ({SEED})")


def contact_photos(source_dir: Path) -> list[Image.Image]:
    """The sample photos (or the synthetic scenes), each scaled down once to a long side of 480 px."""
    images = []
    for source in corpus.photo_sources(source_dir):
        image = corpus._load_source(source)
        image.thumbnail((480, 480), Image.Resampling.BILINEAR)
        images.append(image)
    return images


def photo_jpeg(rng: random.Random, images: list[Image.Image]) -> bytes:
    """A small square contact photo: a random crop of a sample photo, 96-160 px, JPEG quality 70-85."""
    image = rng.choice(images)
    side = rng.randint(min(image.size) // 3, min(image.size))
    left, top = rng.randint(0, image.width - side), rng.randint(0, image.height - side)
    face = image.crop((left, top, left + side, top + side))
    size = rng.choice(PHOTO_SIDES)
    face = ImageOps.fit(face, (size, size), Image.Resampling.BILINEAR)
    out = io.BytesIO()
    face.save(out, "JPEG", quality=rng.choice(PHOTO_QUALITIES))
    return out.getvalue()


def _text(value: str) -> str:
    return value.translate(_TEXT_ESCAPES)


def _ascii(value: str) -> str:
    plain = unicodedata.normalize("NFKD", value).encode("ascii", "ignore").decode()
    return "".join(ch for ch in plain.lower() if ch.isalnum())


def fold(line: str) -> str:
    """A content line folded at 75 octets (RFC 2425/6350), never inside a UTF-8 character, CRLF-ended."""
    pieces, current, size = [], [], 0
    for char in line:
        width = len(char.encode())
        if size + width > 75:
            pieces.append("".join(current))
            current, size = [" "], 1
        current.append(char)
        size += width
    pieces.append("".join(current))
    return "\r\n".join(pieces) + "\r\n"


def _phone(rng: random.Random) -> str:
    country, area, digits = rng.choice(PHONE_PLANS)
    number = "".join(str(rng.randrange(10)) for _ in range(digits))
    style = rng.random()
    if style < 0.5:
        return f"{country} {area} {number}"
    if style < 0.8:
        return f"{country}{area}{number}"
    return f"0{area} {number[:len(number) // 2]} {number[len(number) // 2:]}"


def vcard(rng: random.Random, index: int, images: list[Image.Image], stats: dict) -> tuple[str, str]:
    """(UID, the vCard's text) of contact `index`."""
    uid = str(uuid.UUID(int=rng.getrandbits(128), version=4))
    if rng.random() < 0.12:
        given, family, ascii_given, ascii_family = rng.choice(OTHER_NAMES)
        stats["non_latin"] += 1
    else:
        given, family = rng.choice(LATIN_GIVEN), rng.choice(LATIN_FAMILY)
        ascii_given, ascii_family = _ascii(given), _ascii(family)
    cjk = "\u3040" <= family[0] <= "\u9fff" or "\uac00" <= family[0] <= "\ud7af"
    full = f"{family}{given}" if cjk else f"{given} {family}"  # Chinese, Japanese, Korean: family name first
    middle = rng.choice(("", "", "", "", "Maria", "J.", "Anne", "Paul")) if not cjk else ""
    lines = ["BEGIN:VCARD", "VERSION:3.0", "PRODID:-//phonecloud bench//contacts//EN", f"UID:{uid}",
             f"FN:{_text(full if not middle else f'{given} {middle} {family}')}",
             f"N:{_text(family)};{_text(given)};{_text(middle)};;"]
    if rng.random() < 0.08:
        lines.append(f"NICKNAME:{rng.choice(NICKNAMES)}")
    for number in range(rng.choice((1, 1, 1, 2, 2, 3))):
        kind = PHONE_TYPES[number] if number else "CELL"
        pref = ",PREF" if number == 0 and rng.random() < 0.3 else ""
        lines.append(f"TEL;TYPE={kind}{pref}:{_phone(rng)}")
        stats["phones"] += 1
    for number in range(rng.choice((0, 1, 1, 1, 2))):
        local = rng.choice((f"{ascii_given}.{ascii_family}", f"{ascii_given[:1]}{ascii_family}",
                            f"{ascii_given}{rng.randrange(100)}", f"{ascii_family}.{ascii_given}"))
        lines.append(f"EMAIL;TYPE={EMAIL_TYPES[number if number else rng.randrange(3)]}:"
                     f"{local}@{rng.choice(MAIL_DOMAINS)}")
        stats["emails"] += 1
    if rng.random() < 0.3:
        lines.append(f"ORG:{_text(rng.choice(COMPANIES))};{_text(rng.choice(DEPARTMENTS))}")
        if rng.random() < 0.6:
            lines.append(f"TITLE:{_text(rng.choice(TITLES))}")
        stats["orgs"] += 1
    if rng.random() < 0.2:
        city, region, postal, country = rng.choice(CITIES)
        street = f"{rng.choice(STREETS)} {rng.randint(1, 180)}"
        kind = rng.choice(("HOME", "HOME", "WORK"))
        lines.append(f"ADR;TYPE={kind}:;;{_text(street)};{_text(city)};{_text(region)};{_text(postal)};"
                     f"{_text(country)}")
        stats["adrs"] += 1
    if rng.random() < 0.15:
        lines.append(f"NOTE:{_text(rng.choice(NOTES))}")
        stats["notes"] += 1
    if rng.random() < 0.25:
        born = date(1940, 1, 1) + timedelta(days=rng.randrange(70 * 365))
        lines.append(f"BDAY:{born.isoformat()}")
        stats["bdays"] += 1
    if index % PHOTO_EVERY == PHOTO_EVERY // 2:
        jpeg = photo_jpeg(rng, images)
        lines.append(f"PHOTO;ENCODING=b;TYPE=JPEG:{b64encode(jpeg).decode()}")
        stats["photos"] += 1
        stats["photo_bytes"].append(len(jpeg))
    revised = REVISED + timedelta(minutes=rng.randrange(2 * 365 * 24 * 60))
    lines += [f"REV:{revised.strftime('%Y%m%dT%H%M%SZ')}", "END:VCARD"]
    return uid, "".join(fold(line) for line in lines)


def write_vdir(folder: Path, count: int, images: list[Image.Image]) -> dict:
    """`count` .vcf files named by their UIDs into `folder`; returns what describe_contacts shows."""
    rng = random.Random(SEED)
    stats = {key: 0 for key in ("phones", "emails", "orgs", "adrs", "notes", "bdays", "photos", "non_latin")}
    stats["photo_bytes"] = []
    for index in range(count):
        uid, text = vcard(rng, index, images, stats)
        (folder / f"{uid}.vcf").write_bytes(text.encode())
    sizes = stats.pop("photo_bytes") or [0]
    stats |= {"photo_kb_min": min(sizes) / 1000, "photo_kb_max": max(sizes) / 1000}
    return stats


# --- the servers -----------------------------------------------------------------------------------------


@dataclass
class Target:
    """An address book to sync into, and the server process that holds it."""

    url: str  # the collection, ending in /
    username: str
    password: str
    pid: int
    notes: list[str] = field(default_factory=list)


class Unavailable(Exception):
    """The side has no CardDAV (yet): reported as such, not as a failure."""


@contextlib.contextmanager
def radicale_target(tools: Tools, label: str):
    """A fresh `python -m radicale` on its own multifilesystem folder, with an empty address book."""
    home = fresh_dir(tools.work_dir / f"radicale-{label}")
    port = free_port()
    config = home / "radicale.conf"
    config.write_text(
        "[server]\n"
        f"hosts = {LOOPBACK}:{port}\n"
        "[auth]\ntype = none\n"
        "[rights]\ntype = owner_only\n"
        f"[storage]\nfilesystem_folder = {home / 'collections'}\n"
        "[logging]\nlevel = warning\n")
    base = f"http://{LOOPBACK}:{port}"
    command = [sys.executable, "-m", "radicale", "--config", str(config)]
    try:
        with running_server(command, clean_env(), tools.log_dir / f"radicale-{label}.server.log",
                            f"{base}/.web/") as process:
            target = Target(f"{base}/{RADICALE_USER}/contacts/", RADICALE_USER, "bench", process.pid)
            with _client(target) as http:
                made = http.request("MKCOL", target.url, content=MKCOL_ADDRESSBOOK,
                                    headers={"Content-Type": "application/xml; charset=utf-8"})
            if made.status_code != 201:
                raise BenchError(f"Radicale refused the address book's MKCOL: {made.status_code} {made.text[:500]}")
            yield target
    finally:
        shutil.rmtree(home, ignore_errors=True)


@contextlib.contextmanager
def phonecloud_target(tools: Tools, label: str):
    """A fresh `phonecloud serve` with a user and an API key; its default address book over CardDAV."""
    side = PhoneCloud(tools, "phonecloud-contacts")
    with side.serve(label) as session:
        target = Target(f"{session.url}/dav/{BENCH_EMAIL}/contacts/", BENCH_EMAIL, session.key, session.pid)
        with _client(target) as http:
            probe = http.request("PROPFIND", f"{session.url}/dav/", headers={"Depth": "0"})
            if probe.status_code in (404, 405):
                raise Unavailable(f"`PROPFIND /dav/` answered {probe.status_code}: phonecloud serves no CardDAV "
                                  "in this tree")
            if probe.status_code != 207:
                target.notes.append(f"PROPFIND /dav/ (Depth 0) answered {probe.status_code}, not 207")
            known = http.get(f"{session.url}/.well-known/carddav", follow_redirects=False)
            location = known.headers.get("location", "")
            if not (known.is_redirect and urlsplit(location).path.rstrip("/") == "/dav"):
                target.notes.append(f"GET /.well-known/carddav answered {known.status_code} "
                                    f"{location or '(no Location)'}, not a redirect to /dav/")
        yield target


def _client(target: Target) -> httpx.Client:
    return httpx.Client(auth=(target.username, target.password), timeout=httpx.Timeout(HTTP_TIMEOUT_S, connect=15.0))


def listed_etags(target: Target) -> tuple[dict[str, str], list[str]]:
    """({href path: etag} of the vCards a Depth 1 PROPFIND lists in the address book, [what else it listed])."""
    with _client(target) as http:
        response = http.request("PROPFIND", target.url, content=PROPFIND_ETAGS,
                                headers={"Depth": "1", "Content-Type": "application/xml; charset=utf-8"})
    if response.status_code != 207:
        raise BenchError(f"PROPFIND (Depth 1) {target.url} answered {response.status_code}: {response.text[:500]}")
    items, other = {}, []
    collection = urlsplit(target.url).path
    for each in ET.fromstring(response.content).iter(f"{DAV}response"):
        href = unquote(urlsplit(each.findtext(f"{DAV}href", "")).path)
        props = {}
        for propstat in each.iter(f"{DAV}propstat"):
            if "200" in (propstat.findtext(f"{DAV}status") or ""):
                for prop in propstat.iter(f"{DAV}prop"):
                    props.update({child.tag: child for child in prop})
        if href.rstrip("/") == collection.rstrip("/"):
            continue
        kind = (props[f"{DAV}getcontenttype"].text or "") if f"{DAV}getcontenttype" in props else ""
        etag = props[f"{DAV}getetag"].text if f"{DAV}getetag" in props else None
        if kind.split(";")[0].strip() in VCARD_TYPES and etag:
            items[href] = etag
        else:
            other.append(f"{href} ({kind or 'no content type'}, etag {etag})")
    return items, other


# --- vdirsyncer ------------------------------------------------------------------------------------------


def vdirsyncer_program() -> Path:
    beside = Path(sys.executable).parent / "vdirsyncer"
    found = beside if beside.exists() else shutil.which("vdirsyncer")
    if not found:
        raise BenchError("vdirsyncer is not installed: the contacts workload needs the `bench` extra")
    return Path(found)


def write_config(folder: Path, vdir: Path, target: Target) -> Path:
    """A vdirsyncer config pairing the vdir (a, read-only) with the address book (b); status in `folder`."""
    def quoted(value: str) -> str:
        return json.dumps(value)

    config = folder / "config"
    config.write_text(
        "[general]\n"
        f"status_path = {quoted(str(folder / 'status'))}\n\n"
        f"[pair {PAIR}]\n"
        'a = "local"\nb = "server"\ncollections = null\nconflict_resolution = "a wins"\n\n'
        "[storage local]\n"
        f'type = "filesystem"\npath = {quoted(str(vdir))}\nfileext = ".vcf"\nread_only = true\n\n'
        "[storage server]\n"
        f'type = "carddav"\nurl = {quoted(target.url)}\nusername = {quoted(target.username)}\n'
        f"password = {quoted(target.password)}\n")
    return config


@dataclass
class Timed:
    seconds: float
    output: str


def vdirsyncer(config: Path, step: str, timeout_s: float, log_path: Path) -> Timed:
    """`vdirsyncer -c config STEP contacts` to completion: wall seconds (start-up included) and its log."""
    command = [str(vdirsyncer_program()), "-c", str(config), step, PAIR]
    started = time.perf_counter()
    try:
        done = subprocess.run(command, check=False, env=clean_env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                              stdin=subprocess.DEVNULL, text=True, timeout=timeout_s)
    except subprocess.TimeoutExpired as timeout:
        raise BenchError(f"vdirsyncer {step} did not finish within {timeout_s:.0f} s") from timeout
    seconds = time.perf_counter() - started
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with open(log_path, "a") as log:
        log.write(f"$ {' '.join(command)}\n{done.stdout}\n[{seconds:.2f} s, exit {done.returncode}]\n")
    if done.returncode != 0:
        raise BenchError(f"vdirsyncer {step} exited with {done.returncode} (log {log_path}):\n"
                         f"{done.stdout[-LOG_TAIL_BYTES:]}")
    return Timed(seconds, done.stdout)


def cpu_seconds(pid: int) -> float:
    """utime + stime of a process so far (0 once it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def stored_etags(status_dir: Path) -> dict[str, str]:
    """{href path: etag} as vdirsyncer recorded them for the server side (what its PUTs answered)."""
    database = status_dir / f"{PAIR}.items"
    if not database.exists():
        return {}
    with contextlib.closing(sqlite3.connect(database)) as connection:
        rows = connection.execute("SELECT href_b, etag_b FROM status").fetchall()
    return {unquote(urlsplit(href).path): etag for href, etag in rows if href}


def sync_once(open_target, tools: Tools, vdir: Corpus, name: str, label: str) -> dict:
    """One fresh server: discover, initial sync, checks, no-op sync. Returns the run's figures."""
    log_path = tools.log_dir / f"{name}-{label}.vdirsyncer.log"
    folder = fresh_dir(tools.work_dir / f"vdirsyncer-{name}-{label}")
    try:
        with open_target(tools, label) as target:
            config = write_config(folder, vdir.path, target)
            discover = vdirsyncer(config, "discover", tools.client_timeout_s, log_path)
            load_before = os.getloadavg()[0]
            cpu_before = cpu_seconds(target.pid)
            with RssSampler(target.pid) as rss:
                initial = vdirsyncer(config, "sync", tools.client_timeout_s, log_path)
            server_cpu = cpu_seconds(target.pid) - cpu_before
            uploads = initial.output.count(UPLOAD_LOG)
            if uploads != vdir.files:
                raise BenchError(f"the initial sync into {name} uploaded {uploads} contacts of {vdir.files} "
                                 f"(log {log_path})")
            listed, other = listed_etags(target)
            if len(listed) != vdir.files:
                raise BenchError(f"{name} lists {len(listed)} vCards after the initial sync, expected {vdir.files}; "
                                 f"other members: {other[:5]}")
            recorded = stored_etags(folder / "status")
            changed = sum(1 for href, etag in recorded.items() if listed.get(href) != etag)
            noop = vdirsyncer(config, "sync", tools.client_timeout_s, log_path)
            changes = [line for line in noop.output.splitlines() if any(word in line for word in CHANGE_LOGS)]
            if changes:
                raise BenchError(f"the no-op re-sync with {name} changed {len(changes)} items, e.g. {changes[:3]}")
            notes = target.notes + ([f"{len(other)} other members listed, e.g. {other[:3]}"] if other else [])
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    return {"discover_s": discover.seconds, "initial_s": initial.seconds, "noop_s": noop.seconds,
            "rss_before_kib": rss.before_kib, "rss_peak_kib": rss.peak_kib, "server_cpu_s": server_cpu,
            "load_before": load_before, "etags_changed": changed, "etags_recorded": len(recorded),
            "notes": notes}


# --- the workload ----------------------------------------------------------------------------------------


def contacts_sync(tools: Tools, vdir: Corpus, repeats: int) -> WorkloadResult:
    count = vdir.files
    method = __doc__.split("\n\n", 1)[1].rsplit("\n\n", 1)[0]
    result = WorkloadResult(
        "Contacts sync (CardDAV)",
        f"{count:,} contacts, {vdir.bytes / MB:,.1f} MB of vCards. "
        + method.replace("\n\n", " ").replace("\n", " ")
        + f" Each side {repeats} runs, alternating; medians reported. Ratios are phonecloud/Radicale: above 1 "
        "is better for contacts/s, below 1 is better for seconds.",
        baseline="Radicale")
    targets = {"phonecloud": phonecloud_target, "radicale": radicale_target}
    runs: dict[str, list[dict]] = {name: [] for name in targets}
    unavailable: str | None = None
    for run, name in alternating(list(targets), repeats):
        if name == "phonecloud" and unavailable:
            continue
        try:
            measured = sync_once(targets[name], tools, vdir, name, f"contacts-{run + 1}")
        except Unavailable as reason:
            unavailable = str(reason)
            print(f"    contacts: phonecloud unavailable: {unavailable}", flush=True)
            continue
        runs[name].append(measured)
        print(f"    contacts run {run + 1}/{repeats} {name}: initial sync {measured['initial_s']:.2f} s "
              f"({count / measured['initial_s']:.0f} contacts/s), no-op {measured['noop_s']:.2f} s, "
              f"discover {measured['discover_s']:.2f} s; server CPU {measured['server_cpu_s']:.1f} s, RSS "
              f"+{(measured['rss_peak_kib'] - measured['rss_before_kib']) * MIB_PER_KIB:.1f} MiB"
              + (f"; {measured['etags_changed']} etags listed differ from the PUTs'" if measured["etags_changed"]
                 else "") + "".join(f"; {note}" for note in measured["notes"]), flush=True)

    def median(name: str, key: str) -> float | None:
        return statistics.median(m[key] for m in runs[name]) if runs[name] else None

    def ratio(pc: float | None, rad: float | None) -> float | None:
        return pc / rad if pc is not None and rad else None

    rates = {name: (count / median(name, "initial_s") if runs[name] else None) for name in runs}
    noops = {name: median(name, "noop_s") for name in runs}
    cpu = {name: median(name, "server_cpu_s") for name in runs}
    growth = {name: (max((m["rss_peak_kib"] - m["rss_before_kib"]) * MIB_PER_KIB for m in runs[name])
                     if runs[name] else None) for name in runs}
    discover = {name: median(name, "discover_s") for name in runs}
    result.rows = [
        Row("initial sync (uploads every contact)", "contacts/s", rates["phonecloud"], rates["radicale"],
            ratio(rates["phonecloud"], rates["radicale"]), "phonecloud/Radicale contacts/s"),
        Row("no-op re-sync", "s", noops["phonecloud"], noops["radicale"], ratio(noops["phonecloud"], noops["radicale"]),
            "phonecloud s / Radicale s (below 1: phonecloud faster)"),
        Row("server CPU time during the initial sync", "s", cpu["phonecloud"], cpu["radicale"],
            ratio(cpu["phonecloud"], cpu["radicale"]), "phonecloud s / Radicale s"),
        Row("server RSS growth during the initial sync (max of runs)", "MiB", growth["phonecloud"], growth["radicale"]),
        Row("vdirsyncer discover (not in the figures above)", "s", discover["phonecloud"], discover["radicale"]),
    ]
    if unavailable:
        result.runs.append(f"phonecloud: unavailable, not measured: {unavailable}")
    for name, measured_runs in runs.items():
        for n, m in enumerate(measured_runs):
            etags = (f"; {m['etags_changed']:,} of {m['etags_recorded']:,} etags listed after the sync differ "
                     "from what the PUTs answered" if m["etags_changed"] else "")
            result.runs.append(
                f"{name} run {n + 1}: initial sync {m['initial_s']:.2f} s = {count / m['initial_s']:.0f} contacts/s, "
                f"no-op re-sync {m['noop_s']:.2f} s, discover {m['discover_s']:.2f} s; server CPU during the "
                f"initial sync {m['server_cpu_s']:.1f} s, server RSS before {m['rss_before_kib'] * MIB_PER_KIB:.1f} "
                f"MiB, peak {m['rss_peak_kib'] * MIB_PER_KIB:.1f} MiB; load before {m['load_before']:.2f}{etags}"
                + "".join(f"; {note}" for note in m["notes"]))
    if not runs["radicale"]:
        raise BenchError("no Radicale run was measured")
    return result
