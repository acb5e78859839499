"""EXIF crafted to make libexif (inside libvips) work for seconds, and the CPU budget of the render sandbox.

A 60 KB JPEG whose IFD0 holds 5,000 pointers to itself cost 11.5 s of CPU to render. Such EXIF is now found
by a bounded walk (media/exif_guard.py), kept from libvips (the file is rendered from a copy without it,
turned by the orientation the walk read) and reported with the file's metadata; what cannot be stripped is
bounded by the sandbox's CPU budget per file. Nothing here asserts on time: work is counted instead.
"""

from __future__ import annotations

import datetime
import hashlib
import io
import os
import random
import struct
import tempfile
from pathlib import Path

import pytest
from PIL import Image

from conftest import SHARED_CORPUS, shared_corpus_files
from phonecloud.media import derivatives, exif_guard, metadata
from phonecloud.media.derivatives import PREVIEW, THUMBNAIL, Rendered, RenderError
from phonecloud.media.exif_guard import check_file, check_path, check_tiff, copy_without_exif, exif_free_copy
from phonecloud.media.sandbox import RenderSandbox
from phonecloud.media.sniff import JPEG, PNG, WEBP, MediaType, sniff

RED = (220, 20, 20)
BLUE = (20, 20, 220)
SEEN = (400, 300)  # the upright size; stored turned a quarter for orientation 6
MODIFIED = datetime.datetime(2024, 5, 6, 7, 8, 9, tzinfo=datetime.UTC)
POINTERS = {0x8769: "EXIF IFD", 0x8825: "GPS IFD", 0xA005: "Interop IFD"}
CONTAINERS = {"jpeg": JPEG, "png": PNG, "webp": WEBP}


# --- making files -------------------------------------------------------------------------------------------


def ifd(order: str, entries: list[tuple[int, int, int, int]], next_ifd: int = 0) -> bytes:
    packed = b"".join(struct.pack(order + "HHII", *entry) for entry in entries)
    return struct.pack(order + "H", len(entries)) + packed + struct.pack(order + "I", next_ifd)


def short_entry(order: str, tag: int, value: int) -> tuple[int, int, int, int]:
    """A SHORT stored in the first two bytes of the value field, whatever the byte order."""
    return tag, 3, 1, struct.unpack(order + "I", struct.pack(order + "HH", value, 0))[0]


def tiff(order: str, *ifds: bytes) -> bytes:
    return (b"II*\x00" if order == "<" else b"MM\x00*") + struct.pack(order + "I", 8) + b"".join(ifds)


def self_pointing(count: int, tag: int = 0x8769, order: str = "<", orientation: int | None = 6) -> bytes:
    """IFD0 whose entries (after an optional Orientation) all point at IFD0 itself, at byte 8."""
    entries = [short_entry(order, 0x0112, orientation)] if orientation else []
    return tiff(order, ifd(order, entries + [(tag, 4, 1, 8)] * count))


def looping(order: str = "<") -> bytes:
    """IFD0 -> EXIF IFD -> IFD0."""
    exif_at = 8 + 2 + 2 * 12 + 4
    return tiff(order, ifd(order, [short_entry(order, 0x0112, 6), (0x8769, 4, 1, exif_at)]),
                ifd(order, [(0x8769, 4, 1, 8)]))


def quadrants(size=SEEN) -> Image.Image:
    """Top-left quadrant red, the rest blue: which way up it is shows in two pixels."""
    image = Image.new("RGB", size, BLUE)
    image.paste(RED, (0, 0, size[0] // 2, size[1] // 2))
    return image


def stored_for_6() -> Image.Image:
    return quadrants().transpose(Image.Transpose.ROTATE_90)  # what a camera stores for orientation 6


def encoded(image: Image.Image, kind: str, exif: bytes | None) -> bytes:
    """The image as JPEG (EXIF spliced in by hand: Pillow would rewrite it), PNG (eXIf) or WebP (EXIF)."""
    buffer = io.BytesIO()
    if kind == "jpeg":
        image.save(buffer, "JPEG", quality=92)
        data = buffer.getvalue()
        if exif is None:
            return data
        segment = b"Exif\x00\x00" + exif
        assert len(segment) + 2 <= 0xFFFF
        return data[:2] + b"\xff\xe1" + struct.pack(">H", len(segment) + 2) + segment + data[2:]
    options = {"exif": exif} if exif is not None else {}
    image.save(buffer, "PNG" if kind == "png" else "WEBP", **options, **({"lossless": True} if kind == "webp" else {}))
    return buffer.getvalue()


def sane_exif(orientation: int = 6) -> bytes:
    """What a phone writes: IFD0 with Make, Model, Orientation and a date; EXIF, GPS and Interop IFDs."""
    exif = Image.Exif()
    exif[0x010F], exif[0x0110], exif[0x0112], exif[0x0132] = "Phonemaker", "Phone 1", orientation, "2021:03:04 05:06:07"
    details = exif.get_ifd(0x8769)
    details[0x9003], details[0x9004] = "2021:03:04 05:06:07", "2021:03:04 05:06:07"
    details[0x9010], details[0x829A], details[0x920A] = "+02:00", 1 / 120, 4.25
    gps = exif.get_ifd(0x8825)
    gps[1], gps[2], gps[3], gps[4] = "N", (48.0, 51.0, 29.0), "E", (2.0, 17.0, 40.0)
    exif.get_ifd(0xA005)[1] = "R98"
    return exif.tobytes()[6:]  # without "Exif\0\0": encoded() adds what each container needs


def write(tmp_path: Path, name: str, data: bytes) -> str:
    path = tmp_path / name
    path.write_bytes(data)
    return str(path)


# --- checking rendered images -------------------------------------------------------------------------------


def near(pixel, colour) -> bool:
    return all(abs(a - b) <= 40 for a, b in zip(pixel, colour))


def render(path: str, media: MediaType) -> dict[str, Rendered]:
    """Both derivatives, each made by a render of its own."""
    return {name: derivatives.render(path, media, name) for name in (THUMBNAIL, PREVIEW)}


def assert_upright(rendered: dict[str, Rendered]) -> None:
    assert set(rendered) == {THUMBNAIL, PREVIEW}
    for name, one in rendered.items():
        assert (one.width, one.height) == SEEN
        image = Image.open(io.BytesIO(one.image)).convert("RGB")
        assert image.width > image.height, f"{name} is {image.size}: not turned upright"
        corner, far = image.getpixel((3, 3)), image.getpixel((image.width - 4, image.height - 4))
        assert near(corner, RED) and near(far, BLUE), f"{name}: top-left {corner}, bottom-right {far}"


def extract(path: str, media: MediaType) -> metadata.Metadata:
    return metadata.extract(path, media, "photo." + media.extension, MODIFIED)


# --- the walk -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("order", ["<", ">"])
@pytest.mark.parametrize("tag", sorted(POINTERS))
@pytest.mark.parametrize("count", [1000, 5000])
def test_self_pointing_ifd_is_pathological(count, tag, order):
    check = check_tiff(self_pointing(count, tag, order))
    assert check.problem is not None and "byte 8 is referenced" in check.problem
    assert check.orientation == 6
    assert check.entries_walked <= exif_guard.MAX_TOTAL_ENTRIES + 1  # counted work, never the whole file's


def test_the_problem_says_how_often():
    assert check_tiff(self_pointing(1000, orientation=None)).problem == "the IFD at byte 8 is referenced 1001 times"


def test_walk_stops_at_its_caps():
    # 65,535 self-pointers (the most an IFD can declare): the walk stops at the total cap.
    check = check_tiff(self_pointing(65_534))
    assert check.problem is not None
    assert check.entries_walked == exif_guard.MAX_TOTAL_ENTRIES + 1
    # A chain of many small IFDs (IFD0 -> IFD1 -> ...): stops at the IFD cap.
    chain, start = [], 8
    for index in range(500):
        start += 2 + 12 + 4
        chain.append(ifd("<", [(0x010F, 2, 4, 0x41414141)], next_ifd=start if index < 499 else 0))
    check = check_tiff(tiff("<", *chain))
    assert check.problem == f"it has more than {exif_guard.MAX_IFDS} IFDs"
    assert check.entries_walked <= exif_guard.MAX_IFDS


@pytest.mark.parametrize("order", ["<", ">"])
def test_a_loop_is_pathological(order):
    check = check_tiff(looping(order))
    assert "loop" in check.problem and check.orientation == 6


def test_three_pointers_to_one_ifd_are_pathological():
    target = 8 + 2 + 4 * 12 + 4
    block = tiff("<", ifd("<", [short_entry("<", 0x0112, 1), (0x8769, 4, 1, target), (0x8825, 4, 1, target),
                                (0xA005, 4, 1, target)]), ifd("<", []))
    assert check_tiff(block).problem == f"the IFD at byte {target} is referenced 3 times"


def test_two_pointers_to_one_ifd_are_tolerated():
    # A real camera's file (corpus jpg/tests/45-gps_ifd.jpg) points an empty GPS tag at its EXIF IFD.
    target = 8 + 2 + 2 * 12 + 4
    block = tiff("<", ifd("<", [(0x8769, 4, 1, target), (0x8825, 4, 0, target)]),
                 ifd("<", [(0x9003, 2, 20, 0)]))
    assert check_tiff(block).problem is None


def test_an_ifd_with_too_many_entries_is_pathological():
    count = exif_guard.MAX_IFD_ENTRIES + 1
    block = tiff("<", ifd("<", [(0x1000 + index, 3, 1, 1) for index in range(count)]))
    assert check_tiff(block).problem.startswith(f"IFD0 at byte 8 has {count} entries")


def test_values_that_overlap_many_times_are_pathological():
    values_at = 8 + 2 + 60 * 12 + 4
    block = tiff("<", ifd("<", [(0x9286, 7, 1000, values_at)] * 59 + [(0x8769, 4, 1, 0)])) + bytes(1000)
    check = check_tiff(block)
    assert "refer to" in check.problem and "times its own" in check.problem


def test_not_tiff_is_not_pathological():
    for block in (b"", b"Exif\x00\x00", b"II*\x00", b"garbage" * 100, b"MM\x00*\xff\xff\xff\xff"):
        assert check_tiff(block).problem is None


def test_sane_exif_is_not_pathological():
    for order in ("<", ">"):
        check = check_tiff(sane_exif() if order == "<" else big_endian_sane())
        assert check.problem is None and check.orientation == 6, order


def big_endian_sane() -> bytes:
    exif_at = 8 + 2 + 3 * 12 + 4
    gps_at = exif_at + 2 + 12 + 4
    return tiff(">", ifd(">", [short_entry(">", 0x0112, 6), (0x8769, 4, 1, exif_at), (0x8825, 4, 1, gps_at)]),
                ifd(">", [short_entry(">", 0x9209, 0)]), ifd(">", [(0x0000, 1, 4, 0x02020000)]))


def test_damaged_blocks_never_raise():
    """Random damage to a real block: the walk answers (fine or not) and never raises."""
    original = bytearray(sane_exif())
    chooser = random.Random(14)
    for _ in range(2000):
        damaged = bytearray(original)
        for _ in range(chooser.randint(1, 8)):
            damaged[chooser.randrange(len(damaged))] = chooser.randrange(256)
        damaged = damaged[: chooser.randint(0, len(damaged))] if chooser.random() < 0.2 else damaged
        check = check_tiff(bytes(damaged))
        assert check.entries_walked <= exif_guard.MAX_TOTAL_ENTRIES + exif_guard.MAX_IFD_ENTRIES + 1


# --- stripping ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", sorted(CONTAINERS))
def test_a_copy_without_exif_keeps_everything_else(tmp_path, kind):
    data = encoded(stored_for_6(), kind, self_pointing(1000))
    path = write(tmp_path, f"evil.{kind}", data)
    media = CONTAINERS[kind]
    assert check_path(path, media).problem is not None
    with exif_free_copy(path, media) as copy:
        clean = Path(copy).read_bytes()
        assert Path(copy).parent == Path(tempfile.gettempdir())
    assert not os.path.exists(copy)  # removed afterwards
    assert Path(path).read_bytes() == data  # the original is never touched
    assert sniff(clean[:4096]) == media
    assert len(data) - len(clean) >= 1000 * 12
    assert check_file(io.BytesIO(clean), media).problem is None
    with Image.open(io.BytesIO(clean)) as stripped, Image.open(io.BytesIO(data)) as original:
        assert not stripped.getexif()
        assert stripped.convert("RGB").tobytes() == original.convert("RGB").tobytes()
    if kind == "webp":
        assert int.from_bytes(clean[4:8], "little") == len(clean) - 8
        assert clean[12:16] == b"VP8X" and not clean[20] & 0x08  # no EXIF flag left
        assert b"EXIF" not in clean
    if kind == "png":
        assert b"eXIf" not in clean and clean.endswith(b"IEND\xaeB`\x82")
    if kind == "jpeg":
        assert b"Exif\x00\x00" not in clean


def test_copy_streams_in_pieces():
    """A file larger than the copy's buffer is copied whole, in order."""
    body = os.urandom(3 * (1 << 20) + 17)
    segment = b"Exif\x00\x00" + self_pointing(100)
    data = b"\xff\xd8\xff\xe1" + struct.pack(">H", len(segment) + 2) + segment + b"\xff\xda\x00\x02" + body
    destination = io.BytesIO()
    copy_without_exif(io.BytesIO(data), destination, JPEG)
    assert destination.getvalue() == b"\xff\xd8\xff\xda\x00\x02" + body


# --- rendering and metadata ---------------------------------------------------------------------------------


@pytest.mark.parametrize("order", ["<", ">"])
@pytest.mark.parametrize("tag", sorted(POINTERS))
@pytest.mark.parametrize("count", [1000, 5000])
@pytest.mark.parametrize("kind", sorted(CONTAINERS))
def test_pathological_exif_is_ignored_and_the_photo_rendered_upright(tmp_path, kind, count, tag, order):
    path = write(tmp_path, f"evil.{kind}", encoded(stored_for_6(), kind, self_pointing(count, tag, order)))
    media = CONTAINERS[kind]
    meta = extract(path, media)
    ignored = [problem for problem in meta.problems if problem.startswith("EXIF ignored: ")]
    assert ignored and "byte 8 is referenced" in ignored[0] and "orientation (6)" in ignored[0], meta.problems
    assert meta.orientation == 6
    assert_upright(render(path, media))


@pytest.mark.parametrize("kind", sorted(CONTAINERS))
def test_a_loop_is_ignored_too(tmp_path, kind):
    path = write(tmp_path, f"loop.{kind}", encoded(stored_for_6(), kind, looping()))
    assert any("loop" in problem for problem in extract(path, CONTAINERS[kind]).problems)
    assert_upright(render(path, CONTAINERS[kind]))


def test_without_an_orientation_it_is_rendered_as_stored(tmp_path):
    path = write(tmp_path, "evil.jpg", encoded(quadrants(), "jpeg", self_pointing(2000, orientation=None)))
    meta = extract(path, JPEG)
    assert meta.orientation is None and meta.problems[0] == "EXIF ignored: the IFD at byte 8 is referenced 2001 times"
    assert_upright(render(path, JPEG))


def test_metadata_does_not_parse_what_was_ignored(tmp_path, monkeypatch):
    path = write(tmp_path, "evil.jpg", encoded(stored_for_6(), "jpeg", self_pointing(5000)))

    def refuse(*_, **__):
        raise AssertionError("exifread was given EXIF the guard rejected")

    monkeypatch.setattr(metadata.exifread, "process_file", refuse)
    assert extract(path, JPEG).orientation == 6


def test_the_temporary_copy_is_removed(tmp_path, monkeypatch):
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    path = write(tmp_path, "evil.png", encoded(stored_for_6(), "png", self_pointing(1000)))
    before = hashlib.sha256(Path(path).read_bytes()).hexdigest()
    assert_upright(render(path, PNG))
    assert list(scratch.iterdir()) == []
    assert hashlib.sha256(Path(path).read_bytes()).hexdigest() == before


@pytest.mark.parametrize("kind", sorted(CONTAINERS))
def test_normal_exif_is_used_as_before(tmp_path, kind):
    path = write(tmp_path, f"phone.{kind}", encoded(stored_for_6(), kind, sane_exif(orientation=6)))
    media = CONTAINERS[kind]
    assert check_path(path, media) == exif_guard.ExifCheck(None, 6, check_path(path, media).entries_walked)
    meta = extract(path, media)
    assert not [problem for problem in meta.problems if "EXIF" in problem], meta.problems
    if kind != "webp":  # exifread (3.5) finds no EXIF in the WebP files Pillow writes, guard or not
        assert meta.orientation == 6
        assert meta.taken_at == datetime.datetime(2021, 3, 4, 5, 6, 7) and meta.date_source == "exif"
        assert meta.make == "Phonemaker" and meta.latitude == pytest.approx(48.858, abs=1e-3)
    assert_upright(render(path, media))  # libvips turns it by its own reading of the EXIF


def test_through_the_sandbox(tmp_path):
    path = write(tmp_path, "evil.jpg", encoded(stored_for_6(), "jpeg", self_pointing(5000)))
    with RenderSandbox(timeout_seconds=60) as sandbox:
        meta, rendered, error = sandbox.process(path, JPEG, "evil.jpg", MODIFIED)
        preview = sandbox.render(path, JPEG, PREVIEW)
    assert error is None and rendered is not None
    assert_upright({THUMBNAIL: rendered, PREVIEW: preview})
    assert meta.orientation == 6 and meta.problems[0].startswith("EXIF ignored: the IFD at byte 8 is referenced")


CORPUS = [path for path in shared_corpus_files() if sniff(path.read_bytes()[:4096]) in exif_guard.STRIPPABLE]


@pytest.mark.skipif(not SHARED_CORPUS.is_dir(), reason="../shared/corpus/exif-samples is not present")
def test_no_real_file_is_pathological():
    assert len(CORPUS) >= 80
    flagged = {path.name: check_path(str(path), sniff(path.read_bytes()[:4096])).problem for path in CORPUS}
    assert {name: problem for name, problem in flagged.items() if problem} == {}


@pytest.mark.skipif(not SHARED_CORPUS.is_dir(), reason="../shared/corpus/exif-samples is not present")
def test_real_orientations_are_still_read_from_exif():
    folder = SHARED_CORPUS / "jpg" / "orientation"
    checked = 0
    for path in sorted(folder.glob("*.jpg")):
        meta = extract(str(path), JPEG)
        assert not [problem for problem in meta.problems if problem.startswith("EXIF ignored")], path
        digit = next((int(char) for char in path.stem if char.isdigit()), None)
        if digit is not None:
            assert meta.orientation == digit, path
            checked += 1
    assert checked >= 8


# --- the sandbox's CPU budget -------------------------------------------------------------------------------

needs_proc = pytest.mark.skipif(not os.path.exists(f"/proc/{os.getpid()}/stat"), reason="no /proc: wall clock only")


def test_cpu_budget_grows_with_the_file():
    sandbox = RenderSandbox(cpu_seconds_base=6, cpu_seconds_per_mib=2)
    assert sandbox.cpu_budget(0) == 6
    assert sandbox.cpu_budget(3 << 20) == 12
    assert RenderSandbox(cpu_seconds_base=None).cpu_budget(1 << 30) is None
    default = RenderSandbox()
    assert default.cpu_budget(60 * 1024) > 1 and default.cpu_budget(10 << 20) > default.cpu_budget(1 << 20)


@needs_proc
def test_a_render_past_its_cpu_budget_is_killed(tmp_path):
    good = write(tmp_path, "good.jpg", encoded(quadrants(), "jpeg", None))
    crafted = r"more than 0\.6 s of CPU for a 60 KiB file; the file is probably crafted"
    with RenderSandbox(timeout_seconds=120, cpu_seconds_base=0.5, cpu_seconds_per_mib=1) as sandbox:
        sandbox.render(good, JPEG, PREVIEW)
        first = sandbox.pid
        with pytest.raises(RenderError, match=crafted):
            sandbox._debug("spin", seconds=600, file_bytes=60 * 1024)
        assert sandbox.pid is None  # killed...
        assert_shows_quadrants(sandbox.render(good, JPEG, PREVIEW))  # ...and the next file gets a new child
        assert sandbox.pid not in (None, first)


@needs_proc
def test_waiting_is_not_cpu(tmp_path):
    """Only CPU time counts against the budget: a child that waits is left to the wall-clock timeout."""
    with RenderSandbox(timeout_seconds=60, cpu_seconds_base=0.3) as sandbox:
        assert sandbox._debug("sleep", seconds=1)["ok"]


def test_without_a_budget_only_the_timeout_applies(tmp_path):
    with RenderSandbox(timeout_seconds=1, cpu_seconds_base=None) as sandbox, \
            pytest.raises(RenderError, match="timed out after 1 s"):
        sandbox._debug("spin", seconds=600)


def assert_shows_quadrants(rendered: Rendered) -> None:
    image = Image.open(io.BytesIO(rendered.image)).convert("RGB")
    assert near(image.getpixel((3, 3)), RED) and near(image.getpixel((image.width - 4, image.height - 4)), BLUE)
