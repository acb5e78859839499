"""Messages import: a large SMS Backup & Restore messages file into phonecloud, against a plain
`lxml.etree.iterparse` pass over the same file.

The file (about 1 GB, made once into bench/.cache/) is written the way SMS Backup & Restore 10.x writes it:
the XML declaration, its comments and stylesheet instruction, `<smses count=...>`, then one `<sms .../>` per
line and `<mms>` records with `<parts>` and `<addrs>`, every value an attribute, `null` for absent ones.
Mostly SMS of varied length to a few hundred contacts (some with markup characters, line breaks and emoji);
about one record in 50 is an MMS with a photo (a real JPEG: one of the sample photos downscaled to MMS size,
each made unique by a COM segment, base64 in `data`) and a caption, and one in 200 a text-only group MMS.
Emoji are written as UTF-8 characters, not as the surrogate-pair references the app's "store emoji" option
writes: libxml2 refuses those (phonecloud repairs them), and the baseline must read the same file.

phonecloud: a fresh `phonecloud serve` (embedded defaults: SQLite, local disk, embedded workers on) per run;
the file is streamed with httpx as the raw body of `POST /api/v1/messages/imports`, then
`GET /api/v1/messages/imports/{id}` is polled every 0.2 s until it is finished. Timed from the start of the
upload to the import's end (what a user waits for); the import alone is its started_at to finished_at. The
server's VmRSS is sampled every 50 ms from before the upload to the import's end.

Baseline: a Python process running `for _, element in lxml.etree.iterparse(path, events=("end",),
huge_tree=True): element.clear()` and deleting the element's earlier siblings (the usual constant-memory
idiom), timed as a whole (interpreter start-up included) with its peak RSS sampled. It only parses: no
base64 decoding, no storing.
"""

from __future__ import annotations

import base64
import io
import json
import random
import statistics
import sys
import time
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path

import httpx
from PIL import Image

import corpus
from corpus import Corpus
from servers import BenchError, RssSampler, clean_env, run_client, status_kib
from sides import PhoneCloud, Tools
from workloads import MB, MIB_PER_KIB, Row, WorkloadResult, alternating

FILE_NAME = "sms.xml"
GENERATOR_VERSION = 1  # bump when the file's content changes, so the cached one is rebuilt
TARGETS = {"rate": 0.5, "rss_mib": 100}
POLL_S = 0.2
UPLOAD_CHUNK = 1 << 20
MMS_PHOTO_EVERY = 50  # one record in this many is an MMS with a photo
GROUP_MMS_EVERY = 200  # one in this many a text-only group MMS
CONTACTS = 300
OWN_NUMBER = "+4917612345678"
FIRST_MESSAGE = datetime(2019, 1, 1, 8, 0, tzinfo=timezone.utc)
MMS_LONG_SIDES = (640, 960, 1280)  # what phones and carriers scale an MMS photo down to
MMS_QUALITIES = (70, 80, 85)
HEADER_WIDTH = 200  # the <smses> start tag is padded to this, so its count can be written in afterwards

BASELINE_SCRIPT = """\
import sys
from lxml import etree
records = 0
for _event, element in etree.iterparse(sys.argv[1], events=("end",), huge_tree=True):
    if element.tag in ("sms", "mms"):
        records += 1
    element.clear()
    parent = element.getparent()
    if parent is not None:  # the root's siblings are the file's comments and instructions
        while element.getprevious() is not None:
            del parent[0]
print(records)
"""

WORDS = ("hallo morgen treffen wir uns um acht vor dem kino okay bis dann danke gerne ich bin gleich da "
         "kannst du mir bitte das foto schicken wann kommst du nach hause wir sehen uns heute abend "
         "see you later thanks for the photo are we still on for tomorrow running late sorry call me "
         "when you can happy birthday lunch at noon meeting moved to three").split()
EXTRAS = ("😀", "👍🏽", "❤️", "🎉", "😂", "&", "<3", '"ok"', "\n", "😊", "ü", "ß", "é")
SMIL = ('<smil><head><layout><root-layout/><region id="Image" fit="meet" top="0" left="0" height="80%" '
        'width="100%"/><region id="Text" top="80%" left="0" height="20%" width="100%"/></layout></head><body>'
        '<par dur="5000ms"><img src="image000000.jpg" region="Image"/><text src="text_0.txt" region="Text"/>'
        '</par></body></smil>')
_MARKUP = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "\n": "&#10;", "\r": "&#13;"})


# --- the file --------------------------------------------------------------------------------------------


def messages_corpus(cache_dir: Path, total_bytes: int, source_dir: Path) -> Corpus:
    """One SMS Backup & Restore messages file of about `total_bytes`, built once and cached."""
    def build(folder: Path) -> None:
        records = write_sbr_messages(folder / FILE_NAME, total_bytes, mms_photos(source_dir))
        (folder.parent / "records.json").write_text(json.dumps(records))

    return corpus.cached_corpus(cache_dir, f"messages-{total_bytes}", {"generator": GENERATOR_VERSION}, build)


def file_of(messages: Corpus) -> Path:
    return messages.path / FILE_NAME


def record_counts(messages: Corpus) -> dict[str, int]:
    """{"sms": n, "mms": n, "photos": n} of the cached file."""
    return json.loads((messages.path.parent / "records.json").read_text())


def describe_messages(messages: Corpus) -> str:
    counts = record_counts(messages)
    return (f"messages: one SMS Backup & Restore 10.x file, {messages.bytes / MB:,.0f} MB: {counts['sms']:,} SMS and "
            f"{counts['mms']:,} MMS ({counts['photos']:,} with a real JPEG photo of {counts['photo_kb_min']}-"
            f"{counts['photo_kb_max']} kB, base64; photos are {counts['photo_share']:.0%} of the file's bytes)")


def mms_photos(source_dir: Path) -> list[bytes]:
    """Real JPEGs of MMS size: each sample photo scaled down to a long side of 640-1280 px."""
    photos = []
    for source in corpus.photo_sources(source_dir):
        image = corpus._load_source(source)
        side = MMS_LONG_SIDES[source.index % len(MMS_LONG_SIDES)]
        scale = side / max(image.size)
        if scale < 1:
            image = image.resize((round(image.width * scale), round(image.height * scale)),
                                 Image.Resampling.BILINEAR)
        out = io.BytesIO()
        image.save(out, "JPEG", quality=MMS_QUALITIES[source.index % len(MMS_QUALITIES)])
        photos.append(out.getvalue())
    return photos


def _attributes(pairs: list[tuple[str, object]]) -> str:
    return " ".join(f'{name}="{"null" if value is None else str(value).translate(_MARKUP)}"' for name, value in pairs)


def _readable(moment: datetime) -> str:
    return moment.strftime("%b %d, %Y %I:%M:%S %p").replace(" 0", " ")


def _contact(number: int) -> tuple[str, str]:
    return f"+49151{number * 7919 % 10**8:08d}", f"Kontakt {number}"


def _sms(rng: random.Random, moment: datetime, count: int) -> str:
    number, name = _contact(rng.randrange(CONTACTS))
    words = [rng.choice(WORDS) for _ in range(int(rng.paretovariate(1.3) * 6))][:160]
    if rng.random() < 0.3:
        words.insert(rng.randrange(len(words) + 1), rng.choice(EXTRAS))
    box = 1 if rng.random() < 0.55 else 2
    date_ms = int(moment.timestamp() * 1000)
    return "  <sms " + _attributes([
        ("protocol", 0), ("address", number), ("date", date_ms), ("type", box), ("subject", None),
        ("body", " ".join(words)), ("toa", None), ("sc_toa", None),
        ("service_center", "+491760000443" if box == 1 else None), ("read", 1), ("status", -1), ("locked", 0),
        ("date_sent", date_ms - rng.randrange(5000) if box == 1 else 0), ("sub_id", 1),
        ("readable_date", _readable(moment)), ("contact_name", name)]) + " />\n"


def _part(seq: int, ct: str, *, text: str | None = None, data: bytes | None = None, name: str | None = None,
          cl: str | None = None, cid: str | None = None, chset: str | None = None) -> str:
    pairs = [("seq", seq), ("ct", ct), ("name", name), ("chset", chset), ("cd", None), ("fn", None), ("cid", cid),
             ("cl", cl), ("ctt_s", None), ("ctt_t", None), ("text", text), ("sef_type", 0)]
    encoded = f' data="{base64.b64encode(data).decode()}"' if data is not None else ""
    return "      <part " + _attributes(pairs) + encoded + " />\n"


def _mms(rng: random.Random, moment: datetime, count: int, photo: bytes | None) -> str:
    box = 1 if rng.random() < 0.6 else 2
    members = [_contact(rng.randrange(CONTACTS)) for _ in range(1 if photo is not None else rng.randint(2, 5))]
    sender = members[0][0] if box == 1 else "insert-address-token"
    addresses = [(sender, 137)] + [(number, 151) for number, _ in members[1 if box == 1 else 0:]]
    if box == 1 and len(members) > 1:
        addresses.append((OWN_NUMBER, 151))
    caption = " ".join(rng.choice(WORDS) for _ in range(rng.randint(1, 12)))
    parts = [_part(-1, "application/smil", text=SMIL, cid="<smil>", cl="smil.xml")]
    if photo is not None:
        parts.append(_part(0, "image/jpeg", data=photo, name=f"IMG_{count:07d}.jpg", cl=f"IMG_{count:07d}.jpg",
                           cid=f"<IMG_{count:07d}>"))
    parts.append(_part(0, "text/plain", text=caption, cl="text_0.txt", cid="<text_0>", chset=106))
    head = _attributes([
        ("date", int(moment.timestamp() * 1000)), ("rr", 129), ("sub", None),
        ("ct_t", "application/vnd.wap.multipart.related"), ("read_status", None), ("seen", 1), ("msg_box", box),
        ("address", "~".join(number for number, _ in members)), ("sub_cs", None), ("resp_st", None),
        ("retr_st", None), ("d_tm", None), ("text_only", 0 if photo is not None else 1), ("exp", None),
        ("locked", 0), ("m_id", f"mid-{count:08d}@mms.example"), ("st", None), ("retr_txt_cs", None),
        ("retr_txt", None), ("creator", "com.google.android.apps.messaging"),
        ("date_sent", int(moment.timestamp()) if box == 1 else 0), ("read", 1),
        ("m_size", len(photo) if photo else 512), ("rpt_a", None), ("ct_cls", None), ("pri", 129), ("sub_id", 1),
        ("tr_id", f"T{count:x}"), ("resp_txt", None), ("ct_l", None), ("m_cls", "personal"), ("d_rpt", 129),
        ("v", 18), ("_id", count), ("m_type", 132 if box == 1 else 128), ("readable_date", _readable(moment)),
        ("contact_name", ", ".join(name for _, name in members))])
    addrs = "".join(f'      <addr address="{number}" type="{kind}" charset="106" />\n' for number, kind in addresses)
    return f"  <mms {head}>\n    <parts>\n{''.join(parts)}    </parts>\n    <addrs>\n{addrs}    </addrs>\n  </mms>\n"


def write_sbr_messages(path: Path, total_bytes: int, photos: list[bytes]) -> dict:
    """Write the file as a stream; returns its record counts."""
    rng = random.Random(16)
    counts = {"sms": 0, "mms": 0, "photos": 0, "photo_bytes": 0}
    moment = FIRST_MESSAGE
    with open(path, "wb") as out:
        out.write(b"<?xml version='1.0' encoding='UTF-8' standalone='yes' ?>\n"
                  b"<!--File Created By SMS Backup & Restore v10.20.002 on 06/12/2026 10:30:00-->\n"
                  b"<!--To view this file in a more readable format, visit https://synctech.com.au/view-backup/ -->\n"
                  b'<?xml-stylesheet type="text/xsl" href="sms.xsl"?>\n')
        header_at = out.tell()
        out.write(b" " * HEADER_WIDTH + b"\n")
        written = out.tell()
        while written < total_bytes:
            number = counts["sms"] + counts["mms"] + 1
            moment += timedelta(seconds=rng.randrange(1, 900))
            if number % MMS_PHOTO_EVERY == 0:
                photo = corpus.with_comment(photos[number // MMS_PHOTO_EVERY % len(photos)],
                                            f"phonecloud bench MMS {number}".encode())
                record = _mms(rng, moment, number, photo)
                counts["mms"] += 1
                counts["photos"] += 1
                counts["photo_bytes"] += len(photo)
            elif number % GROUP_MMS_EVERY == 7:
                record = _mms(rng, moment, number, None)
                counts["mms"] += 1
            else:
                record = _sms(rng, moment, number)
                counts["sms"] += 1
            written += out.write(record.encode())
        out.write(b"</smses>\n")
        total = out.tell()
        header = (f'<smses count="{counts["sms"] + counts["mms"]}" backup_set="{uuid.UUID(int=rng.getrandbits(128))}" '
                  f'backup_date="{int(moment.timestamp() * 1000)}" type="full"').encode()
        out.seek(header_at)
        out.write(header.ljust(HEADER_WIDTH - 1) + b">")  # blanks before > are allowed in a start tag
    sizes = [len(photo) for photo in photos]
    counts |= {"photo_kb_min": min(sizes) // 1000, "photo_kb_max": max(sizes) // 1000,
               "photo_share": counts["photo_bytes"] * 4 / 3 / total}
    return counts


# --- the measurements ------------------------------------------------------------------------------------


class RssParts(RssSampler):
    """VmRSS as RssSampler samples it, and its two parts' peaks: RssAnon (the heap: what the process holds)
    and RssFile (file pages mapped in: SQLite reads its database through a memory map of up to 1 GiB, whose
    pages are the OS page cache's, shared, and counted in VmRSS once touched)."""

    def __enter__(self) -> RssParts:
        self.anon_before_kib = self.anon_peak_kib = status_kib(self.pid, "RssAnon")
        self.file_before_kib = self.file_peak_kib = status_kib(self.pid, "RssFile")
        return super().__enter__()

    def _sample(self) -> None:
        while not self._stop.wait(self.INTERVAL_S):
            self.peak_kib = max(self.peak_kib, status_kib(self.pid, "VmRSS"))
            self.anon_peak_kib = max(self.anon_peak_kib, status_kib(self.pid, "RssAnon"))
            self.file_peak_kib = max(self.file_peak_kib, status_kib(self.pid, "RssFile"))



def _moment(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text.replace("Z", "+00:00")) if text else None


def import_once(side: PhoneCloud, messages: Corpus, label: str, timeout_s: float) -> dict:
    """One upload + import into a fresh server: seconds, import seconds, RSS before/peak, the import's fields."""
    path = file_of(messages)

    def body():
        with open(path, "rb") as handle:
            while chunk := handle.read(UPLOAD_CHUNK):
                yield chunk

    with side.serve(label) as session, httpx.Client(
            base_url=session.url, headers={"Authorization": f"Bearer {session.key}"},
            timeout=httpx.Timeout(600.0, connect=15.0)) as http:
        with RssParts(session.pid) as rss:
            started = time.perf_counter()
            response = http.post("/api/v1/messages/imports", params={"filename": FILE_NAME, "size": messages.bytes},
                                 content=body(), headers={"Content-Type": "application/octet-stream",
                                                          "Content-Length": str(messages.bytes)})
            if response.status_code != 201:
                raise BenchError(f"the messages upload was refused: {response.status_code} {response.text[:500]}")
            uploaded = time.perf_counter() - started
            state = response.json()
            while not state["finished"]:
                if time.perf_counter() - started > timeout_s:
                    raise BenchError(f"the import was not finished after {timeout_s:.0f} s: {state}")
                time.sleep(POLL_S)
                state = http.get(f"/api/v1/messages/imports/{state['id']}").json()
            seconds = time.perf_counter() - started
    if state["state"] != "done" or state["error"] is not None or state["imported"] <= 0:
        raise BenchError(f"the import did not succeed: {state}")
    begun, ended = _moment(state.get("started_at")), _moment(state.get("finished_at"))
    return {"seconds": seconds, "upload_s": uploaded,
            "import_s": (ended - begun).total_seconds() if begun and ended else None,
            "rss_before_kib": rss.before_kib, "rss_peak_kib": rss.peak_kib,
            "anon_growth_kib": rss.anon_peak_kib - rss.anon_before_kib,
            "file_growth_kib": rss.file_peak_kib - rss.file_before_kib, "state": state}


def iterparse_once(tools: Tools, messages: Corpus) -> tuple[float, int, int]:
    """(seconds, peak RSS in KiB, records counted) of the plain lxml pass."""
    run = run_client([sys.executable, "-c", BASELINE_SCRIPT, str(file_of(messages))], clean_env(),
                     tools.client_timeout_s, tools.log_dir / "iterparse.log")
    return run.seconds, run.peak_rss_kib, int(run.stdout.strip())


def messages_import(tools: Tools, messages: Corpus, repeats: int) -> WorkloadResult:
    counts = record_counts(messages)
    records = counts["sms"] + counts["mms"]
    result = WorkloadResult(
        "Messages import",
        f"{messages.bytes / MB:,.0f} MB, {records:,} records. "
        + __doc__.split("\n\n", 1)[1].replace("\n\n", " ").replace("\n", " ")
        + f" Each side {repeats} runs, alternating; medians reported, rates are the file's MB per second.",
        baseline="lxml.etree.iterparse")
    side = PhoneCloud(tools, "phonecloud-messages")
    runs: dict[str, list] = {"phonecloud": [], "iterparse": []}
    for run, name in alternating(list(runs), repeats):
        if name == "phonecloud":
            measured = import_once(side, messages, f"messages-{run + 1}", tools.client_timeout_s)
            got = measured["state"]
            if got["records_read"] != records or got["imported"] + got["duplicates"] + got["skipped"] != records:
                raise BenchError(f"the import read {got['records_read']} records of {records}: {got}")
            runs[name].append(measured)
            print(f"    messages run {run + 1}/{repeats} phonecloud: {measured['seconds']:.2f} s "
                  f"(upload {measured['upload_s']:.2f} s, import {measured['import_s'] or 0:.2f} s), "
                  f"RSS +{(measured['rss_peak_kib'] - measured['rss_before_kib']) * MIB_PER_KIB:.1f} MiB", flush=True)
        else:
            seconds, peak_kib, counted = iterparse_once(tools, messages)
            if counted != records:
                raise BenchError(f"iterparse counted {counted} records, the file has {records}")
            runs[name].append((seconds, peak_kib))
            print(f"    messages run {run + 1}/{repeats} iterparse: {seconds:.2f} s, peak RSS "
                  f"{peak_kib * MIB_PER_KIB:.0f} MiB", flush=True)
    mb = messages.bytes / MB
    pc = runs["phonecloud"]
    pc_rate = mb / statistics.median(m["seconds"] for m in pc)
    lx_rate = mb / statistics.median(seconds for seconds, _ in runs["iterparse"])
    import_times = [m["import_s"] for m in pc if m["import_s"]]
    growth = max((m["rss_peak_kib"] - m["rss_before_kib"]) * MIB_PER_KIB for m in pc)
    result.rows = [
        Row("upload + import vs iterparse", "MB/s", pc_rate, lx_rate, pc_rate / lx_rate,
            f"phonecloud/iterparse MB/s (target ≥ {TARGETS['rate']})"),
    ]
    if import_times:
        import_rate = mb / statistics.median(import_times)
        result.rows.append(Row("import phase alone (started_at to finished_at) vs iterparse", "MB/s", import_rate,
                               lx_rate, import_rate / lx_rate, "phonecloud/iterparse MB/s (no target)"))
    result.rows += [
        Row("records per second, upload + import", "records/s", records / statistics.median(m["seconds"] for m in pc),
            records / statistics.median(seconds for seconds, _ in runs["iterparse"]), None),
        Row("server RSS growth during upload + import (max of runs)", "MiB", growth, None, None,
            f"target < {TARGETS['rss_mib']} MiB"),
        Row("of which RssAnon growth (heap; max of runs)", "MiB",
            max(m["anon_growth_kib"] for m in pc) * MIB_PER_KIB, None, None),
        Row("of which RssFile growth (mapped file pages, mostly SQLite's mmap; max of runs)", "MiB",
            max(m["file_growth_kib"] for m in pc) * MIB_PER_KIB, None, None),
        Row("peak RSS: server during the import / iterparse process (max of runs)", "MiB",
            max(m["rss_peak_kib"] for m in pc) * MIB_PER_KIB,
            max(peak for _, peak in runs["iterparse"]) * MIB_PER_KIB, None),
    ]
    result.runs = [
        f"phonecloud run {n + 1}: {m['seconds']:.2f} s = {mb / m['seconds']:.1f} MB/s (upload {m['upload_s']:.2f} s, "
        f"import {m['import_s'] if m['import_s'] is not None else float('nan'):.2f} s); server RSS before "
        f"{m['rss_before_kib'] * MIB_PER_KIB:.1f} MiB, peak {m['rss_peak_kib'] * MIB_PER_KIB:.1f} MiB "
        f"(+{(m['rss_peak_kib'] - m['rss_before_kib']) * MIB_PER_KIB:.1f}: RssAnon peak +{m['anon_growth_kib'] * MIB_PER_KIB:.1f}, "
        f"RssFile peak +{m['file_growth_kib'] * MIB_PER_KIB:.1f}); imported {m['state']['imported']:,}, "
        f"duplicates {m['state']['duplicates']}, skipped {m['state']['skipped']} {m['state']['skipped_reasons']}, "
        f"attachments {m['state']['attachments']:,}"
        for n, m in enumerate(pc)]
    result.runs += [f"iterparse run {n + 1}: {seconds:.2f} s = {mb / seconds:.1f} MB/s; peak RSS "
                    f"{peak * MIB_PER_KIB:.1f} MiB" for n, (seconds, peak) in enumerate(runs["iterparse"])]
    return result
