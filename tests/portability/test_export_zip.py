"""The export's zip writer and Takeout naming, in process: parts made only from (name, size, CRC-32, time)
are valid archives for zipfile and unzip, any byte range equals the same bytes of the whole, ZIP64 works
past 4 GiB (a sparse file), and names are made safe and unique deterministically."""

from __future__ import annotations

import datetime as dt
import io
import json
import os
import random
import shutil
import subprocess
import zipfile
import zlib
from pathlib import Path

import pytest

from phonecloud.portability import takeout
from phonecloud.portability.zipformat import Placed, PartPlanner, ZipEntry, ZipFormat, dos_time, part_bytes

T0 = 1_665_743_696  # 2022-10-14 10:34:56 UTC


def unzip_program() -> str:
    found = shutil.which("unzip")
    assert found, "the export tests need Info-ZIP's unzip (apt-get install unzip; .ci/run installs it)"
    return found


class MemoryArchive:
    """Parts laid out by PartPlanner, read back with part_bytes; each file is (name, bytes, mtime)."""

    def __init__(self, files: list[tuple[str, bytes, int]], zip_format: ZipFormat, part_size: int):
        self.format = zip_format
        planner = PartPlanner(zip_format, part_size)
        self.placed: dict[int, list[Placed]] = {}
        for name, data, mtime in files:
            crc = crc32_of_zeros(len(data)) if isinstance(data, Zeros) else zlib.crc32(data)
            entry = ZipEntry(name, len(data), crc, mtime)
            number, offset = planner.place(entry)
            self.placed.setdefault(number, []).append(Placed(entry, offset, data))
        self.parts = planner.finish()

    def read(self, number: int, start: int, end: int) -> bytes:
        return b"".join(self.chunks(number, start, end))

    def chunks(self, number: int, start: int, end: int):
        placed = self.placed.get(number, [])

        def entries_from(offset: int):
            first = max((i for i, item in enumerate(placed) if item.offset <= offset), default=0)
            return placed[first:]

        return part_bytes(self.format, self.parts[number - 1], entries_from, _read, start, end)


class Zeros(bytes):
    """`size` zero bytes, without holding them: enough of bytes for MemoryArchive and _read."""

    def __new__(cls, size: int):
        made = super().__new__(cls)
        made.size = size
        return made

    def __len__(self) -> int:
        return self.size


def _read(placed: Placed, first: int, last: int):
    if isinstance(placed.source, Zeros):
        raise AssertionError("the big entry's data is not read: the test writes it as a hole")
    yield placed.source[first:last]


def sample_files(count: int = 30) -> list[tuple[str, bytes, int]]:
    chooser = random.Random(7)
    return [(f"Takeout/Google Photos/Photos from 2022/Fête_{n}.jpg", chooser.randbytes(chooser.randrange(0, 4000)),
             T0 + n) for n in range(count)]


def check_with_unzip(data: bytes, where: Path) -> None:
    where.write_bytes(data)
    tested = subprocess.run([unzip_program(), "-tq", str(where)], capture_output=True, text=True)
    assert tested.returncode == 0, tested.stdout + tested.stderr


@pytest.mark.parametrize("zip64_from", [0xFFFFFFFF, 500], ids=["plain", "zip64-forced"])
@pytest.mark.parametrize("part_size", [10**9, 12_000], ids=["one-part", "many-parts"])
def test_parts_are_valid_archives_holding_every_file_once(tmp_path, zip64_from, part_size):
    files = sample_files()
    archive = MemoryArchive(files, ZipFormat(zip64_from), part_size)
    seen = {}
    for part in archive.parts:
        data = archive.read(part.number, 0, part.size)
        assert len(data) == part.size
        assert part.size <= part_size or part.entries == 1
        with zipfile.ZipFile(io.BytesIO(data)) as opened:
            assert opened.testzip() is None
            for info in opened.infolist():
                seen[info.filename] = opened.read(info)
                assert info.flag_bits & 0x800  # UTF-8 names
        check_with_unzip(data, tmp_path / f"part-{part.number}.zip")
    assert seen == {name: data for name, data, _ in files}
    assert (len(archive.parts) > 1) == (part_size < 10**9)


def test_any_range_is_the_same_bytes_as_in_the_whole_part():
    archive = MemoryArchive(sample_files(12), ZipFormat(300), 10**9)
    part = archive.parts[0]
    whole = archive.read(1, 0, part.size)
    chooser = random.Random(11)
    cuts = [(0, 1), (part.size - 1, part.size), (part.cd_offset - 3, part.cd_offset + 3),
            (part.cd_offset + part.cd_size - 2, part.size)]
    cuts += [sorted(chooser.sample(range(part.size + 1), 2)) for _ in range(300)]
    for start, end in cuts:
        assert archive.read(1, start, end) == whole[start:end], (start, end)


def test_entries_carry_the_time_as_extended_timestamp_and_utc_dos_time(tmp_path):
    data = MemoryArchive([("a/photo.jpg", b"x" * 10, T0)], ZipFormat(), 10**9).read(1, 0, 10**6)
    with zipfile.ZipFile(io.BytesIO(data)) as opened:
        info = opened.getinfo("a/photo.jpg")
        assert info.date_time == (2022, 10, 14, 10, 34, 56)
        assert b"UT\x05\x00\x01" + T0.to_bytes(4, "little") in info.extra
    (tmp_path / "part.zip").write_bytes(data)
    subprocess.run([unzip_program(), "-q", str(tmp_path / "part.zip"), "-d", str(tmp_path / "out")], check=True)
    assert (tmp_path / "out" / "a" / "photo.jpg").stat().st_mtime == T0


@pytest.mark.parametrize("moment, expected", [
    (dt.datetime(1970, 1, 1, tzinfo=dt.UTC), (1980, 1, 1, 0, 0, 0)),
    (dt.datetime(2200, 1, 1, tzinfo=dt.UTC), (2107, 12, 31, 23, 59, 58)),
    (dt.datetime(2022, 10, 14, 10, 34, 57, tzinfo=dt.UTC), (2022, 10, 14, 10, 34, 56)),
])
def test_dos_time_is_clamped_to_what_it_can_hold(moment, expected):
    time, date = dos_time(int(moment.timestamp()))
    assert ((date >> 9) + 1980, (date >> 5) & 15, date & 31, time >> 11, (time >> 5) & 63, (time & 31) * 2) == expected


def crc32_of_zeros(size: int) -> int:
    block, crc = bytes(64 << 20), 0
    while size:
        crc = zlib.crc32(block[:min(size, len(block))], crc)
        size -= min(size, len(block))
    return crc


def test_zip64_past_4_gib_in_a_sparse_file(tmp_path):
    """A real 4.1 GiB entry, past every 32-bit field: its data (zeros) is written as a hole, so the part is a
    sparse file; zipfile and unzip find, list and read the entries after it through the ZIP64 fields."""
    size = (4 << 30) + (100 << 20)
    files = [("small-before.jpg", b"before", T0), ("big.mp4", Zeros(size), T0), ("small-after.jpg", b"after", T0)]
    archive = MemoryArchive(files, ZipFormat(), 1 << 40)
    part = archive.parts[0]
    assert part.size > 4 << 30 and part.cd_offset > 0xFFFFFFFF
    big = archive.placed[1][1]
    data_start = big.offset + archive.format.local_header_size(big.entry)
    written = tmp_path / "part.zip"
    with open(written, "wb") as out:
        out.write(archive.read(1, 0, data_start))
        out.seek(size, os.SEEK_CUR)
        out.write(archive.read(1, data_start + size, part.size))
    assert written.stat().st_size == part.size
    with zipfile.ZipFile(written) as opened:
        assert [(info.filename, info.file_size) for info in opened.infolist()] == [
            ("small-before.jpg", 6), ("big.mp4", size), ("small-after.jpg", 5)]
        assert opened.read("small-after.jpg") == b"after"  # found at an offset past 4 GiB
        with opened.open("big.mp4") as stream:  # its local header's ZIP64 field is read
            assert stream.read(16) == bytes(16)
    listed = subprocess.run([unzip_program(), "-l", str(written)], capture_output=True, text=True)
    assert listed.returncode == 0 and str(size) in listed.stdout, listed.stdout + listed.stderr
    tested = subprocess.run([unzip_program(), "-tq", str(written), "small-after.jpg", "small-before.jpg"],
                            capture_output=True, text=True)
    assert tested.returncode == 0, tested.stdout + tested.stderr


# --- Takeout names ------------------------------------------------------------------------------------------


def asset(number: int, name: str, taken: dt.datetime | None = None, **changes) -> takeout.AssetInfo:
    moment = taken or dt.datetime(2022, 10, 14, 10, 34, 56, tzinfo=dt.UTC)
    values = dict(id=f"{number:08d}", original_filename=name, kind="photo", mime_type="image/jpeg", extension="jpg",
                  size=1, sha1="0" * 40, sha256=None, file_modified_at=moment, uploaded_at=moment, taken=moment,
                  taken_local=None, taken_offset_minutes=None, date_source=None, latitude=None, longitude=None,
                  altitude=None, favorite=False, trashed=False, url="http://server/api/v1/assets/x")
    return takeout.AssetInfo(**{**values, **changes})


HOSTILE = ["../../etc/passwd.jpg", "a/b\\c.jpg", "C:evil.jpg", "nul\x00byte.jpg", "CON.jpg", "lpt1", " .. ",
           "é" * 300 + ".jpg", "x" * 1000, "IMG.JPG", "img.jpg", "Img.jpg", "metadata.json", "IMG.JPG.json", ""]


def test_hostile_names_become_safe_unique_names_the_same_every_time():
    assets = [asset(n, name) for n, name in enumerate(HOSTILE)]
    first = takeout.plan(assets, [], {})
    again = takeout.plan(list(reversed(assets)), [], {})
    names = [name for name, _ in first.folders[0].files]
    assert names == [name for name, _ in again.folders[0].files]
    folded = [name.casefold() for name in names] + [(name + ".json").casefold() for name in names]
    assert len(set(folded)) == len(folded)  # no two files, and no file and sidecar, share a name ignoring case
    for name in names:
        assert name not in ("", ".", "..") and not name.startswith(".")
        assert not set(name) & set('/\\:*?"<>|\x00') and len((name + ".json").encode()) <= 255
        assert name.split(".")[0].upper() not in ("CON", "LPT1", "NUL")
    titles = {json.loads(takeout.sidecar(info, []))["title"] for _, info in first.folders[0].files}
    assert titles == set(HOSTILE)


def test_years_trash_and_albums_and_a_previous_plan_keeps_names():
    photos = [asset(1, "IMG_1.jpg"), asset(2, "IMG_1.jpg", dt.datetime(2021, 12, 31, 23, 30, tzinfo=dt.UTC),
                                           taken_local=dt.datetime(2022, 1, 1, 0, 30)),
              asset(3, "IMG_3.jpg", trashed=True), asset(4, "IMG_4.jpg", dt.datetime(2019, 5, 1, tzinfo=dt.UTC))]
    album = takeout.AlbumInfo("album-1", "Photos from 2022", "", dt.datetime(2023, 1, 1, tzinfo=dt.UTC))
    plan = takeout.plan(photos, [album], {"album-1": ["00000001", "00000003"]})
    layout = {folder.name: [name for name, _ in folder.files] for folder in plan.folders}
    assert layout == {"Photos from 2019": ["IMG_4.jpg"], "Photos from 2022": ["IMG_1.jpg", "IMG_1(1).jpg"],
                      "Trash": ["IMG_3.jpg"], "Photos from 2022(1)": ["IMG_1.jpg"]}
    assert plan.album_folders_of == {"00000001": ["Photos from 2022(1)"], "00000003": ["Photos from 2022(1)"]}
    newcomer = asset(0, "IMG_1.jpg", dt.datetime(2022, 1, 1, tzinfo=dt.UTC))  # sorts first: would take IMG_1.jpg
    previous = {"Photos from 2022": {"00000001": "IMG_1.jpg", "00000002": "IMG_1(1).jpg"}}
    kept = takeout.plan([*photos, newcomer], [], {}, previous=previous)
    names = {info.id: name for folder in kept.folders for name, info in folder.files}
    assert names["00000001"] == "IMG_1.jpg" and names["00000002"] == "IMG_1(1).jpg" and names["00000000"] == "IMG_1(2).jpg"


def test_sidecar_has_takeouts_fields():
    info = asset(1, "IMG_1.jpg", latitude=48.8584, longitude=2.2945, altitude=35.0, favorite=True)
    sidecar = json.loads(takeout.sidecar(info, ["Paris"]))
    assert list(sidecar)[:6] == ["title", "description", "creationTime", "photoTakenTime", "geoData", "geoDataExif"]
    assert sidecar["photoTakenTime"] == {"timestamp": str(T0), "formatted": "Oct 14, 2022, 10:34:56 AM UTC"}
    assert sidecar["geoDataExif"]["latitude"] == 48.8584 and sidecar["geoData"] == sidecar["geoDataExif"]
    assert (sidecar["favorited"], sidecar["archived"], sidecar["trashed"]) == (True, False, False)
    assert sidecar["url"] and sidecar["phonecloud"]["albums"] == ["Paris"]
